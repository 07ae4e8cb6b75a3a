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
#include <boost/asio/compose.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <concepts>
#include <memory>
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

/// What the driver asks its runner to do.
struct instruction {
    enum class kind {
        perform,  ///< perform the attempt (driver.attempt()) on the storage
        wait,     ///< wait `delay`, then call driver.waited()
        complete, ///< the operation is over with `result`
    };
    kind what = kind::complete;
    std::chrono::milliseconds delay{};
    error_code result;
};

/// An operation algorithm:
///   action next(const attempt_context* outcome);  // null: start, or after a wait
///   Step& step();                                   // the step to perform now
template <class A>
concept operation_algorithm = requires(A& a, const attempt_context* outcome) {
    { a.next(outcome) } -> std::same_as<action>;
    a.step();
}
&&std::derived_from<std::remove_cvref_t<decltype(std::declval<A&>().step())>, step_base>;

template <operation_algorithm Algorithm, class Layers>
class driver {
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

    /// The runner performed attempt(): its outcome is in it.
    instruction performed() {
        attempt_context& a = *attempt_;
        a.finished = clock::now();
        last_read_ = a.finished;
        const auto retry_after = layers_.attempt_end(a);
        if (a.error() && retry_after && may_resend(a) && fits_deadline(*retry_after)) {
            retrying_ = true;
            return {instruction::kind::wait, *retry_after, {}};
        }
        return follow(algorithm_.next(&a));
    }

    /// The runner waited as told.
    instruction waited() {
        last_read_ = {};
        if (retrying_) {
            retrying_ = false;
            return begin_attempt(attempt_->number + 1);
        }
        return follow(algorithm_.next(nullptr));
    }

    /// Ends the operation early (a cancelled wait): the hooks see it end with `ec`.
    instruction stop(error_code ec) { return complete(ec); }

    attempt_context& attempt() noexcept { return *attempt_; }

private:
    instruction follow(action next) {
        if (next.what != action::kind::done) last_read_ = {};
        switch (next.what) {
        case action::kind::step:
            return begin_attempt(1);
        case action::kind::wait:
            return {instruction::kind::wait, next.delay, {}};
        case action::kind::done:
            break;
        }
        return complete(next.result);
    }

