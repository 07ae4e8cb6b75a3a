// `memory` storage: objects in this process's memory, safe across threads. For tests, caches
// and embedded use. Copies of a `memory` share one store.
#pragma once

#include <cloudstore/storage/detail/object_step.hpp>

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace cloudstore {

/// One step on memory storage: one operation on the map.
struct memory_step : storage::detail::object_step {};

class memory : public storage::detail::object_algorithms<memory_step> {
public:
    static constexpr std::string_view storage_type = "memory";

    CLOUDSTORE_DECL memory();

    /// Performs `s` at once, on this thread; the outcome goes in `a` (and in `s`'s outputs).
    CLOUDSTORE_DECL void perform(memory_step& s, core::attempt_context& a);

    /// Objects stored now.
    CLOUDSTORE_DECL std::size_t size() const;

    struct state;

private:
    std::shared_ptr<state> state_;
};

} // namespace cloudstore

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/storage/impl/memory.ipp>
#endif
