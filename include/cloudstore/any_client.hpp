// any_client: a client whose storage is chosen at run time (the first user's STORAGE_TYPE),
// for the one place that must choose then; everything else stays static. A std::unique_ptr to
// an implementation of an abstract interface; its async face takes
// asio::any_completion_handler, so the erased code is compiled once per client type.
#pragma once

#include <cloudstore/client.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace cloudstore {

class any_client {
public:
    using put_handler = boost::asio::any_completion_handler<void(error_code, object_info)>;
    using get_handler = boost::asio::any_completion_handler<void(error_code, std::string)>;

    /// Takes any client<Storage, Mixins...>.
    template <storage_policy Storage, class... Mixins>
    explicit any_client(client<Storage, Mixins...> c)
        : impl_(std::make_unique<model<client<Storage, Mixins...>>>(std::move(c))) {}

    any_client(any_client&&) noexcept = default;
    any_client& operator=(any_client&&) noexcept = default;

    /// "memory", "local", "s3", "gcs": the storage chosen.
    std::string_view storage_type() const noexcept { return impl_->storage_type(); }

    object_info put(std::string_view key, http::body_source& body, const put_options& options,
                    error_code& ec, call_options call = {}) {
        return impl_->put(key, body, options, ec, call);
    }
    object_info put(std::string_view key, std::string_view text, const put_options& options,
                    error_code& ec, call_options call = {}) {
        http::memory_source body(text);
        return put(key, body, options, ec, call);
    }
    object_info put(std::string_view key, std::span<const std::byte> data,
                    const put_options& options, error_code& ec, call_options call = {}) {
        http::memory_source body(data);
        return put(key, body, options, ec, call);
    }
    object_info put_file(std::string_view key, const std::filesystem::path& path,
                         const put_options& options, error_code& ec, call_options call = {}) {
        http::file_source body(path, 0, std::nullopt, ec);
        if (ec) return {};
        return put(key, body, options, ec, call);
    }
    object_info get(std::string_view key, http::body_sink& sink, const get_options& options,
                    error_code& ec, call_options call = {}) {
        return impl_->get(key, sink, options, ec, call);
    }
    std::string get(std::string_view key, const get_options& options, error_code& ec,
                    call_options call = {}) {
        http::memory_sink sink(std::numeric_limits<std::size_t>::max());
        get(key, sink, options, ec, call);
        return ec ? std::string() : sink.take();
    }
    object_info get_file(std::string_view key, const std::filesystem::path& path,
                         const get_options& options, error_code& ec, call_options call = {}) {
        http::file_sink sink(path);
        return get(key, sink, options, ec, call);
    }
    object_info head(std::string_view key, error_code& ec, call_options call = {}) {
        return impl_->head(key, ec, call);
    }
    bool exists(std::string_view key, error_code& ec, call_options call = {}) {
        head(key, ec, call);
        return detail::found(ec);
    }
    void remove(std::string_view key, error_code& ec, call_options call = {}) {
        impl_->remove(key, ec, call);
    }
    list_page list(const list_options& options, error_code& ec, call_options call = {}) {
        return impl_->list(options, ec, call);
    }

    /// As client::async_put: `data` must outlive the operation.
    template <class CompletionToken>
    auto async_put(std::string_view key, std::span<const std::byte> data, put_options options,
                   CompletionToken&& token, call_options call = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code, object_info)>(
            [this, key, data, call](auto h, put_options o) {
                impl_->async_put(key, data, std::move(o), put_handler(keep_working(std::move(h))),
                                 call);
            },
            token, std::move(options));
    }
    template <class CompletionToken>
    auto async_get(std::string_view key, get_options options, CompletionToken&& token,
                   call_options call = {}) {
        return boost::asio::async_initiate<CompletionToken, void(error_code, std::string)>(
            [this, key, call](auto h, get_options o) {
                impl_->async_get(key, std::move(o), get_handler(keep_working(std::move(h))), call);
            },
            token, std::move(options));
    }

private:
    // The handler, still bound to its executor, with outstanding work counted on that
    // executor until it runs: erased, its executor would no longer keep its io_context's run()
    // going while the operation is away on the step pool.
    template <class Handler>
    static auto keep_working(Handler h) {
        auto ex = boost::asio::get_associated_executor(h);
        return boost::asio::bind_executor(ex, [work = boost::asio::make_work_guard(ex),
                                               h = std::move(h)](auto&&... args) mutable {
            work.reset();
            std::move(h)(std::forward<decltype(args)>(args)...);
        });
    }

    struct interface {
        virtual ~interface() = default;
        virtual std::string_view storage_type() const noexcept = 0;
        virtual object_info put(std::string_view, http::body_source&, const put_options&,
                                error_code&, call_options) = 0;
        virtual object_info get(std::string_view, http::body_sink&, const get_options&, error_code&,
                                call_options) = 0;
        virtual object_info head(std::string_view, error_code&, call_options) = 0;
        virtual void remove(std::string_view, error_code&, call_options) = 0;
        virtual list_page list(const list_options&, error_code&, call_options) = 0;
        virtual void async_put(std::string_view, std::span<const std::byte>, put_options,
                               put_handler, call_options) = 0;
        virtual void async_get(std::string_view, get_options, get_handler, call_options) = 0;
    };

    template <class Client>
    struct model final : interface {
        explicit model(Client c)
            : client(std::move(c)) {}
        std::string_view storage_type() const noexcept override {
            return Client::storage_policy_type::storage_type;
        }
        object_info put(std::string_view key, http::body_source& body, const put_options& o,
                        error_code& ec, call_options call) override {
            return client.put(key, body, o, ec, call);
        }
        object_info get(std::string_view key, http::body_sink& sink, const get_options& o,
                        error_code& ec, call_options call) override {
            return client.get(key, sink, o, ec, call);
        }
        object_info head(std::string_view key, error_code& ec, call_options call) override {
            return client.head(key, ec, call);
        }
        void remove(std::string_view key, error_code& ec, call_options call) override {
            client.remove(key, ec, call);
        }
        list_page list(const list_options& o, error_code& ec, call_options call) override {
            return client.list(o, ec, call);
        }
        void async_put(std::string_view key, std::span<const std::byte> data, put_options o,
                       put_handler h, call_options call) override {
            client.async_put(key, data, std::move(o), std::move(h), call);
        }
        void async_get(std::string_view key, get_options o, get_handler h,
                       call_options call) override {
            client.async_get(key, std::move(o), std::move(h), call);
        }
        Client client;
    };

    std::unique_ptr<interface> impl_;
};

} // namespace cloudstore
