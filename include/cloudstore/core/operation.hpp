// The sans-io core's vocabulary: what an operation algorithm asks for next, the generic part of
// a step, and what the mixins see of one logical operation and of each attempt of a step.
//
// An operation algorithm is a small state machine with no I/O of its own. The driver asks it
// `next(outcome)`: with no outcome at the start, then with the outcome of each step it asked
// for. It answers with an `action`: perform its current step, perform several at once (a
// fan-out), wait, or done. The step itself
// is the storage's own type (an HTTP request for S3 and GCS, a file operation for local),
// deriving from `step_base`, which carries what the driver and the mixins need without
// reaching into the storage.
#pragma once

#include <cloudstore/error.hpp>
#include <cloudstore/http/body.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cloudstore::core {

using clock = std::chrono::steady_clock;

/// What an algorithm asks for next.
struct action {
    enum class kind {
        step,    ///< perform the algorithm's current step (algorithm.step())
        fan_out, ///< perform several steps at once, at most `width` in flight (see below)
        wait,    ///< wait `delay`, then ask again with no new outcome
        done,    ///< finished with `result` (an empty code: success)
    };
    kind what = kind::done;
    std::chrono::milliseconds delay{};
    error_code result;
    std::size_t width = 0;

    static action perform() noexcept { return {kind::step, {}, {}, 0}; }
    /// Several steps at once (the parts of a multipart upload). The driver asks the algorithm
    /// for a step in each free lane (`launch(lane)`, `step(lane)`), retries each lane's step
    /// on its own, and hands each final outcome back (`landed(lane, outcome)`). When nothing
    /// is left to launch, or `landed` said stop, and every lane has landed, the driver asks
    /// `next(nullptr)` again. `width` bounds what is in flight, and so the memory the
    /// algorithm holds for it.
    static action fan_out(std::size_t width) noexcept {
        return {kind::fan_out, {}, {}, width == 0 ? 1 : width};
    }
    static action wait_for(std::chrono::milliseconds d) noexcept { return {kind::wait, d, {}, 0}; }
    static action finish(error_code ec = {}) noexcept { return {kind::done, {}, ec, 0}; }
};

/// A checksum fed as bytes stream past: what the storage uses for a trailer (the value is
/// known only after the body) and to verify a download. Made by the checksums mixin, so a
/// client without it has none of this code.
class running_checksum {
public:
    virtual ~running_checksum() = default;
    virtual void update(std::span<const std::byte> bytes) noexcept = 0;
    /// The wire form (base64) of everything fed; starts again.
    virtual std::string finish() = 0;
};

/// Holds one running_checksum in place (no allocation per attempt). Copies and moves of a
/// step carry none: the mixin makes it on the step where it stays, at each attempt's start.
class running_holder {
public:
    running_holder() = default;
    running_holder(const running_holder&) noexcept {}
    running_holder& operator=(const running_holder&) noexcept {
        reset();
        return *this;
    }
    ~running_holder() { reset(); }

    template <class T>
    T& emplace() {
        static_assert(sizeof(T) <= sizeof(storage_) && alignof(T) <= alignof(std::max_align_t));
        reset();
        auto* made = ::new (static_cast<void*>(storage_)) T();
        p_ = made;
        return *made;
    }
    void reset() noexcept {
        if (p_ != nullptr) p_->~running_checksum();
        p_ = nullptr;
    }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    running_checksum* operator->() const noexcept { return p_; }

private:
    alignas(std::max_align_t) std::byte storage_[256];
    running_checksum* p_ = nullptr;
};

/// The checksum of one step, in both directions. The checksums mixin fills it before the step
/// is performed; the storage writes it in its own form (x-amz-checksum-*, Content-MD5,
/// x-goog-hash, or its own metadata) and, for a read, verifies what it receives. Empty name:
/// no checksum.
struct checksum_slot {
    std::string_view name; ///< "crc32c", "crc32", "crc64nvme", "sha256", "md5"
    /// Upload: the body's value, computed ahead (a header); empty when `in_trailer`.
    std::string value;
    /// Upload: the value goes after the body (the storage feeds `running` as it sends).
    bool in_trailer = false;
    /// Download: verify the whole object against the store's full-object checksum of `name`
    /// when the store has one (never a range, never a composite multipart checksum).
    bool verify = false;
    running_holder running;
};

/// The part of every storage's step that the driver and the mixins read.
struct step_base {
    /// Whether sending the step twice has the effect of sending it once. A step that is not
    /// idempotent is never re-sent once its request went out: the algorithm resolves it.
    bool idempotent = true;
    /// The request body, or null. A body that cannot rewind is never re-sent.
    http::body_source* body = nullptr;
    /// Where the response body goes, or null.
    http::body_sink* sink = nullptr;
    /// The storage can take a checksum after the body (a trailer, or its own record made as
    /// the bytes arrive): one pass over the body instead of a pass ahead and a check after.
    bool accepts_trailer = false;
    /// Asked of the storage by the retry mixin for the next attempt (data flows down): fresh
    /// credentials (after a 401 or an expired token), and the clock offset taken from the
    /// server's reply (after a clock-skew refusal). Each is asked once per step.
    bool refresh_credentials = false;
    bool correct_clock = false;
    /// An undo step (aborting a multipart upload): performed even past the call's deadline,
    /// since it frees what the operation left half done.
    bool cleanup = false;
    checksum_slot checksum;
};

/// One logical call (a put, however many parts it has): the mixins' operation hook.
struct operation_context {
    std::string_view operation;    ///< "put", "get", "head", "delete", "list", ... (a label)
    std::string_view storage_type; ///< "memory", "local", "s3", "gcs" (a label)
    clock::time_point started{};
    /// Set by the driver just before the operation_end hooks (one clock read for all).
    clock::time_point finished{};
    /// The call's deadline; time_point::max() for none.
    clock::time_point deadline = clock::time_point::max();
    std::uint64_t bytes = 0; ///< object bytes moved by the call (for size metrics)
};

/// One attempt of one step: the mixins' attempt hook.
struct attempt_context {
    attempt_context(operation_context& op, step_base& s) noexcept
        : operation(op)
        , step(s) {}

    operation_context& operation;
    step_base& step;
    unsigned number = 1; ///< 1 for the first attempt of a step
    clock::time_point started{};
    /// Set by the driver just before the attempt_end hooks.
    clock::time_point finished{};
    /// Whether any byte of the request left this process (a failure before that can always be
    /// retried).
    bool request_sent = false;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    /// The outcome, as the storage classified it: the code (a provider code or a condition),
    /// and the provider's detail beside it.
    storage_failure failure;
    /// The server's Retry-After, when it sent one.
    std::optional<std::chrono::milliseconds> retry_after;

    const error_code& error() const noexcept { return failure.code; }
};

} // namespace cloudstore::core
