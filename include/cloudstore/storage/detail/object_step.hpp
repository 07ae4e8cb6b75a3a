// The step of the stores that perform object operations themselves, on this machine (memory,
// local): one operation, its arguments and where its results go; and the one-step algorithms
// that make such steps. Internal.
#pragma once

#include <cloudstore/core/algorithms.hpp>
#include <cloudstore/core/operation.hpp>
#include <cloudstore/object.hpp>

#include <algorithm>
#include <cstdint>
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

/// An ETag as the store keeps it: the quotes of the HTTP form removed.
inline std::string_view unquote_etag(std::string_view etag) noexcept {
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
        etag = etag.substr(1, etag.size() - 2);
    return etag;
}

/// A read's If-Match / If-None-Match / If-Modified-Since against the object: precondition_failed,
/// not_modified, or nothing.
inline error_code read_conditions(const get_options* o, const object_info& info) noexcept {
    if (o == nullptr) return {};
    if (!o->if_match.empty() && unquote_etag(o->if_match) != info.etag)
        return errc::precondition_failed;
    if (!o->if_none_match.empty()) {
        if (unquote_etag(o->if_none_match) == info.etag) return errc::not_modified;
    } else if (o->if_modified_since) {
        using std::chrono::floor;
        using std::chrono::seconds;
        if (floor<seconds>(info.last_modified) <= floor<seconds>(*o->if_modified_since))
            return errc::not_modified;
    }
    return {};
}

/// What a store that cannot encrypt refuses rather than store the bytes in the clear.
inline error_code refuse_encryption(const put_options& o) noexcept {
    return o.encryption.what == server_encryption::mode::none ? error_code()
                                                              : error_code(errc::not_supported);
}

/// The bytes a read returns of an object of `size` bytes: all of them, or the range clamped
/// to the object. Any range of an empty object is empty; a range starting at or past the end
/// of a non-empty one is range_not_satisfiable.
struct read_extent {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};
inline error_code resolve_range(const get_options* o, std::uint64_t size, read_extent& out) {
    out = {0, size};
    if (o == nullptr || !o->range || size == 0) return {};
    const auto& r = *o->range;
    if (r.offset >= size) return errc::range_not_satisfiable;
    out = {r.offset, std::min<std::uint64_t>(r.length.value_or(size), size - r.offset)};
    return {};
}

} // namespace cloudstore::storage::detail
