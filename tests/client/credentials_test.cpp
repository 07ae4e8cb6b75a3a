// Credentials: static keys, and the cache's single refresh in flight.
#include <cloudstore/credentials/provider.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace cloudstore;
using namespace std::chrono_literals;

namespace {

// A provider whose refresh is one slow step, counted, that can be told to fail.
struct shared_state {
    std::atomic<int> performed{0};
    std::atomic<bool> fail{false};
    std::mutex mutex;
    std::shared_ptr<const aws_credentials> value;
};

struct counting_provider {
    using credentials_type = aws_credentials;
    std::shared_ptr<shared_state> state = std::make_shared<shared_state>();

    struct fetch_step : core::step_base {
        std::string issued;
    };
    struct algorithm {
        core::action next(const core::attempt_context* done) {
            return done == nullptr ? core::action::perform() : core::action::finish(done->error());
        }
        fetch_step& step() { return s; }
        fetch_step s;
    };
    struct slow_storage {
        std::shared_ptr<shared_state> state;
        void perform(fetch_step& s, core::attempt_context& a) {
            std::this_thread::sleep_for(50ms);
            const int n = ++state->performed;
            if (state->fail) {
                a.failure.code = make_http_status_error(503);
                return;
            }
            s.issued = "AKID" + std::to_string(n);
        }
    };

    std::shared_ptr<const aws_credentials> current() const {
        std::lock_guard lock(state->mutex);
        return state->value;
    }
    bool needs_refresh(std::chrono::system_clock::time_point) const { return current() == nullptr; }
    algorithm refresh() const { return {}; }
    void install(const algorithm& a) {
        std::lock_guard lock(state->mutex);
        state->value = std::make_shared<const aws_credentials>(
            aws_credentials{a.s.issued, "secret", "", std::nullopt});
    }
    slow_storage storage() const { return {state}; }
};

static_assert(credentials_provider<static_credentials>);
static_assert(credentials_provider<counting_provider>);

} // namespace

TEST_CASE("static credentials: current at once, never refreshed") {
    credentials_cache cache(static_credentials({"AKIDEXAMPLE", "s3cr3t", "", std::nullopt}));
    error_code ec;
    auto c = cache.get(ec);
    REQUIRE(c);
    CHECK_FALSE(ec);
    CHECK(c->access_key_id == "AKIDEXAMPLE");
    CHECK(cache.refreshes() == 0);
}

TEST_CASE("credentials_cache: one refresh in flight for many callers") {
    counting_provider provider;
    auto state = provider.state;
    credentials_cache cache(provider);
    std::vector<std::thread> threads;
    std::vector<std::string> seen(8);
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&, i] {
            error_code ec;
            auto c = cache.get(ec);
            seen[static_cast<std::size_t>(i)] = c && !ec ? c->access_key_id : "failed";
        });
    for (auto& t : threads)
        t.join();
    CHECK(state->performed == 1);
    CHECK(cache.refreshes() == 1);
    for (const auto& s : seen)
        CHECK(s == "AKID1");

    // After a 401: a forced refresh, once; a caller holding the same stale value takes the
    // new one without another refresh.
    error_code ec;
    auto stale = cache.get(ec);
    auto renewed = cache.get(ec, true, stale);
    REQUIRE(renewed);
    CHECK(renewed->access_key_id == "AKID2");
    auto again = cache.get(ec, true, stale);
    CHECK(again->access_key_id == "AKID2");
    CHECK(state->performed == 2);
}

TEST_CASE("credentials_cache: a failed refresh reaches every waiter; the next call tries again") {
    counting_provider provider;
    auto state = provider.state;
    state->fail = true;
    credentials_cache cache(provider);
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            error_code ec;
            if (!cache.get(ec) && ec == condition::server_error) ++failed;
        });
    for (auto& t : threads)
        t.join();
    CHECK(failed == 4);
    CHECK(state->performed == 1);
    state->fail = false;
    error_code ec;
    auto c = cache.get(ec);
    REQUIRE(c);
    CHECK(c->access_key_id == "AKID2");
}
