// SHA-256 and MD5 over OpenSSL 3, incremental and one-shot, with the algorithm fetched once and
// the context reused (a fresh context per call costs more than hashing a short string).
#pragma once

#include <cloudstore/crypto/bytes.hpp>
#include <cloudstore/crypto/detail/openssl.hpp>
#include <cloudstore/detail/config.hpp>

#include <array>
#include <type_traits>

namespace cloudstore::crypto {

enum class digest_algorithm { sha256, md5 };

using sha256_digest = std::array<std::byte, 32>;
using md5_digest = std::array<std::byte, 16>;

/// An incremental digest. Move-only; not safe to share between threads (one per stream).
/// Operations never fail on any input; OpenSSL's own internal failures (out of memory, a
/// provider lacking the algorithm, such as MD5 under a FIPS-only configuration) abort.
class digest_context {
public:
    explicit digest_context(digest_algorithm algorithm);

    /// Feeds bytes; any length, any number of calls.
    void update(byte_view data) noexcept;
    void update(std::string_view text) noexcept { update(as_bytes(text)); }

    /// Writes the digest (32 bytes for SHA-256, 16 for MD5) to `out`, which must be at least
    /// size() bytes, and starts a new digest with the same context.
    void finish(std::byte* out) noexcept;

    /// Discards what was fed and starts again, reusing the context.
    void reset() noexcept;

    /// The digest's length in bytes.
    std::size_t size() const noexcept { return algorithm_ == digest_algorithm::sha256 ? 32 : 16; }

private:
    const EVP_MD* md() const noexcept;

    detail::md_ctx_ptr ctx_;
    digest_algorithm algorithm_;
};

/// A digest_context whose algorithm, and so its digest size, is part of its type.
template <digest_algorithm Algorithm>
class fixed_digest_context {
public:
    using digest_type =
        std::conditional_t<Algorithm == digest_algorithm::sha256, sha256_digest, md5_digest>;

    fixed_digest_context()
        : ctx_(Algorithm) {}
    void update(byte_view data) noexcept { ctx_.update(data); }
    void update(std::string_view text) noexcept { ctx_.update(text); }
    /// The digest of everything fed since the last finish() or reset(); then starts again.
    digest_type finish() noexcept {
        digest_type d;
        ctx_.finish(d.data());
        return d;
    }
    void reset() noexcept { ctx_.reset(); }

private:
    digest_context ctx_;
};

/// An incremental SHA-256.
using sha256_context = fixed_digest_context<digest_algorithm::sha256>;
/// An incremental MD5 (Content-MD5 and GCS's md5Hash; never for security).
using md5_context = fixed_digest_context<digest_algorithm::md5>;

/// One-shot SHA-256 on a context reused per thread. Thread-safe.
CLOUDSTORE_DECL sha256_digest sha256(byte_view data) noexcept;
inline sha256_digest sha256(std::string_view text) noexcept {
    return sha256(as_bytes(text));
}

/// One-shot MD5 on a context reused per thread. Thread-safe.
CLOUDSTORE_DECL md5_digest md5(byte_view data) noexcept;
inline md5_digest md5(std::string_view text) noexcept {
    return md5(as_bytes(text));
}

} // namespace cloudstore::crypto

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/crypto/impl/digest.ipp>
#endif
