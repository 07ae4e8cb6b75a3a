// Operations built from a storage's own one-step algorithms, for the stores that have no
// request of their own for them (memory, local): copy as a read then a write, and a batch
// delete as one delete per key. Each is a sans-io algorithm, so the driver retries each step
// and the mixins see each attempt. Internal.
#pragma once

#include <cloudstore/core/algorithms.hpp>
#include <cloudstore/object.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cloudstore::storage::detail {

/// Copies `source` to `target`: a get into memory, then a put with the source's metadata (or
/// `replace`). Must not move once started (its steps point into it).
template <class Storage>
class copy_through {
public:
    copy_through(std::string_view source, std::string_view target, const put_options* replace,
                 object_info& out)
        : source_(source)
        , target_(target)
        , replace_(replace)
        , out_(out) {}

    core::action next(const core::attempt_context* done) {
        if (done == nullptr) {
            if (phase_ != phase::start) return core::action::perform(); // after a wait
            phase_ = phase::reading;
            read_.emplace(Storage::get_algorithm(source_, get_, &sink_, source_info_));
            return core::action::perform();
        }
        if (done->error() || phase_ == phase::writing) return core::action::finish(done->error());
        if (replace_ != nullptr) {
            options_ = *replace_;
        } else {
            options_.content_type = source_info_.content_type;
            options_.cache_control = source_info_.cache_control;
            options_.content_disposition = source_info_.content_disposition;
            options_.content_encoding = source_info_.content_encoding;
            options_.metadata = source_info_.metadata;
        }
        body_.emplace(sink_.body());
        phase_ = phase::writing;
        write_.emplace(Storage::put_algorithm(target_, &*body_, options_, out_));
        return core::action::perform();
    }
    auto& step() { return phase_ == phase::writing ? write_->step() : read_->step(); }

private:
    enum class phase { start, reading, writing };
    using get_type = decltype(Storage::get_algorithm({}, std::declval<const get_options&>(),
                                                     nullptr, std::declval<object_info&>()));
    using put_type = decltype(Storage::put_algorithm(
        {}, nullptr, std::declval<const put_options&>(), std::declval<object_info&>()));
    std::string_view source_, target_;
    const put_options* replace_;
    object_info& out_;
    phase phase_ = phase::start;
    get_options get_;
    object_info source_info_;
    http::memory_sink sink_{std::size_t(-1)};
    put_options options_;
    std::optional<http::memory_source> body_;
    std::optional<get_type> read_;
    std::optional<put_type> write_;
};

/// Deletes every key, one step each; each key's outcome goes in `results` (same order). A
/// missing key succeeds, an invalid one gets invalid_argument without a step; the operation
/// itself succeeds: the failures are the keys'.
template <class Storage>
class remove_each {
public:
    remove_each(std::span<const std::string> keys, std::vector<error_code>& results)
        : keys_(keys)
        , results_(results) {
        results_.assign(keys_.size(), error_code{});
    }

    core::action next(const core::attempt_context* done) {
        if (done != nullptr)
            results_[next_++] = done->error();
        else if (current_)
            return core::action::perform(); // after a wait
        while (next_ < keys_.size()) {
            if (auto ec = validate_key(keys_[next_])) {
                results_[next_++] = ec;
                continue;
            }
            current_.emplace(Storage::remove_algorithm(keys_[next_]));
            return core::action::perform();
        }
        return core::action::finish();
    }
    auto& step() { return current_->step(); }

private:
    using remove_type = decltype(Storage::remove_algorithm({}));
    std::span<const std::string> keys_;
    std::vector<error_code>& results_;
    std::size_t next_ = 0;
    std::optional<remove_type> current_;
};

} // namespace cloudstore::storage::detail
