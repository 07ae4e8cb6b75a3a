// Credentials and their providers. `auth/` signs, it never fetches: a provider gives the
// current credentials from a cache, fast, and says when they must be refreshed; the refresh is
// a sans-io operation algorithm (its steps are the provider's requests: IMDS, STS, a metadata
// server), run by the same driver as every operation. `credentials_cache` lets one refresh be
// in flight however many callers need fresh credentials at once.
//
// No secret (secret key, session token) ever goes into a log, an error or a metric label.
#pragma once

#include <cloudstore/core/driver.hpp>

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace cloudstore {

/// AWS-style keys (also GCS HMAC keys).
struct aws_credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;
    /// When they stop working; nullopt for never.
    std::optional<std::chrono::system_clock::time_point> expiration;
};

/// A credentials provider, for a type P and an lvalue `p` of it:
/// - `P::credentials_type`: what it provides (aws_credentials, an OAuth2 token, ...).
/// - `p.current()`: the cached value, a std::shared_ptr<const credentials_type>, null when
///   there is none yet. Fast and thread-safe.
/// - `p.needs_refresh(now)`: whether the cached value is missing or about to expire.
/// - `p.refresh()`: the refresh algorithm (a core::operation_algorithm); once it finished
///   with success, `p.install(algorithm)` makes its result current.
/// - `p.storage()`: what performs the algorithm's steps (the driver's storage argument).
template <class P>
concept credentials_provider = requires(P& p, std::chrono::system_clock::time_point now) {
    typename P::credentials_type;
    { p.current() } -> std::same_as<std::shared_ptr<const typename P::credentials_type>>;
    { p.needs_refresh(now) } -> std::same_as<bool>;
    { p.refresh() } -> core::operation_algorithm;
    p.install(p.refresh());
    p.storage();
};

/// Fixed keys, never refreshed: the first model.
class static_credentials {
public:
    using credentials_type = aws_credentials;

    explicit static_credentials(aws_credentials c)
        : value_(std::make_shared<const aws_credentials>(std::move(c))) {}

    std::shared_ptr<const aws_credentials> current() const noexcept { return value_; }
    bool needs_refresh(std::chrono::system_clock::time_point) const noexcept { return false; }

    // Nothing to fetch: an algorithm that is done at once, and no storage to perform steps.
    struct no_step : core::step_base {};
    struct nothing {
        core::action next(const core::attempt_context*) { return core::action::finish(); }
        no_step& step() { return s; }
        no_step s;
    };
    struct no_storage {
        void perform(no_step&, core::attempt_context&) {}
    };
    nothing refresh() const { return {}; }
    void install(const nothing&) {}
    no_storage storage() const { return {}; }

private:
    std::shared_ptr<const aws_credentials> value_;
};

/// Current credentials from a provider, refreshing them when they need it, with one refresh in
/// flight: callers that arrive during a refresh wait for its outcome instead of starting
/// their own. Thread-safe.
template <credentials_provider Provider>
class credentials_cache {
public:
    using credentials_type = typename Provider::credentials_type;

    explicit credentials_cache(Provider p)
        : provider_(std::move(p)) {}

    /// The current credentials, refreshed first when needed (or when `force`, as after a 401:
    /// unless another caller refreshed them since `stale` was handed out). On failure: null
    /// and `ec`.
    std::shared_ptr<const credentials_type>
    get(error_code& ec, bool force = false,
        const std::shared_ptr<const credentials_type>& stale = nullptr) {
        ec = {};
        std::unique_lock lock(mutex_);
        while (true) {
            auto now = provider_.current();
            const bool fresh_since = force && now && now != stale;
            if (!in_flight_ &&
                (fresh_since ||
                 (!force && now && !provider_.needs_refresh(std::chrono::system_clock::now()))))
                return now;
            if (!in_flight_) break;
            // Someone refreshes: wait for the outcome and take it, success or failure.
            const auto generation = generation_;
            done_.wait(lock, [&] { return generation_ != generation; });
            if (last_error_) {
                ec = last_error_;
                return nullptr;
            }
            return provider_.current();
        }
        in_flight_ = true;
        lock.unlock();
        auto algorithm = provider_.refresh();
        auto storage = provider_.storage();
        core::layers<> none;
        core::operation_context op;
        op.operation = "credentials";
        const error_code result = core::run_blocking(storage, algorithm, none, op);
        if (!result) provider_.install(algorithm);
        lock.lock();
        in_flight_ = false;
        ++generation_;
        ++refreshes_;
        last_error_ = result;
        done_.notify_all();
        ec = result;
        return result ? nullptr : provider_.current();
    }

    /// Refreshes done so far (for tests and metrics).
    std::size_t refreshes() const {
        std::lock_guard lock(mutex_);
        return refreshes_;
    }

private:
    Provider provider_;
    mutable std::mutex mutex_;
    std::condition_variable done_;
    bool in_flight_ = false;
    std::uint64_t generation_ = 0;
    std::size_t refreshes_ = 0;
    error_code last_error_;
};

} // namespace cloudstore
