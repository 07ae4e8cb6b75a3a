// The driver: runs any operation algorithm over a storage policy, with the mixins' hooks
// around the operation and around each attempt of each step. The logic (hooks, retries and
// their guards, deadlines) lives once, in `driver`, itself sans-io: it tells its runner what
// to do next. Two runners carry it out: `run_blocking` on the calling thread and
// `async_run`, an async_compose operation taking any completion token.
#pragma once

#include <cloudstore/core/algorithms.hpp>
#include <cloudstore/core/operation.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <concepts>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

namespace cloudstore::core {

/// The mixins of a client, outermost first, each with the hooks it has:
///   void operation_begin(operation_context&);
///   void operation_end(operation_context&, const error_code&);
///   void attempt_begin(attempt_context&, error_code&);   // may refuse the attempt
///   std::optional<std::chrono::milliseconds> attempt_end(attempt_context&);  // retry after?
/// A hook a mixin lacks costs nothing: no mixins, no code.
template <class... Mixins>
struct layers {
    [[no_unique_address]] std::tuple<Mixins...> mixins;

    void operation_begin(operation_context& op) {
        std::apply([&](auto&... m) { (begin_one(m, op), ...); }, mixins);
    }
    void operation_end(operation_context& op, const error_code& ec) {
        std::apply([&](auto&... m) { (end_one(m, op, ec), ...); }, mixins);
    }
    void attempt_begin(attempt_context& a, error_code& ec) {
        std::apply([&](auto&... m) { ((ec ? void() : attempt_begin_one(m, a, ec)), ...); }, mixins);
    }
    /// The first mixin that asks for a retry decides it.
    std::optional<std::chrono::milliseconds> attempt_end(attempt_context& a) {
        std::optional<std::chrono::milliseconds> retry;
        std::apply([&](auto&... m) { (attempt_end_one(m, a, retry), ...); }, mixins);
        return retry;
    }

private:
    template <class M>
    static void begin_one(M& m, operation_context& op) {
        if constexpr (requires { m.operation_begin(op); }) m.operation_begin(op);
    }
    template <class M>
    static void end_one(M& m, operation_context& op, const error_code& ec) {
        if constexpr (requires { m.operation_end(op, ec); }) m.operation_end(op, ec);
    }
    template <class M>
    static void attempt_begin_one(M& m, attempt_context& a, error_code& ec) {
        if constexpr (requires { m.attempt_begin(a, ec); }) m.attempt_begin(a, ec);
    }
    template <class M>
    static void attempt_end_one(M& m, attempt_context& a,
                                std::optional<std::chrono::milliseconds>& retry) {
        if constexpr (requires { m.attempt_end(a); }) {
            auto wanted = m.attempt_end(a);
            if (!retry) retry = wanted;
        }
    }
};

/// What the driver asks its runner to do. A lane is one step in flight: lane 0 alone outside
/// a fan-out, lanes 0 to width-1 within one.
struct instruction {
    enum class kind {
        perform,  ///< perform lane `lane`'s attempt (driver.attempt(lane)) on the storage
        wait,     ///< lane `lane` waits `delay`; then the runner calls driver.waited(lane)
        idle,     ///< nothing more to start: wait until something in flight ends
        complete, ///< the operation is over with `result`
    };
    kind what = kind::complete;
    std::size_t lane = 0;
    std::chrono::milliseconds delay{};
    error_code result;
};

/// An operation algorithm:
///   action next(const attempt_context* outcome);  // null: start, after a wait or a fan-out
///   Step& step();                                   // the step to perform now
template <class A>
concept operation_algorithm = requires(A& a, const attempt_context* outcome) {
    { a.next(outcome) } -> std::same_as<action>;
    a.step();
}
&&std::derived_from<std::remove_cvref_t<decltype(std::declval<A&>().step())>, step_base>;

/// An algorithm that fans out (action::fan_out) adds, for each lane:
///   bool launch(std::size_t lane);  // prepare the next step in `lane`; false: none is left
///   Step& step(std::size_t lane);   // that step (the same type as step())
///   bool landed(std::size_t lane, const attempt_context& outcome);  // its final outcome;
///                                   // false: launch no more (the lanes in flight still land)
template <class A>
concept fan_out_algorithm = operation_algorithm<A> &&
    requires(A& a, std::size_t lane, const attempt_context& outcome) {
    { a.launch(lane) } -> std::same_as<bool>;
    { a.landed(lane, outcome) } -> std::same_as<bool>;
    requires std::same_as<decltype(a.step(lane)), decltype(a.step())>;
};

/// The driver: sans-io. The runner calls start(), then carries out each instruction and
/// reports back: performed(lane) after a perform, waited(lane) after a wait. A runner that
/// performs asynchronously calls proceed() after starting a perform or a wait, to learn what
/// else can start now (the other lanes of a fan-out), until it hears `idle`. Every call
/// returns the next instruction; nothing is called after `complete`.
template <operation_algorithm Algorithm, class Layers>
class driver {
    static constexpr bool fans_out = fan_out_algorithm<Algorithm>;

public:
    driver(Algorithm& algorithm, Layers& layers, operation_context& op)
        : algorithm_(algorithm)
        , layers_(layers)
        , op_(op) {}

