// Operation algorithms that every storage can use.
#pragma once

#include <cloudstore/core/operation.hpp>

#include <cstddef>
#include <optional>

namespace cloudstore::core {

/// The algorithm of an operation that is one step.
template <class Step>
struct single_step {
    Step s;
    action next(const attempt_context* outcome) {
        return outcome == nullptr ? action::perform() : action::finish(outcome->error());
    }
    Step& step() noexcept { return s; }
};

/// An algorithm that may be refused before it starts (an invalid key, a bad argument): it then
/// finishes at once with that error, through the same driver and hooks as any other, so an
/// async refusal completes like any completion (never inside the initiating call).
template <class Algorithm>
struct refusable {
    error_code refused;
    std::optional<Algorithm> inner;
    action next(const attempt_context* outcome) {
        if (refused) return action::finish(refused);
        return inner->next(outcome);
    }
    auto& step() { return inner->step(); }
    // A fan-out's lanes, when the algorithm has them.
    bool launch(std::size_t lane) requires requires(Algorithm& a) { a.launch(lane); }
    { return inner->launch(lane); }
    auto& step(std::size_t lane) requires requires(Algorithm& a) { a.launch(lane); }
    { return inner->step(lane); }
    bool landed(std::size_t lane, const attempt_context& outcome) requires requires(Algorithm& a) {
        a.launch(lane);
    }
    { return inner->landed(lane, outcome); }
    // The undo step after a stop, when the algorithm has one.
    bool undo(error_code why) requires requires(Algorithm& a) { a.undo(why); }
    { return inner && inner->undo(why); }
};

} // namespace cloudstore::core
