// Fan-out: an algorithm that asks for several steps at once (the parts of a multipart upload),
// run by both runners over a blocking storage and by the async runner over an async one:
// the bound on steps in flight, every step landing once, a failed lane stopping new launches
// and leading to the algorithm's cleanup, a retry within one lane, cancellation and the
// deadline.
#include <cloudstore/core/driver.hpp>
#include <cloudstore/mixins/retry.hpp>

#include <doctest/doctest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace cloudstore;
using namespace std::chrono_literals;

namespace {

struct part_step : core::step_base {
    std::string kind; // "part", "complete", "abort"
    int part = -1;
};

// What the storages saw: every attempt in order, and the most attempts in flight at once.
struct observer {
    std::mutex m;
    std::vector<std::string> log;
    std::map<int, int> attempts; // part -> attempts
    int in_flight = 0;
    int max_in_flight = 0;
    // The outcome of an attempt: the part number and its attempt number (1 for the first).
    std::function<error_code(const part_step&, int)> answer = [](const part_step&, int) {
        return error_code{};
    };

    int enter(const part_step& s) {
        std::lock_guard lock(m);
        log.push_back(s.kind == "part" ? "part" + std::to_string(s.part) : s.kind);
        max_in_flight = std::max(max_in_flight, ++in_flight);
        return s.kind == "part" ? ++attempts[s.part] : 1;
    }
    void leave() {
        std::lock_guard lock(m);
        --in_flight;
    }
};

// A storage whose steps complete on the calling thread, each holding its thread a while.
struct blocking_parts {
    observer& seen;
    std::chrono::milliseconds hold{0};
    void perform(part_step& s, core::attempt_context& a) {
        const int n = seen.enter(s);
        std::this_thread::sleep_for(hold);
        a.request_sent = true;
        a.failure.code = seen.answer(s, n);
        seen.leave();
    }
};

// A storage whose steps are timers on an io_context: as many in flight as the driver starts.
struct async_parts {
    observer& seen;
    boost::asio::io_context& io;
    std::chrono::milliseconds hold{20};
    template <class Handler>
    void async_perform(part_step& s, core::attempt_context& a, boost::asio::cancellation_slot slot,
                       Handler handler) {
        const int n = seen.enter(s);
        auto timer = std::make_shared<boost::asio::steady_timer>(io, hold);
        if (slot.is_connected())
            slot.assign([timer](boost::asio::cancellation_type) { timer->cancel(); });
        timer->async_wait(
            [this, &s, &a, n, timer, handler = std::move(handler)](error_code ec) mutable {
                a.request_sent = true;
                a.failure.code = ec ? error_code(errc::cancelled) : seen.answer(s, n);
                seen.leave();
                handler();
            });
    }
};

// Uploads `parts` parts at most `width` at once, then completes; after a failed part it
// launches no more and aborts.
struct parts_upload {
    int parts = 10;
    std::size_t width = 4;

    std::vector<int> landed_count = std::vector<int>(std::size_t(parts), 0);
    std::vector<std::size_t> lane_of_part = std::vector<std::size_t>(std::size_t(parts), 99);
    int launched = 0;
    int resumed = 0; // next(nullptr) after the fan-out
    error_code failed;

    core::action next(const core::attempt_context* done) {
        switch (phase_) {
        case phase::start:
            phase_ = phase::parts;
            lanes_.resize(width);
            return core::action::fan_out(width);
        case phase::parts:
            ++resumed;
            single_ = part_step{};
            single_.kind = failed ? "abort" : "complete";
            phase_ = failed ? phase::aborting : phase::completing;
            return core::action::perform();
        case phase::completing:
            return core::action::finish(done->error());
        case phase::aborting:
            break;
        }
        return core::action::finish(failed);
    }
    part_step& step() { return single_; }

