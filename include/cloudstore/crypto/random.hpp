// Cryptographically secure random bytes from OpenSSL's DRBG: nonces, multipart boundaries,
// jitter seeds.
#pragma once

#include <cloudstore/crypto/bytes.hpp>
#include <cloudstore/detail/config.hpp>
#include <cloudstore/error.hpp>

namespace cloudstore::crypto {

/// Fills `out` with secure random bytes. Thread-safe. If the generator cannot be seeded, sets
/// `ec` to `errc::crypto_failure` and leaves `out` unspecified.
CLOUDSTORE_DECL void random_bytes(std::span<std::byte> out, error_code& ec) noexcept;
/// As above; throws storage_error on failure.
CLOUDSTORE_DECL void random_bytes(std::span<std::byte> out);

} // namespace cloudstore::crypto

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/crypto/impl/random.ipp>
#endif