    instruction begin_attempt(unsigned number) {
        const auto now = clock::now();
        if (now >= op_.deadline) return complete(errc::timeout);
        auto& step = algorithm_.step();
        if (number > 1) {
            // A retry starts the body and the response over.
            error_code ec;
            if (step.body != nullptr && !step.body->rewind(ec)) return complete(ec);
            if (step.sink != nullptr) step.sink->reset();
        }
        attempt_.emplace(attempt_context{op_, step});
        attempt_->number = number;
        attempt_->started = now;
        error_code ec;
        layers_.attempt_begin(*attempt_, ec);
        if (ec) return complete(ec);
        return {instruction::kind::perform, {}, {}};
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

    instruction complete(error_code ec) {
        // The end of the last attempt is the end of the operation when nothing came between.
        op_.finished = last_read_ != clock::time_point{} ? last_read_ : clock::now();
        layers_.operation_end(op_, ec);
        return {instruction::kind::complete, {}, ec};
    }

    Algorithm& algorithm_;
    Layers& layers_;
    operation_context& op_;
    std::optional<attempt_context> attempt_;
    bool retrying_ = false;
    // The last clock read, while nothing has happened since (cleared by waits).
    clock::time_point last_read_{};
};

/// A storage whose steps complete on the calling thread (memory, local): `perform(step,
/// attempt)` fills the attempt's outcome.
template <class S, class Step>
concept blocking_storage = requires(S& s, Step& step, attempt_context& a) {
    s.perform(step, a);
};

/// Runs `algorithm` to its end on this thread. Returns its result (empty on success); the
/// provider's detail of the last attempt is in `failure` when it failed.
template <class Storage, operation_algorithm Algorithm, class Layers>
error_code run_blocking(Storage& storage, Algorithm& algorithm, Layers& layers,
                        operation_context& op, storage_failure* failure = nullptr) {
    driver<Algorithm, Layers> d(algorithm, layers, op);
    instruction next = d.start();
    while (true) {
        switch (next.what) {
        case instruction::kind::perform:
            storage.perform(algorithm.step(), d.attempt());
            if (failure != nullptr) *failure = d.attempt().failure;
            next = d.performed();
            break;
        case instruction::kind::wait:
            std::this_thread::sleep_for(next.delay);
            next = d.waited();
            break;
        case instruction::kind::complete:
            if (failure != nullptr && !next.result) *failure = {};
            if (failure != nullptr && next.result && !failure->code) failure->code = next.result;
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

/// The async face for storages whose steps complete on the calling thread: the same driver in
/// an async_compose operation whose steps and waits run on step_pool(), completing through
/// the handler's own executor (never inside the initiating call). `State` owns the algorithm
/// and all it points to: it is placed once on the heap, then `state.init(storage)` builds the
/// algorithm there; it provides `algorithm()`, `operation()` and a `failure` member. At the
/// end `finish(self, state, ec)` completes `self` with the operation's values.
/// (Dispatch, not post, reaches the handler's executor: with an erased handler that executor
/// is an any_completion_executor, on which Asio 1.26 cannot post.)
template <class Signature, class State, class Storage, class Layers, class Finish,
          class CompletionToken>
auto async_run(Storage& storage, Layers& layers, std::unique_ptr<State> state, Finish finish,
               CompletionToken&& token) {
    using algorithm_type = std::decay_t<decltype(state->algorithm())>;
    using pool_executor = boost::asio::thread_pool::executor_type;
    struct op_state {
        std::unique_ptr<State> state;
        operation_context op;
        std::optional<driver<algorithm_type, Layers>> d;
        std::optional<boost::asio::basic_waitable_timer<clock, boost::asio::wait_traits<clock>,
                                                        pool_executor>>
            timer;
        instruction next;
        bool waiting = false;
        // Outstanding work on the handler's executor while the steps are on the pool, so that
        // its io_context's run() waits for the completion.
        std::shared_ptr<void> work;
    };
    auto s = std::make_unique<op_state>();
    s->state = std::move(state);
    s->state->init(storage);
    s->op = s->state->operation();
    const pool_executor pool = step_pool().get_executor();
    return boost::asio::async_compose<CompletionToken, Signature>(
        [&storage, &layers, finish = std::move(finish), s = std::move(s), pool,
         started = false](auto& self, error_code wait_ec = {}) mutable {
            if (!started) {
                started = true;
                s->d.emplace(s->state->algorithm(), layers, s->op);
                s->next = s->d->start();
                auto target = self.get_executor();
                if constexpr (requires { boost::asio::make_work_guard(target); }) {
                    using guard = decltype(boost::asio::make_work_guard(target));
                    s->work = std::make_shared<guard>(boost::asio::make_work_guard(target));
                }
                // On the pool, still under the caller's cancellation slot.
                auto slot = boost::asio::get_associated_cancellation_slot(self);
                return boost::asio::post(
                    pool, boost::asio::bind_cancellation_slot(
                              slot, boost::asio::bind_executor(pool, std::move(self))));
            }
            if (s->waiting) {
                s->waiting = false;
                s->next = wait_ec ? s->d->stop(errc::cancelled) : s->d->waited();
            }
            while (true) {
                switch (s->next.what) {
                case instruction::kind::perform:
                    if (self.get_cancellation_state().cancelled() !=
                        boost::asio::cancellation_type::none) {
                        s->next = s->d->stop(errc::cancelled);
                        continue;
                    }
                    storage.perform(s->state->algorithm().step(), s->d->attempt());
                    s->state->failure = s->d->attempt().failure;
                    s->next = s->d->performed();
                    continue;
                case instruction::kind::wait:
                    s->waiting = true;
                    if (!s->timer) s->timer.emplace(pool);
                    s->timer->expires_after(s->next.delay);
                    {
                        auto slot = boost::asio::get_associated_cancellation_slot(self);
                        return s->timer->async_wait(boost::asio::bind_cancellation_slot(
                            slot, boost::asio::bind_executor(pool, std::move(self))));
                    }
                case instruction::kind::complete: {
                    const error_code ec = s->next.result;
                    if (!ec)
                        s->state->failure = {};
                    else if (!s->state->failure.code)
                        s->state->failure.code = ec;
                    // Everything taken from `s` before `self` (which owns `s`) moves.
                    auto out = std::shared_ptr<State>(std::move(s->state));
                    auto work = std::move(s->work);
                    auto target = self.get_executor();
                    return boost::asio::dispatch(
                        target, [self = std::move(self), out, ec, finish,
                                 work = std::move(work)]() mutable { finish(self, *out, ec); });
                }
                }
            }
        },
        token, pool);
}

} // namespace cloudstore::core