    bool launch(std::size_t lane) {
        if (launched == parts) return false;
        lanes_.at(lane) = part_step{};
        lanes_[lane].kind = "part";
        lanes_[lane].part = launched;
        lane_of_part[std::size_t(launched)] = lane;
        ++launched;
        return true;
    }
    part_step& step(std::size_t lane) { return lanes_.at(lane); }
    bool landed(std::size_t lane, const core::attempt_context& outcome) {
        ++landed_count.at(std::size_t(lanes_.at(lane).part));
        if (!outcome.error()) return true;
        if (!failed) failed = outcome.error();
        return false;
    }

private:
    enum class phase { start, parts, completing, aborting };
    phase phase_ = phase::start;
    std::vector<part_step> lanes_;
    part_step single_;
};

static_assert(core::fan_out_algorithm<parts_upload>);

struct async_result {
    bool done = false;
    error_code ec;
    storage_failure failure;
    parts_upload algorithm;
};

// Runs `algorithm` through async_run on `io`, cancelled after `cancel_after` when given.
template <class Storage, class Layers>
async_result run_async(Storage& storage, Layers& layers, boost::asio::io_context& io,
                       parts_upload algorithm,
                       std::optional<std::chrono::milliseconds> cancel_after = std::nullopt,
                       core::clock::time_point deadline = core::clock::time_point::max()) {
    struct state {
        parts_upload alg;
        core::clock::time_point deadline;
        storage_failure failure;
        void init(Storage&) {}
        auto& algorithm() { return alg; }
        core::operation_context operation() {
            core::operation_context op;
            op.operation = "put";
            op.deadline = deadline;
            return op;
        }
    };
    auto s = std::make_unique<state>();
    s->alg = algorithm;
    s->deadline = deadline;
    async_result out;
    boost::asio::cancellation_signal signal;
    core::async_run<void(error_code)>(
        storage, layers, std::move(s),
        [&out](auto& self, state& st, error_code ec) {
            out.algorithm = st.alg;
            out.failure = st.failure;
            self.complete(ec);
        },
        boost::asio::bind_cancellation_slot(signal.slot(),
                                            boost::asio::bind_executor(io, [&](error_code ec) {
                                                out.ec = ec;
                                                out.done = true;
                                            })));
    boost::asio::steady_timer timer(io);
    if (cancel_after) {
        timer.expires_after(*cancel_after);
        timer.async_wait([&](error_code ec) {
            if (!ec) signal.emit(boost::asio::cancellation_type::terminal);
        });
    }
    io.run();
    return out;
}

void check_every_part_landed_once(const parts_upload& a) {
    for (int p = 0; p < a.launched; ++p)
        CHECK(a.landed_count[std::size_t(p)] == 1);
    for (int p = a.launched; p < a.parts; ++p)
        CHECK(a.landed_count[std::size_t(p)] == 0);
}

const error_code forbidden = make_http_status_error(403);
const error_code unavailable = make_http_status_error(503);

exponential_backoff quick_backoff() {
    exponential_backoff b;
    b.base = 1ms;
    b.cap = 5ms;
    b.max_attempts = 3;
    b.random = [] { return 0.5; };
    return b;
}

} // namespace

TEST_CASE("fan-out, blocking runner: the lanes one after another, then the next step") {
    observer seen;
    blocking_parts storage{seen};
    parts_upload algorithm;
    core::layers<> none;
    core::operation_context op;
    op.operation = "put";
    const auto ec = core::run_blocking(storage, algorithm, none, op);
    CHECK_FALSE(ec);
    CHECK(algorithm.launched == 10);
    check_every_part_landed_once(algorithm);
    CHECK(algorithm.resumed == 1);
    CHECK(seen.max_in_flight == 1);
    REQUIRE(seen.log.size() == 11);
    CHECK(seen.log.back() == "complete");
    for (auto lane : algorithm.lane_of_part)
        CHECK(lane < 4);
}

TEST_CASE("fan-out, blocking runner: a failed part stops the launches and leads to abort") {
    observer seen;
    seen.answer = [](const part_step& s, int) { return s.part == 2 ? forbidden : error_code{}; };
    blocking_parts storage{seen};
    parts_upload algorithm;
    core::layers<retry<exponential_backoff>> layers{{retry<exponential_backoff>{quick_backoff()}}};
    core::operation_context op;
    op.operation = "put";
    storage_failure failure;
    const auto ec = core::run_blocking(storage, algorithm, layers, op, &failure);
    CHECK(ec == forbidden);
    CHECK(failure.code == forbidden); // the part's failure, not the abort's success
    CHECK(seen.log == std::vector<std::string>{"part0", "part1", "part2", "abort"});
    check_every_part_landed_once(algorithm);
}

TEST_CASE("fan-out, async runner over a blocking storage: steps on the pool, bounded by it") {
    observer seen;
    blocking_parts storage{seen, 20ms};
    core::layers<> none;
    boost::asio::io_context io;
    parts_upload algorithm;
    algorithm.parts = 8;
    algorithm.landed_count.assign(8, 0);
    algorithm.lane_of_part.assign(8, 99);
    const auto out = run_async(storage, none, io, algorithm);
    REQUIRE(out.done);
    CHECK_FALSE(out.ec);
    check_every_part_landed_once(out.algorithm);
    CHECK(seen.log.back() == "complete");
    CHECK(seen.max_in_flight == 2); // the step pool's two threads, both in use
}

TEST_CASE("fan-out, async runner over an async storage: exactly `width` parts in flight") {
    observer seen;
    boost::asio::io_context io;
    async_parts storage{seen, io};
    core::layers<> none;
    const auto out = run_async(storage, none, io, parts_upload{});
    REQUIRE(out.done);
    CHECK_FALSE(out.ec);
    CHECK(out.algorithm.launched == 10);
    check_every_part_landed_once(out.algorithm);
    CHECK(out.algorithm.resumed == 1);
    CHECK(seen.max_in_flight == 4);
    REQUIRE(seen.log.size() == 11);
    CHECK(seen.log.back() == "complete");
    for (auto lane : out.algorithm.lane_of_part)
        CHECK(lane < 4);
}

