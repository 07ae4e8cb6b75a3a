// `memory` storage: objects in this process's memory, safe across threads. For tests, caches
// and embedded use. Copies of a `memory` share one store.
#pragma once

#include <cloudstore/core/algorithms.hpp>
#include <cloudstore/core/operation.hpp>
#include <cloudstore/object.hpp>

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace cloudstore {

/// One step on memory storage: one operation on the map.
struct memory_step : core::step_base {
    enum class op { put, get, head, remove, list };
    op what = op::head;
    std::string_view key;
    const put_options* put = nullptr;   ///< op::put
    const get_options* get = nullptr;   ///< op::get
    const list_options* list = nullptr; ///< op::list
    object_info* info = nullptr;        ///< put, get, head: the object's description
    list_page* page = nullptr;          ///< op::list
};

class memory {
public:
    using step = memory_step;
    static constexpr std::string_view storage_type = "memory";

    CLOUDSTORE_DECL memory();

    using algorithm = core::single_step<memory_step>;
    // The algorithms of the operations: one step each. What they point to must outlive them.
    static algorithm put_algorithm(std::string_view key, http::body_source* body,
                                   const put_options& o, object_info& out) {
        algorithm a;
        a.s.what = memory_step::op::put;
        a.s.key = key;
        a.s.body = body;
        a.s.accepts_trailer = true; // the checksum is recorded as the bytes arrive
        a.s.put = &o;
        a.s.info = &out;
        return a;
    }
    static algorithm get_algorithm(std::string_view key, const get_options& o,
                                   http::body_sink* sink, object_info& out) {
        algorithm a;
        a.s.what = memory_step::op::get;
        a.s.key = key;
        a.s.get = &o;
        a.s.sink = sink;
        a.s.info = &out;
        return a;
    }
    static algorithm head_algorithm(std::string_view key, object_info& out) {
        algorithm a;
        a.s.what = memory_step::op::head;
        a.s.key = key;
        a.s.info = &out;
        return a;
    }
    static algorithm remove_algorithm(std::string_view key) {
        algorithm a;
        a.s.what = memory_step::op::remove;
        a.s.key = key;
        return a;
    }
    static algorithm list_algorithm(const list_options& o, list_page& out) {
        algorithm a;
        a.s.what = memory_step::op::list;
        a.s.list = &o;
        a.s.page = &out;
        return a;
    }

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
