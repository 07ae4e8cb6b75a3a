// Lowercase hexadecimal, the form SigV4 and GCS V4 use for digests and signatures.
#pragma once

#include <cloudstore/crypto/bytes.hpp>
#include <cloudstore/detail/config.hpp>
#include <cloudstore/error.hpp>

#include <string>
#include <vector>

namespace cloudstore::crypto {

/// Writes 2 * in.size() lowercase hex digits to `out` (no terminating NUL). Returns the end.
CLOUDSTORE_DECL char* to_hex(byte_view in, char* out) noexcept;

/// `in` as lowercase hex.
CLOUDSTORE_DECL std::string to_hex(byte_view in);

/// Decodes hex (either case). An odd length or a non-hex character sets `ec` to
/// `errc::invalid_encoding` and returns an empty vector.
CLOUDSTORE_DECL std::vector<std::byte> from_hex(std::string_view hex, error_code& ec);

} // namespace cloudstore::crypto

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/crypto/impl/hex.ipp>
#endif
