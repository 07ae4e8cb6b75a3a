// Retry: the exponential_backoff decision on its own, and the driver running a scripted step
// through retry<exponential_backoff>: attempts, resend guards, rewinds and the deadline.
#include <cloudstore/core/driver.hpp>
#include <cloudstore/mixins/retry.hpp>

#include <doctest/doctest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <string>
#include <vector>

using namespace cloudstore;
using namespace std::chrono_literals;

namespace {

struct outcome {
    outcome() = default;
    outcome(error_code e, bool s = true)
        : ec(e)
        , sent(s) {}
    error_code ec;
    bool sent = true;
    std::optional<std::chrono::milliseconds> retry_after;
};

// A storage that answers each attempt from a script and records what it saw.
struct scripted {
    struct step : core::step_base {};
    std::deque<outcome> script;
    std::vector<std::string> bodies;              // the body as each attempt read it
    std::vector<bool> refresh_asked, clock_asked; // what each attempt was asked to do first
    void perform(step& s, core::attempt_context& a) {
        REQUIRE_FALSE(script.empty());
        const outcome o = script.front();
        script.pop_front();
        std::string body;
        if (s.body != nullptr) {
            std::array<std::byte, 16> scratch;
            error_code ec;
            for (auto piece = s.body->next(scratch, ec); !piece.empty() && !ec;
                 piece = s.body->next(scratch, ec))
                body.append(reinterpret_cast<const char*>(piece.data()), piece.size());
        }
        bodies.push_back(body);
        refresh_asked.push_back(s.refresh_credentials);
        clock_asked.push_back(s.correct_clock);
        a.failure.code = o.ec;
        a.request_sent = o.sent;
        a.retry_after = o.retry_after;
    }
};

exponential_backoff backoff(double random, std::chrono::milliseconds base = 1ms,
                            unsigned attempts = 5) {
    exponential_backoff b;
    b.base = base;
    b.cap = 1000ms;
    b.max_attempts = attempts;
    b.random = [random] { return random; };
    return b;
}

struct run_result {
    error_code ec;
    std::size_t attempts;
    std::vector<std::string> bodies;
    std::vector<bool> refresh_asked, clock_asked;
};

run_result run(std::deque<outcome> script, exponential_backoff policy, bool idempotent = true,
               http::body_source* body = nullptr,
               core::clock::time_point deadline = core::clock::time_point::max()) {
    scripted storage{std::move(script), {}, {}, {}};
    const std::size_t scripted_count = storage.script.size();
    core::single_step<scripted::step> algorithm;
    algorithm.s.idempotent = idempotent;
    algorithm.s.body = body;
    core::layers<retry<exponential_backoff>> layers{{retry<exponential_backoff>{policy}}};
    core::operation_context op;
    op.operation = "put";
    op.deadline = deadline;
    const auto ec = core::run_blocking(storage, algorithm, layers, op);
    return {ec, scripted_count - storage.script.size(), storage.bodies, storage.refresh_asked,
            storage.clock_asked};
}

const error_code unavailable = make_http_status_error(503);
const error_code missing = make_http_status_error(404);

} // namespace

TEST_CASE("exponential_backoff: full jitter within its bounds, transient failures only") {
    core::operation_context op;
    op.started = core::clock::now();
    core::step_base step;
    core::attempt_context a{op, step};
    a.failure.code = unavailable;
    const auto top = backoff(0.999999, 100ms, 10);
    const auto bottom = backoff(0.0, 100ms, 10);
    for (unsigned n = 1; n <= 8; ++n) {
        a.number = n;
        const auto ceiling = std::min<std::int64_t>(1000, 100 << (n - 1));
        INFO(n);
        CHECK(top.next_delay(a) == std::chrono::milliseconds(ceiling - 1));
        CHECK(bottom.next_delay(a) == 0ms);
    }
    a.number = 10;
    CHECK_FALSE(top.next_delay(a)); // the last attempt
    a.number = 1;
    for (const error_code ec :
         {make_http_status_error(500), make_http_status_error(429), make_http_status_error(408),
          error_code(errc::timeout), make_error_code(boost::asio::error::connection_reset),
          make_error_code(s3_errc::slow_down), make_error_code(s3_errc::request_timeout)}) {
        INFO(ec.message());
        a.failure.code = ec;
        CHECK(top.next_delay(a).has_value());
    }
    for (const error_code ec :
         {missing, make_http_status_error(403), make_http_status_error(400),
          make_http_status_error(412), error_code(errc::cancelled),
          error_code(errc::checksum_mismatch), make_error_code(s3_errc::no_such_key)}) {
        INFO(ec.message());
        a.failure.code = ec;
        CHECK_FALSE(top.next_delay(a).has_value());
    }
    // Retry-After wins over the jitter.
    a.failure.code = make_http_status_error(503);
    a.retry_after = 2500ms;
    CHECK(top.next_delay(a) == 2500ms);
    // Never past max_elapsed.
    auto limited = top;
    limited.max_elapsed = 2000ms;
    CHECK_FALSE(limited.next_delay(a).has_value());
}

