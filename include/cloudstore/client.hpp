// client<Storage, Mixins...>: every operation of DESIGN.md over one storage policy, in the
// blocking face (an `error_code&` form, which is the implementation, and a throwing form) and
// the async face (any completion token). Each call builds the storage's algorithm for the
// operation and runs it through the driver, with the mixins' hooks around it.
//
// Thread safety: a client may be used from several threads at once when its storage and
// mixins may (memory, local and the HTTP storages may).
#pragma once

#include <cloudstore/core/driver.hpp>
#include <cloudstore/object.hpp>
#include <cloudstore/storage/detail/composite_algorithms.hpp>

#include <boost/throw_exception.hpp>

#include <chrono>
#include <concepts>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloudstore {

/// A storage policy: a step type, a name for metrics, the algorithm of each operation, and
/// the way it performs a step: at once on the calling thread (`perform`, memory and local),
/// or asynchronously (`async_perform` with `run_here` for the blocking face, the HTTP
/// storages). (Requirements written out in the concept; `memory` is the minimal model.)
template <class S>
concept storage_policy = std::copy_constructible<S> &&
    requires(S& s, std::string_view key, http::body_source* body, http::body_sink* sink,
             const put_options& po, const get_options& go, const list_options& lo,
             object_info& info, list_page& page, core::attempt_context& a) {
    typename S::step;
    requires std::derived_from<typename S::step, core::step_base>;
    { S::storage_type } -> std::convertible_to<std::string_view>;
    s.put_algorithm(key, body, po, info);
    s.get_algorithm(key, go, sink, info);
    s.head_algorithm(key, info);
    s.remove_algorithm(key);
    s.list_algorithm(lo, page);
    requires core::blocking_storage<S, typename S::step> ||
        core::async_storage<S, typename S::step>;
};

/// What every call may add: a time limit for the whole call (all attempts and waits), and
/// where to put the provider's detail of a failure.
struct call_options {
    /// 0: no limit.
    std::chrono::milliseconds timeout{0};
    /// When set, receives the failure's detail (provider code, message, request id, status).
    storage_failure* detail = nullptr;
};

namespace detail {
/// A head's outcome as exists() tells it: a missing object is `false` with no error.
inline bool found(error_code& ec) noexcept {
    if (ec == condition::not_found) {
        ec = {};
        return false;
    }
    return !ec;
}
} // namespace detail

template <storage_policy Storage, class... Mixins>
class client {
public:
    using storage_policy_type = Storage;

    client() requires std::default_initializable<Storage> &&
        (std::default_initializable<Mixins>&&...) {}
    explicit client(Storage storage) requires(std::default_initializable<Mixins>&&...)
        : storage_(std::move(storage)) {}
    client(Storage storage, Mixins... mixins) requires(sizeof...(Mixins) > 0)
        : storage_(std::move(storage))
        , layers_{std::tuple<Mixins...>(std::move(mixins)...)} {}

    Storage& storage() noexcept { return storage_; }

    // -- put ------------------------------------------------------------------------------

    /// Stores `data` under `key`. Returns the stored object's description.
    object_info put(std::string_view key, std::span<const std::byte> data,
                    const put_options& options, error_code& ec, call_options call = {}) {
        http::memory_source body(data);
        return put(key, body, options, ec, call);
    }
    object_info put(std::string_view key, std::string_view text, const put_options& options,
                    error_code& ec, call_options call = {}) {
        http::memory_source body(text);
        return put(key, body, options, ec, call);
    }
    /// Stores what `body` yields (a file range, a generator, ...). A body that cannot rewind
    /// is never sent twice.
    object_info put(std::string_view key, http::body_source& body, const put_options& options,
                    error_code& ec, call_options call = {}) {
        object_info info;
        if ((ec = validate_key(key))) return fail(ec, call, info);
        auto algorithm = storage_.put_algorithm(key, &body, options, info);
        run(algorithm, "put", ec, call);
        return info;
    }
    /// Stores the file at `path`.
    object_info put_file(std::string_view key, const std::filesystem::path& path,
                         const put_options& options, error_code& ec, call_options call = {}) {
        http::file_source body(path, 0, std::nullopt, ec);
        if (ec) return {};
        return put(key, body, options, ec, call);
    }
    template <class Data>
    object_info put(std::string_view key, Data&& data, const put_options& options = {},
                    call_options call = {}) {
        error_code ec;
        auto info = put(key, std::forward<Data>(data), options, ec, with_detail(call));
        rethrow(ec, call);
        return info;
    }

    // -- get ------------------------------------------------------------------------------