    instruction start() {
        op_.started = clock::now();
        layers_.operation_begin(op_);
        return follow(algorithm_.next(nullptr));
    }

    /// The runner performed attempt(lane): its outcome is in it.
    instruction performed(std::size_t i = 0) {
        lane_state& l = lane(i);
        attempt_context& a = *l.attempt;
        a.finished = clock::now();
        last_read_ = a.finished;
        const auto retry_after = layers_.attempt_end(a);
        if (cleaning_) { // the undo step after a stop: once, whatever its outcome
            release(l);
            return complete(stop_result_);
        }
        if (!stopped_ && a.error() && retry_after && may_resend(a) && fits_deadline(*retry_after)) {
            l.status = lane_status::retry_wait;
            return {instruction::kind::wait, i, *retry_after, {}};
        }
        release(l);
        return landed(i, a);
    }

    /// The runner waited as told (or the wait was cut short after stop()).
    instruction waited(std::size_t i = 0) {
        last_read_ = {};
        lane_state& l = lane(i);
        const bool retry = l.status == lane_status::retry_wait;
        if (retry && !stopped_) return begin_attempt(i, l.attempt->number + 1);
        release(l);
        if (retry) return landed(i, *l.attempt); // stopped: the last outcome stands
        if (stopped_) return end_stopped();
        return follow(algorithm_.next(nullptr));
    }

    /// After the runner started a perform or a wait: what else may start now.
    instruction proceed() {
        if constexpr (fans_out) {
            if (width_ != 0) {
                if (!exhausted_ && !stopped_) {
                    for (std::size_t i = 0; i < width_; ++i) {
                        if (lane(i).status != lane_status::free) continue;
                        if (!algorithm_.launch(i)) {
                            exhausted_ = true;
                            break;
                        }
                        return begin_attempt(i, 1);
                    }
                }
                if (busy_ != 0) return {instruction::kind::idle, 0, {}, {}};
                width_ = 0; // every lane landed: the fan-out is over
                if (stopped_) return end_stopped();
                return follow(algorithm_.next(nullptr));
            }
        }
        if (busy_ != 0 || !stopped_) return {instruction::kind::idle, 0, {}, {}};
        return end_stopped();
    }

    /// Ends the operation early with `ec` (cancellation): nothing new starts, and once what is
    /// in flight has landed (the runner cuts waits short) the hooks see the end with `ec`.
    instruction stop(error_code ec) {
        if (!stopped_) {
            stopped_ = true;
            stop_result_ = ec;
        }
        if (busy_ != 0) return {instruction::kind::idle, 0, {}, {}};
        return end_stopped();
    }

    attempt_context& attempt(std::size_t i = 0) noexcept { return *lane(i).attempt; }

    /// The step of lane `i`, in the storage's own type.
    decltype(auto) step(std::size_t i = 0) {
        if constexpr (fans_out) {
            if (width_ != 0) return algorithm_.step(i);
        }
        return algorithm_.step();
    }

private:
    enum class lane_status : unsigned char { free, performing, retry_wait, algorithm_wait };
    struct lane_state {
        std::optional<attempt_context> attempt;
        lane_status status = lane_status::free;
    };

    lane_state& lane(std::size_t i) noexcept {
        if constexpr (fans_out) {
            if (i != 0) return more_[i - 1];
        }
        return first_;
    }

    void occupy(lane_state& l, lane_status s) noexcept {
        if (l.status == lane_status::free) ++busy_;
        l.status = s;
    }
    void release(lane_state& l) noexcept {
        if (l.status != lane_status::free) --busy_;
        l.status = lane_status::free;
    }

