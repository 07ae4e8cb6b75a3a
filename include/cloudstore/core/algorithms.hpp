// Operation algorithms that every storage can use.
#pragma once

#include <cloudstore/core/operation.hpp>

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

} // namespace cloudstore::core