    /// The object's bytes (or the range's). A zero-length range gives an empty result
    /// without asking the store; so does any range of an empty object.
    std::string get(std::string_view key, const get_options& options, error_code& ec,
                    call_options call = {}) {
        http::memory_sink sink(std::numeric_limits<std::size_t>::max());
        get(key, sink, options, ec, call);
        return ec ? std::string() : sink.take();
    }
    std::string get(std::string_view key, const get_options& options = {}, call_options call = {}) {
        error_code ec;
        auto out = get(key, options, ec, with_detail(call));
        rethrow(ec, call);
        return out;
    }
    /// Streams the object (or the range) into `sink`; returns its description.
    object_info get(std::string_view key, http::body_sink& sink, const get_options& options,
                    error_code& ec, call_options call = {}) {
        object_info info;
        if ((ec = validate_key(key))) return fail(ec, call, info);
        if (options.range && options.range->empty()) {
            sink.start(200, 0, ec);
            if (!ec) sink.finish(ec);
            return info;
        }
        auto algorithm = storage_.get_algorithm(key, options, &sink, info);
        run(algorithm, "get", ec, call);
        return info;
    }
    /// Writes the object to the file at `path` (created or truncated).
    object_info get_file(std::string_view key, const std::filesystem::path& path,
                         const get_options& options, error_code& ec, call_options call = {}) {
        http::file_sink sink(path);
        return get(key, sink, options, ec, call);
    }

    // -- head, exists, remove -------------------------------------------------------------

    object_info head(std::string_view key, error_code& ec, call_options call = {}) {
        object_info info;
        if ((ec = validate_key(key))) return fail(ec, call, info);
        auto algorithm = storage_.head_algorithm(key, info);
        run(algorithm, "head", ec, call);
        return info;
    }
    object_info head(std::string_view key, call_options call = {}) {
        error_code ec;
        auto info = head(key, ec, with_detail(call));
        rethrow(ec, call);
        return info;
    }
    /// Whether `key` exists: a missing object is `false`, not an error.
    bool exists(std::string_view key, error_code& ec, call_options call = {}) {
        head(key, ec, call);
        return detail::found(ec);
    }
    /// Deletes `key`; deleting a missing key succeeds (as S3 and the other stores agree).
    void remove(std::string_view key, error_code& ec, call_options call = {}) {
        if ((ec = validate_key(key))) {
            object_info unused;
            fail(ec, call, unused);
            return;
        }
        auto algorithm = storage_.remove_algorithm(key);
        run(algorithm, "delete", ec, call);
    }
    void remove(std::string_view key, call_options call = {}) {
        error_code ec;
        remove(key, ec, with_detail(call));
        rethrow(ec, call);
    }

    // -- copy, batch delete ---------------------------------------------------------------

    /// Copies `source` to `target`, with the source's metadata unless `replace` gives other
    /// options. Stores without a copy of their own copy through a read and a write.
    object_info copy(std::string_view source, std::string_view target, error_code& ec,
                     const put_options* replace = nullptr, call_options call = {}) {
        object_info info;
        if ((ec = validate_key(source)) || (ec = validate_key(target))) return fail(ec, call, info);
        if constexpr (requires { storage_.copy_algorithm(source, target, replace, info); }) {
            auto algorithm = storage_.copy_algorithm(source, target, replace, info);
            run(algorithm, "copy", ec, call);
        } else {
            storage::detail::copy_through<Storage> algorithm(source, target, replace, info);
            run(algorithm, "copy", ec, call);
        }
        return info;
    }

    /// Deletes every key; returns each key's outcome, in order (a missing key succeeds, an
    /// invalid key gets invalid_argument). `ec` is the call's own failure, if any.
    std::vector<error_code> remove_many(std::span<const std::string> keys, error_code& ec,
                                        call_options call = {}) {
        std::vector<error_code> results;
        if constexpr (requires { storage_.remove_many_algorithm(keys, results); }) {
            auto algorithm = storage_.remove_many_algorithm(keys, results);
            run(algorithm, "batch_delete", ec, call);
        } else {
            storage::detail::remove_each<Storage> algorithm(keys, results);
            run(algorithm, "batch_delete", ec, call);
        }
        return results;
    }

    // -- URLs -----------------------------------------------------------------------------

    enum class url_method { get, put };

