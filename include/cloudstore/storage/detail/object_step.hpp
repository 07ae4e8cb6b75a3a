// The step of the stores that perform object operations themselves, on this machine (memory,
// local): one operation, its arguments and where its results go; and the one-step algorithms
// that make such steps. Internal.
#pragma once

#include <cloudstore/core/algorithms.hpp>
#include <cloudstore/core/operation.hpp>
#include <cloudstore/object.hpp>

#include <string_view>

namespace cloudstore::storage::detail {

struct object_step : core::step_base {
    enum class op { put, get, head, remove, list };
    op what = op::head;
    std::string_view key;
    const put_options* put = nullptr;   ///< op::put
    const get_options* get = nullptr;   ///< op::get
    const list_options* list = nullptr; ///< op::list
    object_info* info = nullptr;        ///< put, get, head: the object's description
    list_page* page = nullptr;          ///< op::list
};

/// The algorithms of a store whose step is `Step` (an object_step): one step each. What they
/// point to must outlive them. The store records an upload's checksum as the bytes arrive,
/// so its puts accept the checksum after the body.
template <class Step>
struct object_algorithms {
    using step = Step;
    using algorithm = core::single_step<Step>;

    static algorithm put_algorithm(std::string_view key, http::body_source* body,
                                   const put_options& o, object_info& out) {
        auto a = make(Step::op::put, key, &out);
        a.s.body = body;
        a.s.accepts_trailer = true;
        a.s.put = &o;
        return a;
    }
    static algorithm get_algorithm(std::string_view key, const get_options& o,
                                   http::body_sink* sink, object_info& out) {
        auto a = make(Step::op::get, key, &out);
        a.s.get = &o;
        a.s.sink = sink;
        return a;
    }
    static algorithm head_algorithm(std::string_view key, object_info& out) {
        return make(Step::op::head, key, &out);
    }
    static algorithm remove_algorithm(std::string_view key) {
        return make(Step::op::remove, key, nullptr);
    }
    static algorithm list_algorithm(const list_options& o, list_page& out) {
        auto a = make(Step::op::list, {}, nullptr);
        a.s.list = &o;
        a.s.page = &out;
        return a;
    }

private:
    static algorithm make(typename Step::op what, std::string_view key, object_info* info) {
        algorithm a;
        a.s.what = what;
        a.s.key = key;
        a.s.info = info;
        return a;
    }
};

} // namespace cloudstore::storage::detail
