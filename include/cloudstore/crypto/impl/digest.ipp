#pragma once

#include <cloudstore/crypto/digest.hpp>

namespace cloudstore::crypto {

CLOUDSTORE_DECL digest_context::digest_context(digest_algorithm algorithm)
    : ctx_(EVP_MD_CTX_new())
    , algorithm_(algorithm) {
    if (!ctx_) detail::openssl_fatal("EVP_MD_CTX_new");
    reset();
}

CLOUDSTORE_DECL const EVP_MD* digest_context::md() const noexcept {
    return algorithm_ == digest_algorithm::sha256 ? detail::sha256_md() : detail::md5_md();
}

CLOUDSTORE_DECL void digest_context::update(byte_view data) noexcept {
    if (data.empty()) return;
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1)
        detail::openssl_fatal("EVP_DigestUpdate");
}

CLOUDSTORE_DECL void digest_context::finish(std::byte* out) noexcept {
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), reinterpret_cast<unsigned char*>(out), &n) != 1)
        detail::openssl_fatal("EVP_DigestFinal_ex");
    reset();
}

CLOUDSTORE_DECL void digest_context::reset() noexcept {
    if (EVP_DigestInit_ex2(ctx_.get(), md(), nullptr) != 1)
        detail::openssl_fatal("EVP_DigestInit_ex2");
}

CLOUDSTORE_DECL sha256_digest sha256(byte_view data) noexcept {
    thread_local sha256_context ctx;
    ctx.update(data);
    return ctx.finish();
}

CLOUDSTORE_DECL md5_digest md5(byte_view data) noexcept {
    thread_local md5_context ctx;
    ctx.update(data);
    return ctx.finish();
}

} // namespace cloudstore::crypto