    /// A URL that lets its holder GET (or PUT) the object without credentials until it
    /// expires; not_supported on stores that have none (memory, local).
    std::string presigned_url(std::string_view key, url_method method, std::chrono::seconds expires,
                              error_code& ec) const {
        if ((ec = validate_key(key))) return {};
        if constexpr (requires {
                          storage_.presigned_url(key, method == url_method::put, expires, ec);
                      })
            return storage_.presigned_url(key, method == url_method::put, expires, ec);
        ec = errc::not_supported;
        return {};
    }
    /// The object's URL without signature (public objects, a CDN domain, file:// for local);
    /// not_supported on stores that have none (memory).
    std::string public_url(std::string_view key, error_code& ec) const {
        if ((ec = validate_key(key))) return {};
        if constexpr (requires { storage_.public_url(key, ec); })
            return storage_.public_url(key, ec);
        ec = errc::not_supported;
        return {};
    }

    // -- list -----------------------------------------------------------------------------

    /// One page of the listing.
    list_page list(const list_options& options, error_code& ec, call_options call = {}) {
        list_page page;
        if (options.page_size == 0 || options.page_size > 1000) {
            ec = errc::invalid_argument;
            object_info unused;
            fail(ec, call, unused);
            return page;
        }
        auto algorithm = storage_.list_algorithm(options, page);
        run(algorithm, "list", ec, call);
        return page;
    }

    /// Every object and common prefix of a listing, page after page, fetched as the loop
    /// reaches them: `for (auto page = pages.next(ec); ...)`.
    class listing {
    public:
        /// The next page; nullopt after the last (or on failure, with `ec` set).
        std::optional<list_page> next(error_code& ec) {
            ec = {};
            if (done_) return std::nullopt;
            auto page = owner_->list(options_, ec);
            if (ec) {
                done_ = true;
                return std::nullopt;
            }
            options_.continuation = page.next_token;
            done_ = page.next_token.empty();
            return page;
        }

    private:
        friend class client;
        listing(client& owner, list_options o)
            : owner_(&owner)
            , options_(std::move(o)) {}
        client* owner_;
        list_options options_;
        bool done_ = false;
    };
    listing list_all(list_options options) { return listing(*this, std::move(options)); }

    // -- async ----------------------------------------------------------------------------

    /// Stores `data` (which must outlive the operation). Completion: void(error_code,
    /// object_info). The provider's detail: `call.detail`, which must outlive it too.
    template <class CompletionToken>
    auto async_put(std::string_view key, std::span<const std::byte> data, put_options options,
                   CompletionToken&& token, call_options call = {}) {
        struct state : async_state {
            std::string key;
            put_options options;
            http::memory_source body{std::span<const std::byte>()};
            object_info info;
            refusable<decltype(std::declval<Storage&>().put_algorithm(key, &body, options, info))>
                alg;
            void init(Storage& s) {
                if (!(alg.refused = validate_key(key)))
                    alg.inner.emplace(s.put_algorithm(key, &body, options, info));
            }
            auto& algorithm() { return alg; }
        };
        auto s = start_state<state>("put", call);
        s->key = key;
        s->options = std::move(options);
        s->body = http::memory_source(data);
        return async_operation<void(error_code, object_info)>(
            std::move(s),
            [](auto& self, state& st, error_code ec) { self.complete(ec, std::move(st.info)); },
            std::forward<CompletionToken>(token));
    }

    /// Reads the object (or range) into memory. Completion: void(error_code, std::string).
    template <class CompletionToken>
    auto async_get(std::string_view key, get_options options, CompletionToken&& token,
                   call_options call = {}) {
        struct state : async_state {
            std::string key;
            get_options options;
            http::memory_sink sink{std::numeric_limits<std::size_t>::max()};
            object_info info;
            refusable<decltype(std::declval<Storage&>().get_algorithm(key, options, &sink, info))>
                alg;
            void init(Storage& s) {
                if (!(alg.refused = validate_key(key)))
                    alg.inner.emplace(s.get_algorithm(key, options, &sink, info));
            }
            auto& algorithm() { return alg; }
        };
        auto s = start_state<state>("get", call);
        s->key = key;
        s->options = std::move(options);
        return async_operation<void(error_code, std::string)>(
            std::move(s),
            [](auto& self, state& st, error_code ec) {
                self.complete(ec, ec ? std::string() : st.sink.take());
            },
            std::forward<CompletionToken>(token));
    }

    /// The object's description. Completion: void(error_code, object_info).
    template <class CompletionToken>
    auto async_head(std::string_view key, CompletionToken&& token, call_options call = {}) {
        struct state : async_state {
            std::string key;
            object_info info;
            refusable<decltype(std::declval<Storage&>().head_algorithm(key, info))> alg;
            void init(Storage& s) {
                if (!(alg.refused = validate_key(key)))
                    alg.inner.emplace(s.head_algorithm(key, info));
            }
            auto& algorithm() { return alg; }
        };
        auto s = start_state<state>("head", call);
        s->key = key;
        return async_operation<void(error_code, object_info)>(
            std::move(s),
            [](auto& self, state& st, error_code ec) { self.complete(ec, std::move(st.info)); },
            std::forward<CompletionToken>(token));
    }