TEST_CASE("fan-out, async runner: a width of 1 is one part at a time") {
    observer seen;
    boost::asio::io_context io;
    async_parts storage{seen, io, 2ms};
    core::layers<> none;
    parts_upload algorithm;
    algorithm.width = 1;
    const auto out = run_async(storage, none, io, algorithm);
    CHECK_FALSE(out.ec);
    CHECK(seen.max_in_flight == 1);
    check_every_part_landed_once(out.algorithm);
}

TEST_CASE("fan-out, async runner: a failed part; the parts in flight land, then abort") {
    observer seen;
    seen.answer = [](const part_step& s, int) { return s.part == 5 ? forbidden : error_code{}; };
    boost::asio::io_context io;
    async_parts storage{seen, io, 10ms};
    core::layers<retry<exponential_backoff>> layers{{retry<exponential_backoff>{quick_backoff()}}};
    const auto out = run_async(storage, layers, io, parts_upload{});
    REQUIRE(out.done);
    CHECK(out.ec == forbidden);
    CHECK(out.failure.code == forbidden);
    check_every_part_landed_once(out.algorithm);
    CHECK(out.algorithm.launched < 10); // none launched once part 5 failed
    CHECK(out.algorithm.launched >= 6);
    CHECK(seen.log.back() == "abort");
    CHECK(std::count(seen.log.begin(), seen.log.end(), "complete") == 0);
    CHECK(seen.attempts[5] == 1); // a 403 is not retried
}

TEST_CASE("fan-out, async runner: one lane retries on its own while the others go on") {
    observer seen;
    seen.answer = [](const part_step& s, int attempt) {
        return s.part == 3 && attempt == 1 ? unavailable : error_code{};
    };
    boost::asio::io_context io;
    async_parts storage{seen, io, 5ms};
    core::layers<retry<exponential_backoff>> layers{{retry<exponential_backoff>{quick_backoff()}}};
    const auto out = run_async(storage, layers, io, parts_upload{});
    REQUIRE(out.done);
    CHECK_FALSE(out.ec);
    CHECK_FALSE(out.failure.code);               // the retried failure is not the operation's
    check_every_part_landed_once(out.algorithm); // landed once: after its retry
    CHECK(seen.attempts[3] == 2);
    for (int p = 0; p < 10; ++p)
        if (p != 3) CHECK(seen.attempts[p] == 1);
    CHECK(seen.log.back() == "complete");
    CHECK(seen.max_in_flight <= 4);
}

TEST_CASE("fan-out, async runner: cancellation signals the parts in flight and ends") {
    observer seen;
    boost::asio::io_context io;
    async_parts storage{seen, io, 50ms};
    core::layers<> none;
    parts_upload algorithm;
    algorithm.parts = 20;
    algorithm.landed_count.assign(20, 0);
    algorithm.lane_of_part.assign(20, 99);
    const auto start = core::clock::now();
    const auto out = run_async(storage, none, io, algorithm, 75ms);
    REQUIRE(out.done);
    CHECK(out.ec == condition::cancelled);
    CHECK(core::clock::now() - start < 20 * 50ms / 4); // not the whole upload
    CHECK(out.algorithm.launched < 20);
    check_every_part_landed_once(out.algorithm);
    CHECK(std::count(seen.log.begin(), seen.log.end(), "complete") == 0);
    CHECK(seen.in_flight == 0);
}

TEST_CASE("fan-out, async runner: past the deadline a lane lands refused; nothing hangs") {
    observer seen;
    boost::asio::io_context io;
    async_parts storage{seen, io, 30ms};
    core::layers<> none;
    parts_upload algorithm;
    algorithm.parts = 20;
    algorithm.width = 2;
    algorithm.landed_count.assign(20, 0);
    algorithm.lane_of_part.assign(20, 99);
    const auto out =
        run_async(storage, none, io, algorithm, std::nullopt, core::clock::now() + 70ms);
    REQUIRE(out.done);
    CHECK(out.ec == condition::timeout);
    CHECK(out.algorithm.launched < 20);
    check_every_part_landed_once(out.algorithm);
    CHECK(seen.in_flight == 0);
}

TEST_CASE("fan-out: an algorithm without lanes that asks for one is refused, not run") {
    struct no_lanes {
        part_step s;
        core::action next(const core::attempt_context* done) {
            return done == nullptr ? core::action::fan_out(3) : core::action::finish();
        }
        part_step& step() { return s; }
    };
    static_assert(!core::fan_out_algorithm<no_lanes>);
    observer seen;
    blocking_parts storage{seen};
    no_lanes algorithm;
    core::layers<> none;
    core::operation_context op;
    CHECK(core::run_blocking(storage, algorithm, none, op) == condition::invalid_argument);
    CHECK(seen.log.empty());
}
