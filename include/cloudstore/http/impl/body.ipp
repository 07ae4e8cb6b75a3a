#pragma once

#include <cloudstore/http/body.hpp>

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cloudstore::http {

namespace detail {
inline error_code errno_code() {
    return error_code(errno, boost::system::generic_category());
}
} // namespace detail

CLOUDSTORE_DECL file_source::file_source(const std::filesystem::path& path, std::uint64_t offset,
                                         std::optional<std::uint64_t> length, error_code& ec,
                                         std::size_t piece_size)
    : offset_(offset)
    , piece_size_(std::clamp<std::size_t>(piece_size, 4096, 4 * 1024 * 1024)) {
    ec = {};
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
        ec = detail::errno_code();
        return;
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        ec = detail::errno_code();
        return;
    }
    const auto file_size = static_cast<std::uint64_t>(st.st_size);
    if (offset > file_size || (length && *length > file_size - offset)) {
        ec = errc::invalid_argument;
        length_ = 0;
        return;
    }
    length_ = length.value_or(file_size - offset);
#ifdef POSIX_FADV_SEQUENTIAL
    ::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(length_),
                    POSIX_FADV_SEQUENTIAL);
#endif
}

CLOUDSTORE_DECL file_source::~file_source() {
    if (fd_ >= 0 && owns_fd_) ::close(fd_);
}

CLOUDSTORE_DECL std::unique_ptr<body_source>
file_source::slice(std::uint64_t offset, std::uint64_t length, error_code& ec) const {
    ec = {};
    if (fd_ < 0 || offset > length_ || length > length_ - offset) {
        ec = errc::invalid_argument;
        return nullptr;
    }
    return std::unique_ptr<body_source>(
        new file_source(fd_, offset_ + offset, length, piece_size_));
}

CLOUDSTORE_DECL std::span<const std::byte> file_source::next(std::span<std::byte> scratch,
                                                             error_code& ec) {
    ec = {};
    if (fd_ < 0 || done_ == length_) return {};
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(scratch.size(), length_ - done_));
    std::size_t got = 0;
    while (got < want) {
        const ssize_t n = ::pread(fd_, scratch.data() + got, want - got,
                                  static_cast<off_t>(offset_ + done_ + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ec = detail::errno_code();
            return {};
        }
        if (n == 0) { // the file shrank under us
            ec = errc::invalid_argument;
            return {};
        }
        got += static_cast<std::size_t>(n);
    }
    done_ += got;
    return scratch.first(got);
}

CLOUDSTORE_DECL bool file_source::rewind(error_code& ec) {
    ec = {};
    done_ = 0;
    return fd_ >= 0;
}

CLOUDSTORE_DECL void memory_sink::start(unsigned, std::optional<std::uint64_t> length,
                                        error_code& ec) {
    ec = {};
    body_.clear();
    if (length && *length > limit_) {
        ec = errc::too_large;
        return;
    }
    if (length) body_.reserve(static_cast<std::size_t>(*length));
}

CLOUDSTORE_DECL void memory_sink::write(std::span<const std::byte> piece, error_code& ec) {
    ec = {};
    if (piece.size() > limit_ - body_.size()) {
        ec = errc::too_large;
        return;
    }
    body_.append(reinterpret_cast<const char*>(piece.data()), piece.size());
}

CLOUDSTORE_DECL file_sink::~file_sink() {
    if (fd_ >= 0) ::close(fd_);
}

CLOUDSTORE_DECL void file_sink::start(unsigned, std::optional<std::uint64_t>, error_code& ec) {
    ec = {};
    if (fd_ >= 0) ::close(fd_);
    written_ = 0;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) ec = detail::errno_code();
}

CLOUDSTORE_DECL void file_sink::write(std::span<const std::byte> piece, error_code& ec) {
    ec = {};
    while (!piece.empty()) {
        const ssize_t n = ::write(fd_, piece.data(), piece.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ec = detail::errno_code();
            return;
        }
        piece = piece.subspan(static_cast<std::size_t>(n));
        written_ += static_cast<std::uint64_t>(n);
    }
}

CLOUDSTORE_DECL void file_sink::finish(error_code& ec) {
    ec = {};
    if (fd_ >= 0 && ::close(fd_) != 0) ec = detail::errno_code();
    fd_ = -1;
}

CLOUDSTORE_DECL void file_sink::reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    written_ = 0;
}

} // namespace cloudstore::http
