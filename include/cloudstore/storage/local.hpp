// `local` storage: objects as files under a root folder, for development, tests and the first
// user's STORAGE_TYPE=local. Keys map to paths by detail/local_key_path.hpp (every valid key
// storable, none able to leave the root); writes are atomic (a temporary file, fsync, rename),
// so a crash never leaves half an object under a real key; metadata lives beside the object in
// a `%m` file that names the content file's inode, so a crash between the two renames costs
// the metadata of that one write, never the content. Directories are opened one by one with
// O_NOFOLLOW from the root: a symbolic link planted in the tree is refused, not followed.
// Blocking: each step is file I/O on the calling thread.
#pragma once

#include <cloudstore/core/algorithms.hpp>
#include <cloudstore/core/operation.hpp>
#include <cloudstore/object.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace cloudstore {

/// One step on local storage: one file operation.
struct local_step : core::step_base {
    enum class op { put, get, head, remove, list };
    op what = op::head;
    std::string_view key;
    const put_options* put = nullptr;
    const get_options* get = nullptr;
    const list_options* list = nullptr;
    object_info* info = nullptr;
    list_page* page = nullptr;
};

class local {
public:
    using step = local_step;
    using algorithm = core::single_step<local_step>;
    static constexpr std::string_view storage_type = "local";

    /// Objects live under `root`, which is created if missing.
    CLOUDSTORE_DECL explicit local(std::filesystem::path root);

    static algorithm put_algorithm(std::string_view key, http::body_source* body,
                                   const put_options& o, object_info& out) {
        auto a = make(local_step::op::put, key, body, nullptr, &o, nullptr, nullptr, &out, nullptr);
        a.s.accepts_trailer = true; // the checksum is recorded as the bytes arrive
        return a;
    }
    static algorithm get_algorithm(std::string_view key, const get_options& o,
                                   http::body_sink* sink, object_info& out) {
        return make(local_step::op::get, key, nullptr, sink, nullptr, &o, nullptr, &out, nullptr);
    }
    static algorithm head_algorithm(std::string_view key, object_info& out) {
        return make(local_step::op::head, key, nullptr, nullptr, nullptr, nullptr, nullptr, &out,
                    nullptr);
    }
    static algorithm remove_algorithm(std::string_view key) {
        return make(local_step::op::remove, key, nullptr, nullptr, nullptr, nullptr, nullptr,
                    nullptr, nullptr);
    }
    static algorithm list_algorithm(const list_options& o, list_page& out) {
        return make(local_step::op::list, {}, nullptr, nullptr, nullptr, nullptr, &o, nullptr,
                    &out);
    }

    /// Performs `s` on this thread; the outcome goes in `a` (and in `s`'s outputs).
    CLOUDSTORE_DECL void perform(local_step& s, core::attempt_context& a);

    /// A `file://` URL of the object's content file.
    CLOUDSTORE_DECL std::string url(std::string_view key) const;
    /// The same, as client::public_url asks it.
    std::string public_url(std::string_view key, error_code& ec) const {
        ec = {};
        return url(key);
    }

    const std::filesystem::path& root() const noexcept { return root_; }

private:
    static algorithm make(local_step::op what, std::string_view key, http::body_source* body,
                          http::body_sink* sink, const put_options* po, const get_options* go,
                          const list_options* lo, object_info* info, list_page* page) {
        algorithm a;
        a.s.what = what;
        a.s.key = key;
        a.s.body = body;
        a.s.sink = sink;
        a.s.put = po;
        a.s.get = go;
        a.s.list = lo;
        a.s.info = info;
        a.s.page = page;
        return a;
    }

    std::filesystem::path root_;
};

} // namespace cloudstore

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/storage/impl/local.ipp>
#endif
