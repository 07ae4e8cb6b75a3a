// Request body sources and response body sinks: bodies stream through in pieces and are never
// held whole. Plain virtual interfaces, so the transport's Beast code is compiled once.
#pragma once

#include <cloudstore/detail/config.hpp>
#include <cloudstore/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloudstore::http {

/// Where a request body comes from. The transport asks for pieces until an empty one.
class body_source {
public:
    virtual ~body_source() = default;

    /// The body's length when known (sent with Content-Length), nullopt for a stream of
    /// unknown length (sent chunked).
    virtual std::optional<std::uint64_t> size() const noexcept = 0;

    /// The next piece: a view into the source's own memory, or into `scratch` after filling
    /// it. Empty at the end. The view stays valid until the next call. On failure sets `ec`.
    virtual std::span<const std::byte> next(std::span<std::byte> scratch, error_code& ec) = 0;

    /// Whether rewind() can start the body again (for a retry).
    virtual bool rewindable() const noexcept = 0;

    /// Starts again from the first byte; false (and `ec`) when the source cannot.
    virtual bool rewind(error_code& ec) = 0;

    /// A source of bytes [offset, offset + length) of this one, read independently of it and
    /// of other slices (the parts of a multipart upload, in flight together), valid while
    /// this source lives. Null when the source cannot (a stream: its parts are read in turn
    /// into buffers instead); a range beyond the end sets `ec` to invalid_argument.
    virtual std::unique_ptr<body_source> slice(std::uint64_t offset, std::uint64_t length,
                                               error_code& ec) const {
        (void)offset;
        (void)length;
        ec = {};
        return nullptr;
    }
};

/// A body in memory. Views `data`, which must outlive the source. Rewindable.
class memory_source final : public body_source {
public:
    explicit memory_source(std::span<const std::byte> data) noexcept
        : data_(data) {}
    explicit memory_source(std::string_view text) noexcept
        : data_(reinterpret_cast<const std::byte*>(text.data()), text.size()) {}
    std::optional<std::uint64_t> size() const noexcept override { return data_.size(); }
    std::span<const std::byte> next(std::span<std::byte>, error_code& ec) override {
        ec = {};
        return std::exchange(remaining_, {});
    }
    bool rewindable() const noexcept override { return true; }
    bool rewind(error_code& ec) override {
        ec = {};
        remaining_ = data_;
        return true;
    }
    void reset() noexcept { remaining_ = data_; }
    std::unique_ptr<body_source> slice(std::uint64_t offset, std::uint64_t length,
                                       error_code& ec) const override {
        ec = {};
        if (offset > data_.size() || length > data_.size() - offset) {
            ec = errc::invalid_argument;
            return nullptr;
        }
        return std::make_unique<memory_source>(data_.subspan(offset, length));
    }

private:
    std::span<const std::byte> data_;
    std::span<const std::byte> remaining_ = data_;
};

/// A range of a file, read `piece_size` bytes at a time (256 KiB to 1 MiB: large reads keep
/// the disk and the socket busy; Beast's file_body reads 4 KiB and has no offset). Rewindable.
class file_source final : public body_source {
public:
    /// Opens `path`; `length` nullopt means to the end of the file. A missing file, or a range
    /// beyond its end, sets `ec` (not_found / invalid_argument); the source is then empty.
    CLOUDSTORE_DECL file_source(const std::filesystem::path& path, std::uint64_t offset,
                                std::optional<std::uint64_t> length, error_code& ec,
                                std::size_t piece_size = 512 * 1024);
    CLOUDSTORE_DECL ~file_source() override;
    file_source(const file_source&) = delete;
    file_source& operator=(const file_source&) = delete;

    std::optional<std::uint64_t> size() const noexcept override { return length_; }
    CLOUDSTORE_DECL std::span<const std::byte> next(std::span<std::byte> scratch,
                                                    error_code& ec) override;
    bool rewindable() const noexcept override { return true; }
    CLOUDSTORE_DECL bool rewind(error_code& ec) override;
    /// Reads the same open file (pread at its own offsets: slices may be read at once).
    CLOUDSTORE_DECL std::unique_ptr<body_source> slice(std::uint64_t offset, std::uint64_t length,
                                                       error_code& ec) const override;
    /// The bytes this source reads at a time (the transport's scratch buffer size).
    std::size_t piece_size() const noexcept { return piece_size_; }

private:
    file_source(int shared_fd, std::uint64_t offset, std::uint64_t length,
                std::size_t piece_size) noexcept
        : fd_(shared_fd)
        , offset_(offset)
        , length_(length)
        , piece_size_(piece_size)
        , owns_fd_(false) {}