TEST_CASE("retry through the driver: attempts, guards, rewinds") {
    SUBCASE("transient failures, then success") {
        auto r = run({{unavailable}, {unavailable}, {}}, backoff(0.5));
        CHECK_FALSE(r.ec);
        CHECK(r.attempts == 3);
    }
    SUBCASE("gives up after max_attempts with the last failure") {
        auto r =
            run({{unavailable}, {unavailable}, {unavailable}, {unavailable}}, backoff(0.5, 1ms, 4));
        CHECK(r.ec == condition::server_error);
        CHECK(r.attempts == 4);
    }
    SUBCASE("a 4xx is not retried") {
        auto r = run({{missing}}, backoff(0.5));
        CHECK(r.ec == condition::not_found);
        CHECK(r.attempts == 1);
    }
    SUBCASE("a step that is not idempotent is not re-sent once it went out") {
        auto r = run({{unavailable}}, backoff(0.5), false);
        CHECK(r.ec == condition::server_error);
        CHECK(r.attempts == 1);
        // Unless nothing went out (a refused connection).
        auto again = run({{unavailable, false}, {}}, backoff(0.5), false);
        CHECK_FALSE(again.ec);
        CHECK(again.attempts == 2);
    }
    SUBCASE("a body that cannot rewind is not re-sent") {
        int calls = 0;
        http::generator_source once([&](std::span<std::byte> buf, error_code&) -> std::size_t {
            if (calls++ > 0) return 0;
            buf[0] = std::byte{'g'};
            return 1;
        });
        auto r = run({{unavailable}}, backoff(0.5), true, &once);
        CHECK(r.ec == condition::server_error);
        CHECK(r.attempts == 1);
    }
    SUBCASE("a rewindable body is sent whole on every attempt") {
        http::memory_source body(std::string_view("hello body"));
        auto r = run({{unavailable}, {unavailable}, {}}, backoff(0.5), true, &body);
        CHECK_FALSE(r.ec);
        CHECK(r.bodies == std::vector<std::string>(3, "hello body"));
    }
    SUBCASE("a 401 is retried once, at once, with fresh credentials asked of the storage") {
        const auto denied = make_http_status_error(401);
        auto r = run({{denied}, {}}, backoff(0.5));
        CHECK_FALSE(r.ec);
        CHECK(r.attempts == 2);
        CHECK(r.refresh_asked == std::vector<bool>{false, true});
        auto twice = run({{denied}, {denied}, {}}, backoff(0.5));
        CHECK(twice.ec == condition::unauthenticated);
        CHECK(twice.attempts == 2); // only one refresh
        auto expired = run({{make_error_code(s3_errc::expired_token)}, {}}, backoff(0.5));
        CHECK_FALSE(expired.ec);
        CHECK(expired.refresh_asked == std::vector<bool>{false, true});
    }
    SUBCASE("a clock-skew refusal is retried once with the clock corrected") {
        const auto skewed = make_error_code(s3_errc::request_time_too_skewed);
        auto r = run({{skewed}, {}}, backoff(0.5));
        CHECK_FALSE(r.ec);
        CHECK(r.clock_asked == std::vector<bool>{false, true});
        auto twice = run({{skewed}, {skewed}, {}}, backoff(0.5));
        CHECK(twice.ec == condition::permission_denied);
        CHECK(twice.attempts == 2);
    }
    SUBCASE("the call's deadline bounds the waits") {
        // Waits of 59 then 118 ms fit in 200 ms; the next (237 ms) does not.
        auto r = run({{unavailable}, {unavailable}, {unavailable}, {unavailable}},
                     backoff(0.99, 60ms, 10), true, nullptr, core::clock::now() + 200ms);
        CHECK(r.ec == condition::server_error);
        CHECK(r.attempts == 3);
    }
}

TEST_CASE("Retry-After: seconds or an HTTP date") {
    using namespace std::chrono;
    const auto now = sys_days{year{2026} / 11 / 24} + hours(12);
    CHECK(parse_retry_after("120", now) == 120s);
    CHECK(parse_retry_after(" 0 ", now) == 0s);
    CHECK(parse_retry_after("Tue, 24 Nov 2026 12:00:30 GMT", now) == 30s);
    CHECK(parse_retry_after("Tue, 24 Nov 2026 11:00:00 GMT", now) == 0s); // in the past
    for (const char* bad : {"", "-1", "1.5", "soon", "Tue, 24 Nov 2026 12:00:30 UTC",
                            "Tue, 31 Nov 2026 12:00:30 GMT", "Tue, 24 Xyz 2026 12:00:30 GMT",
                            "Tue, 24 Nov 2026 25:00:30 GMT", "99999999999999999999"}) {
        INFO(bad);
        CHECK_FALSE(parse_retry_after(bad, now).has_value());
    }
}

TEST_CASE("the async driver: a retry wait is cut short by cancellation") {
    struct state {
        core::single_step<scripted::step> a;
        storage_failure failure;
        void init(scripted&) {}
        auto& algorithm() { return a; }
        core::operation_context operation() {
            core::operation_context op;
            op.operation = "put";
            return op;
        }
    };
    scripted storage{{outcome(unavailable), outcome()}, {}, {}, {}};
    core::layers<retry<exponential_backoff>> layers{
        {retry<exponential_backoff>{backoff(0.99, 10'000ms, 5)}}};
    boost::asio::io_context io;
    boost::asio::cancellation_signal signal;
    error_code result;
    bool done = false;
    const auto start = core::clock::now();
    core::async_run<void(error_code)>(
        storage, layers, std::make_unique<state>(),
        [](auto& self, state&, error_code ec) { self.complete(ec); },
        boost::asio::bind_cancellation_slot(signal.slot(),
                                            boost::asio::bind_executor(io, [&](error_code ec) {
                                                result = ec;
                                                done = true;
                                            })));
    boost::asio::steady_timer timer(io, 100ms);
    timer.async_wait([&](error_code) { signal.emit(boost::asio::cancellation_type::terminal); });
    io.run();
    CHECK(done);
    CHECK(result == condition::cancelled);
    CHECK(storage.script.size() == 1);      // the second attempt never went out
    CHECK(core::clock::now() - start < 5s); // not the 10 s wait
}
