// The pieces of a SigV4 canonical request (AWS Signature Version 4, "Create a canonical
// request"), as non-template functions over string views: URI encoding, path normalisation,
// canonical query, canonical headers. Pure code: no I/O, no Asio, no Beast.
#pragma once

#include <cloudstore/detail/config.hpp>

#include <span>
#include <string>
#include <string_view>

namespace cloudstore::auth {

/// A name and a value: a query parameter (decoded text) or a header (as sent).
struct name_value {
    std::string_view name;
    std::string_view value;
};

/// How the canonical URI is formed from the request's (already encoded) path.
enum class uri_mode {
    /// S3: the path is signed exactly as sent: no normalisation, no second encoding.
    s3,
    /// The path percent-encoded once more (a `%20` on the wire is signed as `%2520`), without
    /// normalisation: a service that wants `//` and `.` segments signed as sent.
    double_encoded,
    /// Every other AWS service: dot segments and repeated slashes removed, then encoded once
    /// more as double_encoded.
    normalized_double,
};

/// Appends `in` percent-encoded as RFC 3986 says (unreserved `A-Za-z0-9-._~` kept, every other
/// byte as `%XX`, uppercase), keeping `/` when `keep_slash`. This is how an S3 object key
/// becomes its path (`keep_slash = true`) and how query names and values are encoded.
CLOUDSTORE_DECL void uri_encode(std::string& out, std::string_view in, bool keep_slash);
/// As above, returning the result.
CLOUDSTORE_DECL std::string uri_encode(std::string_view in, bool keep_slash);

/// Removes `.` and `..` segments and empty segments (`//`), keeping a leading slash and a
/// trailing slash when there are segments left: `/a/./b//c/` -> `/a/b/c/`, `/a/..` -> `/`.
CLOUDSTORE_DECL std::string normalize_path(std::string_view path);

/// Appends the canonical URI of `path` (the path as sent, percent-encoded) in `mode`.
/// An empty path is `/`.
CLOUDSTORE_DECL void append_canonical_uri(std::string& out, std::string_view path, uri_mode mode);

/// Appends the canonical query string of decoded parameters: each name and value
/// uri_encode()d, sorted by encoded name then encoded value, `name=value` joined by `&`, an
/// empty value kept as `name=`.
CLOUDSTORE_DECL void append_canonical_query(std::string& out, std::span<const name_value> params);

/// Appends the canonical headers block (`name:value\n` per distinct name: names lowercased,
/// values trimmed with inner runs of whitespace (space, tab, CR, LF, VT, FF) collapsed to one
/// space, repeated names'
/// values joined by `,` in the order given, sorted by name) and then, after a newline, the
/// signed headers list (`name;name`), to `signed_headers` as well.
CLOUDSTORE_DECL void append_canonical_headers(std::string& out, std::string& signed_headers,
                                              std::span<const name_value> headers);

} // namespace cloudstore::auth

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/auth/impl/sigv4_canonical.ipp>
#endif
