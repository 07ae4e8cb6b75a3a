#pragma once

#include <cloudstore/crypto/rsa.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <boost/throw_exception.hpp>

#include <climits>

namespace cloudstore::crypto {

namespace detail {
// Refuses every passphrase request, so an encrypted key fails instead of reading a terminal.
inline int refuse_passphrase(char*, int, int, void*) {
    return -1;
}
} // namespace detail

CLOUDSTORE_DECL rsa_private_key rsa_private_key::from_pem(std::string_view pem, error_code& ec) {
    ec = {};
    rsa_private_key out;
    if (pem.empty() || pem.size() > INT_MAX || pem.find("-----BEGIN") == std::string_view::npos) {
        ec = errc::invalid_key;
        return out;
    }
    std::unique_ptr<BIO, detail::openssl_deleter<BIO, BIO_free_all>> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) detail::openssl_fatal("BIO_new_mem_buf");
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, detail::refuse_passphrase, nullptr);
    // OpenSSL's error queue may name the failing ASN.1 field; it never leaves this function
    // (the queue is per thread and later calls must not see it).
    ERR_clear_error();
    if (key == nullptr) {
        ec = errc::invalid_key;
        return out;
    }
    out.key_.reset(key, detail::openssl_deleter<EVP_PKEY, EVP_PKEY_free>{});
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        ec = errc::invalid_key;
        out.key_.reset();
    }
    return out;
}

CLOUDSTORE_DECL rsa_private_key rsa_private_key::from_pem(std::string_view pem) {
    error_code ec;
    auto key = from_pem(pem, ec);
    if (ec) throw_storage_error(ec);
    return key;
}

CLOUDSTORE_DECL std::size_t rsa_private_key::signature_size() const noexcept {
    return key_ ? static_cast<std::size_t>(EVP_PKEY_get_size(key_.get())) : 0;
}

CLOUDSTORE_DECL std::vector<std::byte> rsa_private_key::sign_sha256(byte_view data,
                                                                    error_code& ec) const {
    ec = {};
    std::vector<std::byte> sig;
    if (!key_) {
        ec = errc::invalid_key;
        return sig;
    }
    detail::md_ctx_ptr ctx(EVP_MD_CTX_new());
    if (!ctx) detail::openssl_fatal("EVP_MD_CTX_new");
    std::size_t len = signature_size();
    sig.resize(len);
    // PKCS#1 v1.5 padding is the default for RSA keys.
    if (EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key_.get(),
                              nullptr) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
        ERR_clear_error();
        ec = errc::crypto_failure;
        sig.clear();
        return sig;
    }
    sig.resize(len);
    return sig;
}

} // namespace cloudstore::crypto