    int fd_ = -1;
    std::uint64_t offset_ = 0;
    std::uint64_t length_ = 0;
    std::uint64_t done_ = 0;
    std::size_t piece_size_;
    bool owns_fd_ = true;
};

/// A body produced by a function, of known or unknown length (chunked when unknown). The
/// function fills the buffer it is given and returns how many bytes it wrote; 0 ends the
/// body. Not rewindable: a request with it is never retried once sent.
class generator_source final : public body_source {
public:
    using generator = std::function<std::size_t(std::span<std::byte>, error_code&)>;
    explicit generator_source(generator g, std::optional<std::uint64_t> length = std::nullopt)
        : generate_(std::move(g))
        , length_(length) {}
    std::optional<std::uint64_t> size() const noexcept override { return length_; }
    std::span<const std::byte> next(std::span<std::byte> scratch, error_code& ec) override {
        ec = {};
        const std::size_t n = generate_(scratch, ec);
        return scratch.first(ec ? 0 : std::min(n, scratch.size()));
    }
    bool rewindable() const noexcept override { return false; }
    bool rewind(error_code& ec) override {
        ec = errc::not_supported;
        return false;
    }

private:
    generator generate_;
    std::optional<std::uint64_t> length_;
};

/// Where a response body goes.
class body_sink {
public:
    virtual ~body_sink() = default;
    /// Called once the status and headers are in, before any body byte; `content_length` as
    /// announced (nullopt when chunked or unknown). A sink may refuse (too_large) here.
    virtual void start(unsigned status, std::optional<std::uint64_t> content_length,
                       error_code& ec) = 0;
    /// Takes the next piece of the body.
    virtual void write(std::span<const std::byte> piece, error_code& ec) = 0;
    /// The body is complete.
    virtual void finish(error_code& ec) = 0;
    /// Discards what was written, for a retry.
    virtual void reset() = 0;
};

/// Collects the body in a string, refusing bodies over `limit` bytes (errc::too_large).
class memory_sink final : public body_sink {
public:
    explicit memory_sink(std::size_t limit = 64 * 1024 * 1024)
        : limit_(limit) {}
    CLOUDSTORE_DECL void start(unsigned, std::optional<std::uint64_t> length,
                               error_code& ec) override;
    CLOUDSTORE_DECL void write(std::span<const std::byte> piece, error_code& ec) override;
    void finish(error_code& ec) override { ec = {}; }
    void reset() override { body_.clear(); }
    const std::string& body() const noexcept { return body_; }
    std::string take() noexcept { return std::move(body_); }

private:
    std::string body_;
    std::size_t limit_;
};

/// Writes the body to a file (created or truncated at start; flushed at finish).
class file_sink final : public body_sink {
public:
    explicit file_sink(std::filesystem::path path)
        : path_(std::move(path)) {}
    CLOUDSTORE_DECL ~file_sink() override;
    file_sink(const file_sink&) = delete;
    file_sink& operator=(const file_sink&) = delete;
    CLOUDSTORE_DECL void start(unsigned, std::optional<std::uint64_t>, error_code& ec) override;
    CLOUDSTORE_DECL void write(std::span<const std::byte> piece, error_code& ec) override;
    CLOUDSTORE_DECL void finish(error_code& ec) override;
    CLOUDSTORE_DECL void reset() override;
    std::uint64_t written() const noexcept { return written_; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::uint64_t written_ = 0;
};

/// Hands each piece to a caller's function.
class callback_sink final : public body_sink {
public:
    using callback = std::function<void(std::span<const std::byte>, error_code&)>;
    explicit callback_sink(callback c)
        : callback_(std::move(c)) {}
    void start(unsigned, std::optional<std::uint64_t>, error_code& ec) override { ec = {}; }
    void write(std::span<const std::byte> piece, error_code& ec) override {
        ec = {};
        callback_(piece, ec);
    }
    void finish(error_code& ec) override { ec = {}; }
    void reset() override {}

private:
    callback callback_;
};

} // namespace cloudstore::http

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/http/impl/body.ipp>
#endif