    instruction follow(action next) {
        if (next.what != action::kind::done) last_read_ = {};
        switch (next.what) {
        case action::kind::step:
            return begin_attempt(0, 1);
        case action::kind::fan_out:
            if constexpr (fans_out) {
                width_ = next.width;
                exhausted_ = false;
                if (more_size_ < width_ - 1) {
                    more_ = std::make_unique<lane_state[]>(width_ - 1);
                    more_size_ = width_ - 1;
                }
                return proceed();
            } else {
                return complete(errc::invalid_argument); // an algorithm without lanes
            }
        case action::kind::wait:
            occupy(first_, lane_status::algorithm_wait);
            return {instruction::kind::wait, 0, next.delay, {}};
        case action::kind::done:
            break;
        }
        return complete(next.result);
    }

    instruction begin_attempt(std::size_t i, unsigned number) {
        const auto now = clock::now();
        lane_state& l = lane(i);
        error_code ec;
        auto& step = this->step(i);
        // An undo step (an abort) goes out even past the deadline: it frees what is half done.
        if (now >= op_.deadline && !step.cleanup && !cleaning_) ec = errc::timeout;
        if (!ec && number > 1) {
            // A retry starts the body and the response over.
            if (step.body != nullptr) step.body->rewind(ec);
            if (step.sink != nullptr) step.sink->reset();
        }
        l.attempt.emplace(op_, step);
        l.attempt->number = number;
        l.attempt->started = now;
        if (!ec) layers_.attempt_begin(*l.attempt, ec);
        if (ec) {
            // The step lands with the refusal: within a fan-out the other lanes go on; outside
            // one the algorithm hears of it, and may undo what it began (abort an upload).
            release(l);
            l.attempt->failure.code = ec;
            if (cleaning_) return complete(stop_result_);
            return landed(i, *l.attempt);
        }
        occupy(l, lane_status::performing);
        return {instruction::kind::perform, i, {}, {}};
    }

    instruction landed(std::size_t i, const attempt_context& a) {
        if constexpr (fans_out) {
            if (width_ != 0) {
                if (!algorithm_.landed(i, a)) exhausted_ = true;
                return proceed();
            }
        }
        (void)i;
        if (stopped_) return end_stopped();
        return follow(algorithm_.next(&a));
    }

    // The guards no retry policy can lift: a request that went out is sent again only when
    // the step is idempotent and its body can start over.
    static bool may_resend(const attempt_context& a) {
        if (!a.request_sent) return true;
        return a.step.idempotent && (a.step.body == nullptr || a.step.body->rewindable());
    }

    bool fits_deadline(std::chrono::milliseconds delay) const {
        return op_.deadline == clock::time_point::max() || clock::now() + delay < op_.deadline;
    }

    // Every lane has landed after a stop: the algorithm may undo what is half done (abort a
    // multipart upload) with one last step, `bool undo(error_code why)` preparing it as its
    // step(); then the operation ends with the stop's result.
    instruction end_stopped() {
        if constexpr (requires { algorithm_.undo(stop_result_); }) {
            if (!cleaning_ && algorithm_.undo(stop_result_)) {
                cleaning_ = true;
                width_ = 0;
                return begin_attempt(0, 1);
            }
        }
        return complete(stop_result_);
    }

    instruction complete(error_code ec) {
        // The end of the last attempt is the end of the operation when nothing came between.
        op_.finished = last_read_ != clock::time_point{} ? last_read_ : clock::now();
        layers_.operation_end(op_, ec);
        return {instruction::kind::complete, 0, {}, ec};
    }

