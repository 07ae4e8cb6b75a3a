// The SigV4 signing key, derived from the secret by four HMACs (date, region, service,
// "aws4_request"), cached per (secret, date, region, service): the derivation runs once per
// day per key, not once per request.
#pragma once

#include <cloudstore/crypto/digest.hpp>
#include <cloudstore/detail/config.hpp>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cloudstore::auth {

/// A small cache of signing keys, safe to use from any number of threads. Holds at most
/// `capacity` keys; the least recently used one goes first. Secrets are kept in memory only as
/// long as their entry lives, and wiped when it goes.
class signing_key_cache {
public:
    explicit signing_key_cache(std::size_t capacity = 16)
        : capacity_(capacity) {}
    CLOUDSTORE_DECL ~signing_key_cache();
    signing_key_cache(const signing_key_cache&) = delete;
    signing_key_cache& operator=(const signing_key_cache&) = delete;

    /// The process-wide cache every sigv4_signer uses unless given another.
    CLOUDSTORE_DECL static signing_key_cache& global();

    /// The signing key for `secret` on `date` ("YYYYMMDD") in `region` for `service`.
    CLOUDSTORE_DECL crypto::sha256_digest get(std::string_view secret, std::string_view date,
                                              std::string_view region, std::string_view service);

    /// The four-step derivation itself, uncached.
    CLOUDSTORE_DECL static crypto::sha256_digest derive(std::string_view secret,
                                                        std::string_view date,
                                                        std::string_view region,
                                                        std::string_view service);

    /// How many derivations this cache has run (for tests and metrics).
    std::uint64_t derivations() const noexcept {
        std::lock_guard lock(mutex_);
        return derivations_;
    }

private:
    struct entry {
        std::string secret, date, region, service;
        crypto::sha256_digest key;
        std::uint64_t used;
    };
    mutable std::mutex mutex_;
    std::vector<entry> entries_;
    std::size_t capacity_;
    std::uint64_t clock_ = 0;
    std::uint64_t derivations_ = 0;
};

} // namespace cloudstore::auth

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/auth/impl/signing_key_cache.ipp>
#endif
