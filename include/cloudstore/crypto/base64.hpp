// Base64 (RFC 4648 §4) and base64url (§5) through OpenSSL's encoder: the wire form of
// Content-MD5, x-amz-checksum-*, x-goog-hash, and of JWT segments (base64url, unpadded).
#pragma once

#include <cloudstore/crypto/bytes.hpp>
#include <cloudstore/detail/config.hpp>
#include <cloudstore/error.hpp>

#include <string>
#include <vector>

namespace cloudstore::crypto {

/// Length of the padded base64 text of `n` bytes.
constexpr std::size_t base64_encoded_size(std::size_t n) noexcept {
    return (n + 2) / 3 * 4;
}

/// Writes the padded base64 of `in` to `out`, which must hold base64_encoded_size(in.size())
/// + 1 characters (OpenSSL writes a terminating NUL). Returns the text's length.
CLOUDSTORE_DECL std::size_t base64_encode(byte_view in, char* out) noexcept;

/// `in` as padded base64.
CLOUDSTORE_DECL std::string base64_encode(byte_view in);

/// `in` as base64url without padding (JWT, RFC 7515 §2).
CLOUDSTORE_DECL std::string base64url_encode(byte_view in);

/// Decodes padded base64, strictly: text whose length is not a multiple of 4, a character
/// outside the alphabet (whitespace included), misplaced padding, or a last group whose unused
/// bits are not zero (a non-canonical encoding, RFC 4648 §3.5) sets `ec` to
/// `errc::invalid_encoding` and returns an empty vector.
CLOUDSTORE_DECL std::vector<std::byte> base64_decode(std::string_view text, error_code& ec);

/// Decodes base64url, unpadded or fully padded (never a partial pad); errors as base64_decode.
CLOUDSTORE_DECL std::vector<std::byte> base64url_decode(std::string_view text, error_code& ec);

} // namespace cloudstore::crypto

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/crypto/impl/base64.ipp>
#endif
