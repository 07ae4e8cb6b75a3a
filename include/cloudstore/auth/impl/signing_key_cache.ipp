#pragma once

#include <cloudstore/auth/signing_key_cache.hpp>
#include <cloudstore/crypto/hmac.hpp>

#include <openssl/crypto.h>

namespace cloudstore::auth {

CLOUDSTORE_DECL signing_key_cache::~signing_key_cache() {
    for (auto& e : entries_)
        OPENSSL_cleanse(e.secret.data(), e.secret.size());
}

CLOUDSTORE_DECL signing_key_cache& signing_key_cache::global() {
    static signing_key_cache cache;
    return cache;
}

CLOUDSTORE_DECL crypto::sha256_digest signing_key_cache::derive(std::string_view secret,
                                                                std::string_view date,
                                                                std::string_view region,
                                                                std::string_view service) {
    std::string seed;
    seed.reserve(4 + secret.size());
    seed.append("AWS4").append(secret);
    auto key = crypto::hmac_sha256(crypto::as_bytes(seed), date);
    OPENSSL_cleanse(seed.data(), seed.size());
    key = crypto::hmac_sha256(key, region);
    key = crypto::hmac_sha256(key, service);
    return crypto::hmac_sha256(key, std::string_view("aws4_request"));
}

CLOUDSTORE_DECL crypto::sha256_digest signing_key_cache::get(std::string_view secret,
                                                             std::string_view date,
                                                             std::string_view region,
                                                             std::string_view service) {
    std::lock_guard lock(mutex_);
    ++clock_;
    for (auto& e : entries_) {
        if (e.date == date && e.secret == secret && e.region == region && e.service == service) {
            e.used = clock_;
            return e.key;
        }
    }
    // Derived under the lock: concurrent first requests for one key derive it once.
    const auto key = derive(secret, date, region, service);
    ++derivations_;
    if (entries_.size() >= capacity_ && !entries_.empty()) {
        auto oldest = entries_.begin();
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
            if (it->used < oldest->used) oldest = it;
        OPENSSL_cleanse(oldest->secret.data(), oldest->secret.size());
        entries_.erase(oldest);
    }
    entries_.push_back({std::string(secret), std::string(date), std::string(region),
                        std::string(service), key, clock_});
    return key;
}

} // namespace cloudstore::auth
