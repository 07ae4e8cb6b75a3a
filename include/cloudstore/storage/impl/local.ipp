#pragma once

#include <cloudstore/crypto/random.hpp>
#include <cloudstore/storage/detail/list_pager.hpp>
#include <cloudstore/storage/detail/local_key_path.hpp>
#include <cloudstore/storage/detail/object_step.hpp>
#include <cloudstore/storage/detail/verify_download.hpp>
#include <cloudstore/storage/local.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cloudstore {

namespace local_detail {

// A file descriptor, closed once.
class fd {
public:
    fd() = default;
    explicit fd(int v) noexcept
        : v_(v) {}
    fd(fd&& o) noexcept
        : v_(std::exchange(o.v_, -1)) {}
    fd& operator=(fd&& o) noexcept {
        if (this != &o) {
            reset();
            v_ = std::exchange(o.v_, -1);
        }
        return *this;
    }
    ~fd() { reset(); }
    void reset() noexcept {
        if (v_ >= 0) ::close(v_);
        v_ = -1;
    }
    int get() const noexcept { return v_; }
    explicit operator bool() const noexcept { return v_ >= 0; }

private:
    int v_ = -1;
};

inline error_code last_error() {
    const int e = errno;
    // A name that is a file where a folder is expected: the key does not exist.
    if (e == ENOTDIR) return errc::not_found;
    return error_code(e, boost::system::system_category());
}

// The folder of `relative` (its names but the last) opened from `root` one name at a time,
// never following a symbolic link; created when `create`.
inline fd open_parent(const std::filesystem::path& root, std::string_view relative, bool create,
                      std::string_view& leaf, error_code& ec) {
    fd dir(::open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!dir) {
        ec = last_error();
        return {};
    }
    while (true) {
        const auto slash = relative.find('/');
        if (slash == std::string_view::npos) break;
        const std::string name(relative.substr(0, slash));
        if (create && ::mkdirat(dir.get(), name.c_str(), 0777) != 0 && errno != EEXIST) {
            ec = last_error();
            return {};
        }
        fd next(::openat(dir.get(), name.c_str(), O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!next) {
            ec = last_error();
            // A symbolic link where a folder should be: refused, never followed.
            struct stat st {};
            if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(st.st_mode))
                ec = errc::invalid_argument;
            return {};
        }
        dir = std::move(next);
        relative.remove_prefix(slash + 1);
    }
    leaf = relative;
    ec = {};
    return dir;
}

// Metadata file: "name\tvalue\n" lines, the values with %, tab, CR, LF and NUL as %XX. The
// first line names the content file's inode it belongs to.
inline void escape_into(std::string& out, std::string_view v) {
    constexpr char hex[] = "0123456789ABCDEF";
    for (char ch : v) {
        const auto b = static_cast<unsigned char>(ch);
        if (ch == '%' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\0') {
            out += '%';
            out += hex[b >> 4];
            out += hex[b & 0xf];
        } else {
            out += ch;
        }
    }
}
inline std::string unescape(std::string_view v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '%' && i + 2 < v.size()) {
            unsigned value = 0;
            std::from_chars(v.data() + i + 1, v.data() + i + 3, value, 16);
            out += static_cast<char>(value);
            i += 2;
        } else {
            out += v[i];
        }
    }
    return out;
}

inline std::string serialize_metadata(const put_options& o, ino_t inode,
                                      std::string_view checksum_name, std::string_view checksum) {
    std::string out = "inode\t" + std::to_string(inode) + "\n";
    const auto line = [&out](std::string_view name, std::string_view value) {
        out += name;
        out += '\t';
        escape_into(out, value);
        out += '\n';
    };
    line("content-type", o.content_type.empty() ? "application/octet-stream" : o.content_type);
    if (!o.cache_control.empty()) line("cache-control", o.cache_control);
    if (!o.content_disposition.empty()) line("content-disposition", o.content_disposition);
    if (!o.content_encoding.empty()) line("content-encoding", o.content_encoding);
    if (!checksum.empty()) {
        line("checksum-algorithm", checksum_name);
        line("checksum", checksum);
    }
    for (const auto& [name, value] : o.metadata) {
        std::string key = "x-meta-";
        escape_into(key, name);
        line(key, value);
    }
    return out;
}

