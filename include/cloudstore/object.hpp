// What every storage says about objects: keys, byte ranges, an object's description.
// Shared by every storage policy, so a key that one store accepts every store accepts.
#pragma once

#include <cloudstore/detail/config.hpp>
#include <cloudstore/error.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cloudstore {

/// Longest key, in bytes (S3's and GCS's limit).
inline constexpr std::size_t max_key_size = 1024;

/// A key is 1 to 1024 bytes of well-formed UTF-8 (no overlong forms, no surrogates, nothing
/// above U+10FFFF). Any character is allowed, `/`, `.`, `..`, NUL and control characters
/// included: S3 stores them all, so every storage must. Returns errc::invalid_argument
/// (condition::invalid_argument) for anything else.
CLOUDSTORE_DECL error_code validate_key(std::string_view key) noexcept;

/// Bytes [offset, offset + length) of an object; no length means to the end. A zero length is
/// an empty result, answered without a request.
struct byte_range {
    std::uint64_t offset = 0;
    std::optional<std::uint64_t> length;

    bool empty() const noexcept { return length && *length == 0; }
    friend bool operator==(const byte_range&, const byte_range&) = default;
};

/// User metadata: names in lower case (as S3 and GCS return them), values as given.
using metadata_map = std::map<std::string, std::string>;

/// What a store knows of one object.
struct object_info {
    std::string key;
    std::uint64_t size = 0;
    /// The store's entity tag, quotes removed.
    std::string etag;
    std::chrono::system_clock::time_point last_modified{};
    std::string content_type;
    std::string cache_control;
    std::string content_disposition;
    std::string content_encoding;
    metadata_map metadata;
};

} // namespace cloudstore

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/impl/object.ipp>
#endif
