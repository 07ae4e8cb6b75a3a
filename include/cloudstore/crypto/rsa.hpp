// RSASSA-PKCS1-v1_5 with SHA-256 (RS256) from a PEM private key: GCS V4 signed URLs and OAuth2
// service-account JWTs. The key is parsed once and reused for every signature.
#pragma once

#include <cloudstore/crypto/bytes.hpp>
#include <cloudstore/crypto/detail/openssl.hpp>
#include <cloudstore/detail/config.hpp>
#include <cloudstore/error.hpp>

#include <vector>

namespace cloudstore::crypto {

/// An RSA private key. Cheap to move and to copy (copies share the parsed key). sign_sha256 is
/// safe to call from many threads at once on the same key.
class rsa_private_key {
public:
    /// An empty key; valid() is false and signing fails with `errc::invalid_key`.
    rsa_private_key() = default;

    /// Parses a PEM private key: PKCS#8 ("BEGIN PRIVATE KEY", as in a service-account JSON file)
    /// or PKCS#1 ("BEGIN RSA PRIVATE KEY"). Text that is not such a key, an encrypted key, or a
    /// key of another type sets `ec` to `errc::invalid_key` (condition invalid_configuration:
    /// keys come from configuration). Nothing of the key's content appears in any error.
    /// Never prompts for a passphrase. OpenSSL's error queue is left empty.
    static rsa_private_key from_pem(std::string_view pem, error_code& ec);
    /// As above; throws invalid_configuration_error instead.
    static rsa_private_key from_pem(std::string_view pem);

    bool valid() const noexcept { return key_ != nullptr; }

    /// The modulus size in bytes: the length of every signature.
    std::size_t signature_size() const noexcept;

    /// The RSASSA-PKCS1-v1_5 SHA-256 signature of `data` (deterministic: the same key and data
    /// always give the same bytes).
    std::vector<std::byte> sign_sha256(byte_view data, error_code& ec) const;
    std::vector<std::byte> sign_sha256(std::string_view text, error_code& ec) const {
        return sign_sha256(as_bytes(text), ec);
    }

    /// The key as an OpenSSL object, for verification in tests and for TLS client certificates.
    EVP_PKEY* native_handle() const noexcept { return key_.get(); }

private:
    std::shared_ptr<EVP_PKEY> key_;
};

} // namespace cloudstore::crypto

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/crypto/impl/rsa.ipp>
#endif