inline void parse_metadata(std::string_view text, ino_t inode, object_info& info) {
    info.content_type = "application/octet-stream";
    bool ours = false;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const auto line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        const auto tab = line.find('\t');
        if (tab == std::string_view::npos) continue;
        const auto name = line.substr(0, tab);
        const auto value = unescape(line.substr(tab + 1));
        if (name == "inode") {
            ours = value == std::to_string(inode);
            if (!ours) return; // left by an earlier write: not this content's
        } else if (!ours) {
            return;
        } else if (name == "content-type") {
            info.content_type = value;
        } else if (name == "cache-control") {
            info.cache_control = value;
        } else if (name == "content-disposition") {
            info.content_disposition = value;
        } else if (name == "content-encoding") {
            info.content_encoding = value;
        } else if (name == "checksum-algorithm") {
            info.checksum_algorithm = value;
        } else if (name == "checksum") {
            info.checksum = value;
        } else if (name.starts_with("x-meta-")) {
            info.metadata[unescape(name.substr(7))] = value;
        }
    }
}

inline std::string read_small_file(int dir, const std::string& name) {
    fd f(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    std::string out;
    if (!f) return out;
    std::array<char, 4096> buf;
    while (true) {
        const auto n = ::read(f.get(), buf.data(), buf.size());
        if (n <= 0) break;
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
    return out;
}

inline std::string etag_of(const struct stat& st) {
    char buf[64];
    const int n =
        std::snprintf(buf, sizeof buf, "%llx-%llx-%llx", static_cast<unsigned long long>(st.st_ino),
                      static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                          static_cast<unsigned long long>(st.st_mtim.tv_nsec),
                      static_cast<unsigned long long>(st.st_size));
    return std::string(buf, static_cast<std::size_t>(n));
}

// The object's description from its open content file and its metadata file.
inline object_info describe(int dir, std::string_view leaf, int content, std::string_view key,
                            error_code& ec) {
    object_info info;
    struct stat st {};
    if (::fstat(content, &st) != 0) {
        ec = last_error();
        return info;
    }
    info.key = std::string(key);
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.etag = etag_of(st);
    info.last_modified = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) +
            std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    std::string meta_name(leaf);
    meta_name.back() = 'm';
    parse_metadata(read_small_file(dir, meta_name), st.st_ino, info);
    ec = {};
    return info;
}

inline bool write_all(int f, const char* p, std::size_t n) {
    while (n > 0) {
        const auto w = ::write(f, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

inline std::string temporary_name(std::string_view leaf) {
    std::array<std::byte, 8> r{};
    error_code ignored;
    crypto::random_bytes(r, ignored);
    std::string name(leaf.substr(0, leaf.size() - 2));
    name += "%t";
    constexpr char hex[] = "0123456789abcdef";
    for (auto b : r) {
        name += hex[static_cast<unsigned>(b) >> 4];
        name += hex[static_cast<unsigned>(b) & 0xf];
    }
    return name;
}

// Every object key under `dir` (relative path `base`), unsorted.
inline void collect(int dir, const std::string& base, std::vector<std::string>& paths) {
    // fdopendir takes the duplicate: closedir closes it.
    const int copy = ::dup(dir);
    if (copy < 0) return;
    DIR* d = ::fdopendir(copy);
    if (d == nullptr) {
        ::close(copy);
        return;
    }
    std::vector<std::string> folders;
    while (dirent* e = ::readdir(d)) {
        const std::string_view name = e->d_name;
        const auto kind = storage::detail::local_kind_of(name);
        if (kind == storage::detail::local_name_kind::object)
            paths.push_back(base + std::string(name));
        else if (kind == storage::detail::local_name_kind::folder ||
                 kind == storage::detail::local_name_kind::continuation)
            folders.emplace_back(name);
    }
    ::closedir(d);
    for (const auto& f : folders) {
        fd sub(::openat(dir, f.c_str(), O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (sub) collect(sub.get(), base + f + "/", paths);
    }
}

} // namespace local_detail

CLOUDSTORE_DECL local::local(std::filesystem::path root)
    : root_(std::move(root)) {
    std::error_code ignored;
    std::filesystem::create_directories(root_, ignored);
}

CLOUDSTORE_DECL std::string local::url(std::string_view key) const {
    return "file://" + (root_ / storage::detail::local_object_path(key)).string();
}

CLOUDSTORE_DECL void local::perform(local_step& s, core::attempt_context& a) {
    using namespace local_detail;
    a.failure = {};
    error_code& ec = a.failure.code;
    if (s.what == local_step::op::list) {
        fd root(::open(root_.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        if (!root) {
            ec = last_error();
            return;
        }
        std::vector<std::string> paths;
        collect(root.get(), "", paths);
        std::vector<std::string> keys;
        keys.reserve(paths.size());
        for (const auto& p : paths)
            if (auto k = storage::detail::local_key_of(p)) keys.push_back(std::move(*k));
        std::sort(keys.begin(), keys.end());
        const std::string after = storage::detail::list_start_after(*s.list);
        auto it = after.empty() ? std::lower_bound(keys.begin(), keys.end(), s.list->prefix)
                                : std::upper_bound(keys.begin(), keys.end(), after);
        storage::detail::fill_list_page(
            it, keys.end(), *s.list, *s.page, [](auto i) -> std::string_view { return *i; },
            [this](auto i) {
                object_info info;
                info.key = *i;
                const auto rel = storage::detail::local_object_path(*i);
                std::string_view leaf;
                error_code e;
                fd dir = open_parent(root_, rel, false, leaf, e);
                if (!dir) return info;
                const std::string name(leaf);
                fd f(::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
                if (f) info = describe(dir.get(), leaf, f.get(), *i, e);
                return info;
            });
        a.request_sent = true;
        return;
    }

    if (s.what == local_step::op::put && (ec = storage::detail::refuse_encryption(*s.put))) return;
    const std::string rel = storage::detail::local_object_path(s.key);
    std::string_view leaf;
    fd dir = open_parent(root_, rel, s.what == local_step::op::put, leaf, ec);
    if (!dir) {
        if (s.what == local_step::op::remove && ec == condition::not_found) ec = {};
        return;
    }
    const std::string name(leaf);
    std::string meta_name = name;
    meta_name.back() = 'm';

    switch (s.what) {
    case local_step::op::put: {
        const put_options& o = *s.put;
        const std::string tmp = temporary_name(leaf);
        const std::string tmp_meta = temporary_name(leaf);
        fd f(::openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0666));
        if (!f) {
            ec = last_error();
            return;
        }
        bool ok = true;
        std::uint64_t total = 0;
        if (s.body != nullptr) {
            std::vector<std::byte> scratch(256 * 1024);
            while (ok) {
                error_code bec;
                const auto piece = s.body->next(scratch, bec);
                if (bec) {
                    ec = bec;
                    ok = false;
                    break;
                }
                if (piece.empty()) break;
                ok = write_all(f.get(), reinterpret_cast<const char*>(piece.data()), piece.size());
                if (s.checksum.running) s.checksum.running->update(piece);
                if (!ok) ec = last_error();
                total += piece.size();
            }
            if (ok && s.body->size() && *s.body->size() != total) {
                ec = errc::invalid_argument;
                ok = false;
            }
        }
        struct stat st {};
        if (ok && (::fsync(f.get()) != 0 || ::fstat(f.get(), &st) != 0)) {
            ec = last_error();
            ok = false;
        }
        a.request_sent = true;
        a.bytes_sent = total;
        // Checked as S3 checks it: the value sent must be the value of what arrived.
        std::string checksum;
        if (ok && !s.checksum.name.empty() && s.checksum.running) {
            checksum = s.checksum.running->finish();
            if (!s.checksum.in_trailer && checksum != s.checksum.value) {
                ec = errc::checksum_mismatch;
                ok = false;
            }
        }
        // The metadata, naming this content's inode, written the same way.
        if (ok) {
            const auto meta = serialize_metadata(o, st.st_ino, s.checksum.name, checksum);
            fd m(::openat(dir.get(), tmp_meta.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
            ok = m && write_all(m.get(), meta.data(), meta.size()) && ::fsync(m.get()) == 0;
            if (!ok) ec = last_error();
        }
        if (ok) {
            // Conditions and the renames under the folder's lock, so that concurrent writers
            // (threads or processes) each see the object as it is.
            ::flock(dir.get(), LOCK_EX);
            fd current(::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
            if (o.if_none_match && current) {
                ec = errc::precondition_failed;
                ok = false;
            } else if (!o.if_match.empty()) {
                struct stat cur {};
                if (!current) {
                    ec = errc::not_found;
                    ok = false;
                } else if (::fstat(current.get(), &cur) != 0 ||
                           etag_of(cur) != storage::detail::unquote_etag(o.if_match)) {
                    ec = errc::precondition_failed;
                    ok = false;
                }
            }
            if (ok &&
                (::renameat(dir.get(), tmp.c_str(), dir.get(), name.c_str()) != 0 ||
                 ::renameat(dir.get(), tmp_meta.c_str(), dir.get(), meta_name.c_str()) != 0)) {
                ec = last_error();
                ok = false;
            }
            ::flock(dir.get(), LOCK_UN);
            if (ok) ::fsync(dir.get());
        }
        if (!ok) {
            ::unlinkat(dir.get(), tmp.c_str(), 0);
            ::unlinkat(dir.get(), tmp_meta.c_str(), 0);
            return;
        }
        if (s.info != nullptr) {
            s.info->key = std::string(s.key);
            s.info->size = total;
            s.info->etag = etag_of(st);
            s.info->content_type =
                o.content_type.empty() ? "application/octet-stream" : o.content_type;
            s.info->cache_control = o.cache_control;
            s.info->content_disposition = o.content_disposition;
            s.info->content_encoding = o.content_encoding;
            s.info->metadata = o.metadata;
            if (!checksum.empty()) {
                s.info->checksum_algorithm = std::string(s.checksum.name);
                s.info->checksum = checksum;
            }
        }
        return;
    }
    case local_step::op::get:
    case local_step::op::head: {
        ::flock(dir.get(), LOCK_SH);
        fd f(::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!f) {
            ec = errno == ELOOP ? error_code(errc::invalid_argument) : last_error();
            ::flock(dir.get(), LOCK_UN);
            return;
        }
        object_info info = describe(dir.get(), leaf, f.get(), s.key, ec);
        ::flock(dir.get(), LOCK_UN);
        if (ec) return;
        if ((ec = storage::detail::read_conditions(s.get, info))) return;
        a.request_sent = true;
        if (s.info != nullptr) *s.info = info;
        if (s.what == local_step::op::head || s.sink == nullptr) return;
        storage::detail::read_extent extent;
        if ((ec = storage::detail::resolve_range(s.get, info.size, extent))) return;
        std::uint64_t offset = extent.offset, length = extent.length;
        const bool whole = length == info.size;
        s.sink->start(200, length, ec);
        std::vector<std::byte> buf(
            static_cast<std::size_t>(std::min<std::uint64_t>(length, 256 * 1024)) + 1);
        while (!ec && length > 0) {
            const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length, buf.size()));
            const auto n = ::pread(f.get(), buf.data(), want, static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                ec = n < 0 ? last_error() : error_code(errc::malformed_response); // shrank
                break;
            }
            s.sink->write({buf.data(), static_cast<std::size_t>(n)}, ec);
            if (whole && s.checksum.verify && s.checksum.running)
                s.checksum.running->update({buf.data(), static_cast<std::size_t>(n)});
            offset += static_cast<std::uint64_t>(n);
            length -= static_cast<std::uint64_t>(n);
            a.bytes_received += static_cast<std::uint64_t>(n);
        }
        if (!ec) s.sink->finish(ec);
        if (!ec) ec = storage::detail::verify_download(s.checksum, info, whole, {});
        return;
    }
    case local_step::op::remove: {
        ::flock(dir.get(), LOCK_EX);
        if (::unlinkat(dir.get(), name.c_str(), 0) != 0 && errno != ENOENT) ec = last_error();
        ::unlinkat(dir.get(), meta_name.c_str(), 0);
        ::flock(dir.get(), LOCK_UN);
        a.request_sent = true;
        return;
    }
    case local_step::op::list:
        return;
    }
}

} // namespace cloudstore
