// Internal: RAII owners for OpenSSL objects and the algorithms cloudstore fetches once.
#pragma once

#include <cloudstore/detail/config.hpp>

#include <openssl/evp.h>

#include <memory>

namespace cloudstore::crypto::detail {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
    void operator()(T* p) const noexcept { Free(p); }
};

using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, openssl_deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, openssl_deleter<EVP_MAC_CTX, EVP_MAC_CTX_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using md_ptr = std::unique_ptr<EVP_MD, openssl_deleter<EVP_MD, EVP_MD_free>>;
using mac_ptr = std::unique_ptr<EVP_MAC, openssl_deleter<EVP_MAC, EVP_MAC_free>>;

/// Aborts with a message naming the OpenSSL call. Used only where OpenSSL fails for reasons
/// no caller can act on (out of memory, a provider without SHA-256), never for bad input.
[[noreturn]] CLOUDSTORE_DECL void openssl_fatal(const char* what) noexcept;

/// SHA-256, MD5 and HMAC fetched once per process (OpenSSL 3's implicit fetch on every
/// EVP_DigestInit costs more than hashing a short string).
CLOUDSTORE_DECL const EVP_MD* sha256_md() noexcept;
CLOUDSTORE_DECL const EVP_MD* md5_md() noexcept;
CLOUDSTORE_DECL EVP_MAC* hmac_mac() noexcept;

} // namespace cloudstore::crypto::detail

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/crypto/impl/openssl.ipp>
#endif