    Algorithm& algorithm_;
    Layers& layers_;
    operation_context& op_;
    lane_state first_;
    std::size_t busy_ = 0; // lanes performing or waiting
    bool stopped_ = false;
    bool cleaning_ = false; // performing the algorithm's undo step after a stop
    error_code stop_result_;
    // The last clock read, while nothing has happened since (cleared by waits).
    clock::time_point last_read_{};
    // Fan-out only: lanes 1 to width-1, kept for the next fan-out of the same operation.
    std::size_t width_ = 0; // 0: not in a fan-out
    bool exhausted_ = false;
    std::unique_ptr<lane_state[]> more_;
    std::size_t more_size_ = 0;
};

/// Keeps a failed attempt's detail: a later success within the operation (the abort after a
/// failed part, a retry that worked) does not erase it; the operation's end decides.
inline void keep_failure(storage_failure& kept, const attempt_context& a) {
    if (a.error()) kept = a.failure;
}
inline void settle_failure(storage_failure& kept, const error_code& result) {
    if (!result)
        kept = {};
    else if (!kept.code)
        kept.code = result;
}

/// A storage whose steps complete on the calling thread (memory, local): `perform(step,
/// attempt)` fills the attempt's outcome.
template <class S, class Step>
concept blocking_storage = requires(S& s, Step& step, attempt_context& a) {
    s.perform(step, a);
};

template <class Storage, operation_algorithm Algorithm, class Layers>
error_code run_here(Storage& storage, Algorithm& algorithm, Layers& layers, operation_context& op,
                    storage_failure* failure);
template <class Storage, operation_algorithm Algorithm, class Layers>
error_code run_in_turn(Storage& storage, Algorithm& algorithm, Layers& layers,
                       operation_context& op, storage_failure* failure);

/// Runs `algorithm` to its end on this thread and returns its result (empty on success); the
/// provider's detail of the failure is in `failure` when it failed. A blocking storage's
/// steps run in turn on this thread (the lanes of a fan-out one after another: it gains
/// nothing from more); an async storage's run on this thread's private context (run_here).
template <class Storage, operation_algorithm Algorithm, class Layers>
error_code run_blocking(Storage& storage, Algorithm& algorithm, Layers& layers,
                        operation_context& op, storage_failure* failure = nullptr) {
    using step_type = std::remove_cvref_t<decltype(algorithm.step())>;
    if constexpr (!blocking_storage<Storage, step_type>)
        return run_here(storage, algorithm, layers, op, failure);
    else
        return run_in_turn(storage, algorithm, layers, op, failure);
}

template <class Storage, operation_algorithm Algorithm, class Layers>
error_code run_in_turn(Storage& storage, Algorithm& algorithm, Layers& layers,
                       operation_context& op, storage_failure* failure) {
    driver<Algorithm, Layers> d(algorithm, layers, op);
    storage_failure kept;
    instruction next = d.start();
    while (true) {
        switch (next.what) {
        case instruction::kind::perform:
            storage.perform(d.step(next.lane), d.attempt(next.lane));
            keep_failure(kept, d.attempt(next.lane));
            next = d.performed(next.lane);
            break;
        case instruction::kind::wait:
            std::this_thread::sleep_for(next.delay);
            next = d.waited(next.lane);
            break;
        case instruction::kind::idle:
            // Never: each perform and wait here has ended before the driver is asked again.
            next = d.stop(errc::cancelled);
            break;
        case instruction::kind::complete:
            if (failure != nullptr) {
                settle_failure(kept, next.result);
                *failure = std::move(kept);
            }
            return next.result;
        }
    }
}

/// The threads that perform the steps of blocking storages (local file I/O, memory) for the
/// async face, so that the caller's executor never blocks on them. Two threads, made on
/// first use.
inline boost::asio::thread_pool& step_pool() {
    static boost::asio::thread_pool pool(2);
    return pool;
}

/// A storage that performs a step without blocking (the HTTP storages):
/// `async_perform(step, attempt, slot, handler)` starts the attempt and calls `handler()` once,
/// never inside the call, when its outcome is in `attempt`; an emit on `slot` cuts it short.
struct performed_handler {
    void operator()() const noexcept {}
};
template <class S, class Step>
concept async_storage = requires(S& s, Step& step, attempt_context& a,
                                 boost::asio::cancellation_slot slot) {
    s.async_perform(step, a, slot, performed_handler{});
};

namespace detail {

// One async run: the driver, the storage's steps in flight (one per lane) and the waits,
// all under one mutex, since lanes land on any thread. The operation's `Self` (the
// async_compose handler) is kept here until the end.
template <class Self, class State, class Storage, class Layers, class Finish>
class async_runner
    : public std::enable_shared_from_this<async_runner<Self, State, Storage, Layers, Finish>> {
    using algorithm_type = std::decay_t<decltype(std::declval<State&>().algorithm())>;
    using timer_type = boost::asio::basic_waitable_timer<clock, boost::asio::wait_traits<clock>,
                                                         boost::asio::any_io_executor>;
    using step_type = std::remove_cvref_t<decltype(std::declval<algorithm_type&>().step())>;
    static constexpr bool async_steps = async_storage<Storage, step_type>;

public:
    async_runner(Self self, boost::asio::any_io_executor executor, Storage& storage, Layers& layers,
                 std::unique_ptr<State> state, Finish finish)
        : self_(std::move(self))
        , storage_(storage)
        , state_(std::move(state))
        , finish_(std::move(finish))
        , executor_(std::move(executor)) {
        state_->init(storage_);
        op_ = state_->operation();
        d_.emplace(state_->algorithm(), layers, op_);
    }

    void start() {
        auto target = self_->get_executor();
        if constexpr (requires { boost::asio::make_work_guard(target); }) {
            // Keeps the caller's io_context running while the steps are elsewhere (an erased
            // handler's executor does not count as work by itself).
            using guard = decltype(boost::asio::make_work_guard(target));
            work_ = std::make_shared<guard>(boost::asio::make_work_guard(target));
        }
        auto slot = self_->get_cancellation_state().slot();
        if (slot.is_connected()) {
            std::weak_ptr<async_runner> weak = this->shared_from_this();
            slot.assign([weak](boost::asio::cancellation_type) {
                if (auto r = weak.lock()) r->cancel();
            });
        }
        std::unique_lock lock(mutex_);
        inline_risk_ = true; // inside the initiating call: never complete here
        pump(d_->start(), lock);
    }

private:
    struct lane_io {
        std::optional<timer_type> timer;
        boost::asio::cancellation_signal signal;
    };

    lane_io& io(std::size_t lane) {
        while (io_.size() <= lane)
            io_.emplace_back();
        return io_[lane];
    }

    // Carries out instructions until the driver is idle or the operation completes.
    void pump(instruction next, std::unique_lock<std::mutex>& lock) {
        while (true) {
            switch (next.what) {
            case instruction::kind::perform:
                begin_perform(next.lane);
                next = d_->proceed();
                continue;
            case instruction::kind::wait: {
                auto& t = io(next.lane).timer;
                if (!t) t.emplace(executor_);
                t->expires_after(next.delay);
                t->async_wait([r = this->shared_from_this(), lane = next.lane](error_code) {
                    std::unique_lock lock(r->mutex_);
                    r->pump(r->d_->waited(lane), lock);
                });
                next = d_->proceed();
                continue;
            }
            case instruction::kind::idle:
                inline_risk_ = false;
                return;
            case instruction::kind::complete:
                return complete(next.result, lock);
            }
        }
    }

    void begin_perform(std::size_t lane) {
        auto* step = &d_->step(lane);
        auto* attempt = &d_->attempt(lane);
        auto landed = [r = this->shared_from_this(), attempt, lane] {
            std::unique_lock lock(r->mutex_);
            keep_failure(r->state_->failure, *attempt);
            r->pump(r->d_->performed(lane), lock);
        };
        if constexpr (async_steps) {
            auto& signal = io(lane).signal;
            storage_.async_perform(*step, *attempt, signal.slot(), std::move(landed));
        } else {
            // A blocking storage performs on the step pool, never on the caller's executor.
            boost::asio::post(step_pool(), [r = this->shared_from_this(), step, attempt,
                                            landed = std::move(landed)]() mutable {
                r->storage_.perform(*step, *attempt);
                landed();
            });
        }
    }

    void cancel() {
        std::unique_lock lock(mutex_);
        if (completed_ || cancelled_) return; // once: an undo step after it is not cut short
        cancelled_ = true;
        const auto next = d_->stop(errc::cancelled);
        for (auto& l : io_) {
            if (l.timer) l.timer->cancel();
            l.signal.emit(boost::asio::cancellation_type::terminal);
        }
        inline_risk_ = true; // inside the cancellation handler: never complete here
        pump(next, lock);
    }

    void complete(error_code ec, std::unique_lock<std::mutex>& lock) {
        completed_ = true;
        settle_failure(state_->failure, ec);
        // (The cancellation handler goes with `self`; it holds the runner weakly.)
        auto target = self_->get_executor();
        auto done = [self = std::move(*self_), state = std::move(state_), ec,
                     finish = std::move(finish_),
                     work = std::move(work_)]() mutable { finish(self, *state, ec); };
        self_.reset();
        lock.unlock();
        if (inline_risk_) {
            boost::asio::post(executor_, [target, done = std::move(done)]() mutable {
                boost::asio::dispatch(target, std::move(done));
            });
        } else {
            boost::asio::dispatch(target, std::move(done));
        }
    }

    std::mutex mutex_;
    std::optional<Self> self_;
    Storage& storage_;
    std::unique_ptr<State> state_;
    Finish finish_;
    boost::asio::any_io_executor executor_; // waits, and completions that must not be inline
    operation_context op_;
    std::optional<driver<algorithm_type, Layers>> d_;
    std::deque<lane_io> io_; // stable addresses: lanes' timers and signals are in use
    std::shared_ptr<void> work_;
    bool completed_ = false;
    bool cancelled_ = false;
    bool inline_risk_ = false;
};

} // namespace detail

/// The async face: the same driver as run_blocking, in an async_compose operation that takes
/// any completion token and completes through the handler's own executor (never inside the
/// initiating call). Steps of a blocking storage (memory, local) run on step_pool(), so the
/// caller's executor never blocks on them; an async storage's steps run as it starts them,
/// the lanes of a fan-out at once. The caller's cancellation stops the operation: waits are
/// cut short, steps in flight are signalled, and it completes with `errc::cancelled` once
/// they have landed.
///
/// `State` owns the algorithm and all it points to: it is placed once on the heap, then
/// `state.init(storage)` builds the algorithm there; it provides `algorithm()`,
/// `operation()` and a `failure` member. At the end `finish(self, state, ec)` completes
/// `self` with the operation's values.
/// (Dispatch, not post, reaches the handler's executor: with an erased handler that executor
/// is an any_completion_executor, on which Asio 1.26 cannot post.)
template <class Signature, class State, class Storage, class Layers, class Finish,
          class CompletionToken>
auto async_run_on(boost::asio::any_io_executor executor, Storage& storage, Layers& layers,
                  std::unique_ptr<State> state, Finish finish, CompletionToken&& token) {
    return boost::asio::async_compose<CompletionToken, Signature>(
        [&storage, &layers, executor, state = std::move(state),
         finish = std::move(finish)](auto& self) mutable {
            using runner =
                detail::async_runner<std::decay_t<decltype(self)>, State, Storage, Layers, Finish>;
            // Taken out before `self` moves: `self` holds this lambda, captures and all.
            auto owned = std::move(state);
            auto then = std::move(finish);
            auto ex = executor;
            auto r = std::make_shared<runner>(std::move(self), std::move(ex), storage, layers,
                                              std::move(owned), std::move(then));
            r->start();
        },
        token, executor);
}

/// The executor of a storage's async work: its own (an HTTP storage's transport), or the step
/// pool for blocking storages.
template <class Storage>
boost::asio::any_io_executor work_executor(Storage& storage) {
    if constexpr (requires { storage.executor(); })
        return storage.executor();
    else
        return step_pool().get_executor();
}

template <class Signature, class State, class Storage, class Layers, class Finish,
          class CompletionToken>
auto async_run(Storage& storage, Layers& layers, std::unique_ptr<State> state, Finish finish,
               CompletionToken&& token) {
    return async_run_on<Signature>(work_executor(storage), storage, layers, std::move(state),
                                   std::move(finish), std::forward<CompletionToken>(token));
}

/// The blocking face of an async storage (the HTTP storages): the async driver run to its end
/// on this thread's private io_context (`storage.run_here`), so the lanes of a fan-out are in
/// flight together and timeouts behave as in the async face. The algorithm stays the
/// caller's.
template <class Storage, operation_algorithm Algorithm, class Layers>
error_code run_here(Storage& storage, Algorithm& algorithm, Layers& layers, operation_context& op,
                    storage_failure* failure) {
    struct borrowed {
        Algorithm* a;
        operation_context op;
        storage_failure failure;
        void init(Storage&) {}
        Algorithm& algorithm() { return *a; }
        operation_context operation() { return op; }
    };
    error_code result = errc::cancelled; // unless the run completes
    storage.run_here([&](boost::asio::any_io_executor executor) {
        auto state = std::make_unique<borrowed>();
        state->a = &algorithm;
        state->op = op;
        async_run_on<void(error_code)>(
            executor, storage, layers, std::move(state),
            [&](auto& self, borrowed& st, error_code ec) {
                op = st.op;
                if (failure != nullptr) *failure = std::move(st.failure);
                self.complete(ec);
            },
            [&result](error_code ec) { result = ec; });
    });
    return result;
}

} // namespace cloudstore::core
