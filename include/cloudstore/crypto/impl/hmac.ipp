#pragma once

#include <cloudstore/crypto/hmac.hpp>

#include <openssl/core_names.h>
#include <openssl/params.h>

namespace cloudstore::crypto {

CLOUDSTORE_DECL hmac_sha256_context::hmac_sha256_context()
    : ctx_(EVP_MAC_CTX_new(detail::hmac_mac())) {
    if (!ctx_) detail::openssl_fatal("EVP_MAC_CTX_new");
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_END};
    if (EVP_MAC_CTX_set_params(ctx_.get(), params) != 1)
        detail::openssl_fatal("EVP_MAC_CTX_set_params(SHA256)");
}

CLOUDSTORE_DECL void hmac_sha256_context::init(byte_view key) noexcept {
    // A null key pointer means "keep the previous key" to EVP_MAC_init: an empty key needs a
    // real pointer.
    static const unsigned char empty = 0;
    const auto* k = key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
    if (EVP_MAC_init(ctx_.get(), k, key.size(), nullptr) != 1)
        detail::openssl_fatal("EVP_MAC_init");
}

CLOUDSTORE_DECL void hmac_sha256_context::update(byte_view data) noexcept {
    if (data.empty()) return;
    if (EVP_MAC_update(ctx_.get(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1)
        detail::openssl_fatal("EVP_MAC_update");
}

CLOUDSTORE_DECL sha256_digest hmac_sha256_context::finish() noexcept {
    sha256_digest out;
    std::size_t n = 0;
    if (EVP_MAC_final(ctx_.get(), reinterpret_cast<unsigned char*>(out.data()), &n, out.size()) !=
        1)
        detail::openssl_fatal("EVP_MAC_final");
    if (EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) != 1) detail::openssl_fatal("EVP_MAC_init");
    return out;
}

CLOUDSTORE_DECL sha256_digest hmac_sha256(byte_view key, byte_view data) noexcept {
    thread_local hmac_sha256_context ctx;
    ctx.init(key);
    ctx.update(data);
    return ctx.finish();
}

} // namespace cloudstore::crypto