    /// Deletes `key` (a missing key succeeds). Completion: void(error_code).
    template <class CompletionToken>
    auto async_remove(std::string_view key, CompletionToken&& token, call_options call = {}) {
        struct state : async_state {
            std::string key;
            refusable<decltype(std::declval<Storage&>().remove_algorithm(key))> alg;
            void init(Storage& s) {
                if (!(alg.refused = validate_key(key))) alg.inner.emplace(s.remove_algorithm(key));
            }
            auto& algorithm() { return alg; }
        };
        auto s = start_state<state>("delete", call);
        s->key = key;
        return async_operation<void(error_code)>(
            std::move(s), [](auto& self, state&, error_code ec) { self.complete(ec); },
            std::forward<CompletionToken>(token));
    }

    /// One page of a listing. Completion: void(error_code, list_page).
    template <class CompletionToken>
    auto async_list(list_options options, CompletionToken&& token, call_options call = {}) {
        struct state : async_state {
            list_options options;
            list_page page;
            refusable<decltype(std::declval<Storage&>().list_algorithm(options, page))> alg;
            void init(Storage& s) {
                if (options.page_size == 0 || options.page_size > 1000)
                    alg.refused = errc::invalid_argument;
                else
                    alg.inner.emplace(s.list_algorithm(options, page));
            }
            auto& algorithm() { return alg; }
        };
        auto s = start_state<state>("list", call);
        s->options = std::move(options);
        return async_operation<void(error_code, list_page)>(
            std::move(s),
            [](auto& self, state& st, error_code ec) { self.complete(ec, std::move(st.page)); },
            std::forward<CompletionToken>(token));
    }

private:
    template <class Algorithm>
    using refusable = core::refusable<Algorithm>;

    // What every async operation's state holds besides its own fields. The state is placed
    // once on the heap; its algorithm points into it.
    struct async_state {
        storage_failure failure;
        client* owner = nullptr;
        call_options call;
        std::string_view name;
        core::operation_context operation() { return owner->operation(name, call); }
        void report() const { client::report(failure, call); }
    };
    template <class State>
    std::unique_ptr<State> start_state(std::string_view name, const call_options& call) {
        auto s = std::make_unique<State>();
        s->owner = this;
        s->call = call;
        s->name = name;
        return s;
    }

    template <class Signature, class State, class Finish, class CompletionToken>
    auto async_operation(std::unique_ptr<State> s, Finish finish, CompletionToken&& token) {
        // Every async call hands its failure detail over the same way, then completes.
        auto report_then_finish = [finish = std::move(finish)](auto& self, State& st,
                                                               error_code ec) mutable {
            st.report();
            finish(self, st, ec);
        };
        return core::async_run<Signature>(storage_, layers_, std::move(s),
                                          std::move(report_then_finish),
                                          std::forward<CompletionToken>(token));
    }

    core::operation_context operation(std::string_view name, const call_options& call) const {
        core::operation_context op;
        op.operation = name;
        op.storage_type = Storage::storage_type;
        if (call.timeout.count() > 0) op.deadline = core::clock::now() + call.timeout;
        return op;
    }

    template <class Algorithm>
    void run(Algorithm& algorithm, std::string_view name, error_code& ec,
             const call_options& call) {
        auto op = operation(name, call);
        storage_failure failure;
        ec = core::run_blocking(storage_, algorithm, layers_, op, &failure);
        report(failure, call);
    }

    static void report(const storage_failure& failure, const call_options& call) {
        if (call.detail != nullptr) *call.detail = failure;
    }

    template <class T>
    static T& fail(error_code ec, const call_options& call, T& out) {
        if (call.detail != nullptr) *call.detail = storage_failure{ec, 0, {}, {}, {}};
        return out;
    }

    // The throwing forms keep the failure's detail for the exception.
    static call_options with_detail(call_options call) {
        if (call.detail == nullptr) call.detail = &thread_detail();
        return call;
    }
    static storage_failure& thread_detail() {
        thread_local storage_failure failure;
        return failure;
    }
    static void rethrow(const error_code& ec, const call_options& call) {
        if (!ec) return;
        storage_failure failure = call.detail != nullptr ? *call.detail : thread_detail();
        if (!failure.code) failure.code = ec;
        throw_storage_error(failure);
    }

    [[no_unique_address]] Storage storage_;
    [[no_unique_address]] core::layers<Mixins...> layers_;
};

} // namespace cloudstore
