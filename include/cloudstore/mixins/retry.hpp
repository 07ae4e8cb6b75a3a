#ifdef CLOUDSTORE_FORBID_MIXINS
#error "<cloudstore/mixins/retry.hpp>: this build forbids mixins (CLOUDSTORE_FORBID_MIXINS)"
#endif
// The retry mixin: `retry<Policy>` asks its policy, after each failed attempt, whether and when
// to try the step again. Policies are pure decisions over the attempt (tested without I/O);
// the driver waits, rewinds the body and sends again, and itself never re-sends a step that is
// not idempotent or whose body cannot rewind once its request went out, whatever the policy.
#pragma once

#include <cloudstore/http/http_date.hpp>

#include <cloudstore/core/operation.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <functional>
#include <optional>
#include <random>
#include <string_view>

namespace cloudstore {

/// A retry policy: `next_delay(attempt)` is how long to wait before the next attempt of the
/// failed `attempt`'s step, or nullopt to stop.
template <class P>
concept retry_policy = requires(P& p, const core::attempt_context& a) {
    { p.next_delay(a) } -> std::same_as<std::optional<std::chrono::milliseconds>>;
};

/// Whether a failure may go away on its own: network errors, timeouts (HTTP 408, S3's
/// RequestTimeout), 5xx and throttling (429, SlowDown, userRateLimitExceeded). Not other 4xx,
/// not a cancellation.
inline bool is_transient(const error_code& ec) noexcept {
    return ec == condition::network_error || ec == condition::timeout ||
           ec == condition::server_error || ec == condition::throttled;
}

/// Never retries.
struct no_retry {
    std::optional<std::chrono::milliseconds> next_delay(const core::attempt_context&) const {
        return std::nullopt;
    }
};

/// Exponential backoff with full jitter: before attempt n+1 it waits a random time in
/// [0, min(cap, base * 2^(n-1))), or what the server's Retry-After asks; at most
/// `max_attempts` attempts of a step, and never past `max_elapsed` from the operation's start
/// (nor past its deadline: the driver holds that).
class exponential_backoff {
public:
    /// A uniform random number in [0, 1). Injectable, so tests know the delays.
    using random_source = std::function<double()>;

    std::chrono::milliseconds base{100};
    std::chrono::milliseconds cap{20'000};
    unsigned max_attempts = 3;
    /// 0: no limit beyond the operation's deadline.
    std::chrono::milliseconds max_elapsed{0};
    random_source random;

    std::optional<std::chrono::milliseconds> next_delay(const core::attempt_context& a) const {
        if (!is_transient(a.error()) || a.number >= max_attempts) return std::nullopt;
        std::chrono::milliseconds delay;
        if (a.retry_after) {
            delay = *a.retry_after;
        } else {
            const double ceiling = std::min(static_cast<double>(cap.count()),
                                            static_cast<double>(base.count()) *
                                                std::ldexp(1.0, static_cast<int>(a.number - 1)));
            delay = std::chrono::milliseconds(
                static_cast<std::int64_t>(std::floor(ceiling * uniform())));
        }
        if (max_elapsed.count() > 0 &&
            core::clock::now() + delay > a.operation.started + max_elapsed)
            return std::nullopt;
        return delay;
    }

private:
    double uniform() const {
        if (random) return std::clamp(random(), 0.0, std::nextafter(1.0, 0.0));
        thread_local std::mt19937_64 engine{std::random_device{}()};
        return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    }
};

/// Whether a refusal says the request's time is too far from the server's (S3's
/// RequestTimeTooSkewed).
inline bool is_clock_skew(const error_code& ec) noexcept {
    return ec == make_error_code(s3_errc::request_time_too_skewed);
}

/// The mixin: `client<memory, retry<exponential_backoff>>`. Besides the policy's transient
/// failures it retries once, at once, a step refused for its credentials (401, an expired
/// token: the storage is asked to refresh them) and once a step refused for clock skew (the
/// storage is asked to correct its clock offset from the reply).
template <retry_policy Policy>
struct retry {
    std::optional<std::chrono::milliseconds> attempt_end(core::attempt_context& a) {
        if (!a.error()) [[likely]]
            return std::nullopt;
        return after_failure(a);
    }

private:
    // Out of line: the success path, every call's, stays a test and a return (the condition
    // comparisons below cost about 20 ns a call when inlined into it).
    [[gnu::noinline, gnu::cold]] std::optional<std::chrono::milliseconds>
    after_failure(core::attempt_context& a) {
        if (a.error() == condition::unauthenticated && !a.step.refresh_credentials) {
            a.step.refresh_credentials = true;
            return std::chrono::milliseconds(0);
        }
        if (is_clock_skew(a.error()) && !a.step.correct_clock) {
            a.step.correct_clock = true;
            return std::chrono::milliseconds(0);
        }
        return policy.next_delay(a);
    }

public:
    Policy policy;
};

/// A Retry-After header's wait: delta-seconds, or an HTTP date (RFC 9110 §10.2.3) from `now`
/// (the storages read it into the attempt; here for the mixin's users too).
using http::parse_retry_after;

} // namespace cloudstore
