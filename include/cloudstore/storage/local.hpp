// `local` storage: objects as files under a root folder, for development, tests and the first
// user's STORAGE_TYPE=local. Keys map to paths by detail/local_key_path.hpp (every valid key
// storable, none able to leave the root); writes are atomic (a temporary file, fsync, rename),
// so a crash never leaves half an object under a real key; metadata lives beside the object in
// a `%m` file that names the content file's inode, so a crash between the two renames costs
// the metadata of that one write, never the content. Directories are opened one by one with
// O_NOFOLLOW from the root: a symbolic link planted in the tree is refused, not followed.
// Blocking: each step is file I/O on the calling thread.
#pragma once

#include <cloudstore/storage/detail/object_step.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace cloudstore {

/// One step on local storage: one file operation.
struct local_step : storage::detail::object_step {};

class local : public storage::detail::object_algorithms<local_step> {
public:
    static constexpr std::string_view storage_type = "local";

    /// Objects live under `root`, which is created if missing.
    CLOUDSTORE_DECL explicit local(std::filesystem::path root);

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
    std::filesystem::path root_;
};

} // namespace cloudstore

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/storage/impl/local.ipp>
#endif
