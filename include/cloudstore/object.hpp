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
#include <vector>

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
    /// The store's full-object checksum, when it keeps one: its algorithm ("crc32c", ...) and
    /// wire form (base64). Empty for objects stored without one, and for composite checksums.
    std::string checksum_algorithm;
    std::string checksum;
};

/// Encryption at rest by the store, beyond its default.
struct server_encryption {
    enum class mode {
        none,          ///< the bucket's default
        store_managed, ///< keys the store manages (S3: SSE-S3, AES256)
        kms,           ///< a key of the provider's key service (S3: SSE-KMS)
        customer_key,  ///< a key the caller holds and sends with every request (S3: SSE-C)
    };
    mode what = mode::none;
    /// kms: the key's id or ARN; empty: the account's default key.
    std::string kms_key_id;
    /// customer_key: the 32 raw bytes of an AES-256 key. Sent only over TLS; never logged.
    std::string customer_key;
};

/// How an object is written.
struct put_options {
    std::string content_type; ///< empty: application/octet-stream
    std::string cache_control;
    std::string content_disposition;
    std::string content_encoding;
    metadata_map metadata;
    /// Create only: fail with condition::precondition_failed when the key exists.
    bool if_none_match = false;
    /// Replace only this version: fail with condition::precondition_failed when the object's
    /// ETag differs (condition::not_found when there is none).
    std::string if_match;
    /// The store's storage class ("STANDARD_IA", "GLACIER_IR", ... on S3); empty: the
    /// bucket's default. Stores without classes (memory, local) ignore it.
    std::string storage_class;
    /// A canned ACL ("private", "public-read", "bucket-owner-full-control", ...); empty: the
    /// bucket's default. Stores without ACLs (memory, local) ignore it.
    std::string acl;
    /// Stores that cannot encrypt (memory, local) refuse any mode but none with
    /// errc::not_supported rather than store the bytes in the clear.
    server_encryption encryption;
};

/// How an object is read.
struct get_options {
    std::optional<byte_range> range;
    /// Fail with condition::precondition_failed unless the ETag is this one.
    std::string if_match;
    /// Fail with condition::not_modified when the ETag is this one.
    std::string if_none_match;
    /// Fail with condition::not_modified unless the object changed after this time (to the
    /// second, as HTTP dates go). Ignored when if_none_match is set (RFC 9110, 13.2.2).
    std::optional<std::chrono::system_clock::time_point> if_modified_since;
    /// The key of an object stored with server_encryption::mode::customer_key (32 raw bytes).
    std::string customer_key;
};

/// One page of a listing request.
struct list_options {
    std::string prefix;
    /// When not empty, keys with it after the prefix are rolled up into common prefixes.
    std::string delimiter;
    /// List keys after this one (exclusive).
    std::string start_after;
    /// The previous page's next_token: this page continues that listing.
    std::string continuation;
    /// At most this many entries (objects and common prefixes) per page; 1..1000.
    std::size_t page_size = 1000;
};

/// One page of a listing, in key order.
struct list_page {
    std::vector<object_info> objects;
    std::vector<std::string> common_prefixes;
    /// Where the next page starts; empty on the last page.
    std::string next_token;
};

} // namespace cloudstore

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/impl/object.ipp>
#endif
