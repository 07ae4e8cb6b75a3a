#pragma once

#include <cloudstore/crypto/detail/openssl.hpp>

#include <openssl/err.h>

#include <cstdio>
#include <cstdlib>

namespace cloudstore::crypto {

namespace detail {

CLOUDSTORE_DECL void openssl_fatal(const char* what) noexcept {
    std::fprintf(stderr, "cloudstore: OpenSSL failed in %s (error %lu); cannot continue\n", what,
                 ERR_peek_last_error());
    std::abort();
}

// Function-local statics: fetched on first use, thread-safe, freed at exit before OpenSSL's
// own cleanup (which registered its atexit handler when the first fetch initialised it).
CLOUDSTORE_DECL const EVP_MD* sha256_md() noexcept {
    static const md_ptr md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
    if (!md) openssl_fatal("EVP_MD_fetch(SHA256)");
    return md.get();
}

CLOUDSTORE_DECL const EVP_MD* md5_md() noexcept {
    static const md_ptr md{EVP_MD_fetch(nullptr, "MD5", nullptr)};
    if (!md) openssl_fatal("EVP_MD_fetch(MD5)");
    return md.get();
}

CLOUDSTORE_DECL EVP_MAC* hmac_mac() noexcept {
    static const mac_ptr mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
    if (!mac) openssl_fatal("EVP_MAC_fetch(HMAC)");
    return mac.get();
}

} // namespace detail

} // namespace cloudstore::crypto
