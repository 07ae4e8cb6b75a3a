// HMAC-SHA256 (RFC 2104) over OpenSSL 3's EVP_MAC, with the algorithm fetched once and the
// context reused: the one-shot HMAC() and EVP_Q_mac calls build a context per call, which
// costs more than the MAC of a short string.
#pragma once

#include <cloudstore/crypto/bytes.hpp>
#include <cloudstore/crypto/detail/openssl.hpp>
#include <cloudstore/crypto/digest.hpp>
#include <cloudstore/detail/config.hpp>

namespace cloudstore::crypto {

/// An incremental HMAC-SHA256. Keyed once, then finish() leaves it ready for another message
/// with the same key, so a long-lived key (a SigV4 signing key) is set up once.
/// Move-only; not safe to share between threads. OpenSSL's internal failures abort.
class hmac_sha256_context {
public:
    /// An unkeyed context: call init() before update().
    hmac_sha256_context();
    explicit hmac_sha256_context(byte_view key)
        : hmac_sha256_context() {
        init(key);
    }

    /// Sets a new key (any length, empty included) and starts a message.
    void init(byte_view key) noexcept;
    void update(byte_view data) noexcept;
    void update(std::string_view text) noexcept { update(as_bytes(text)); }
    /// The MAC of everything fed since init() or the last finish(); then starts a new message
    /// with the same key.
    sha256_digest finish() noexcept;

private:
    detail::mac_ctx_ptr ctx_;
};

/// One-shot HMAC-SHA256 on a context reused per thread. Thread-safe.
CLOUDSTORE_DECL sha256_digest hmac_sha256(byte_view key, byte_view data) noexcept;
inline sha256_digest hmac_sha256(byte_view key, std::string_view text) noexcept {
    return hmac_sha256(key, as_bytes(text));
}

} // namespace cloudstore::crypto

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/crypto/impl/hmac.ipp>
#endif
