// MD5 as a checksum: S3's Content-MD5 and GCS's md5Hash / x-goog-hash md5 (integrity only,
// never security).
#pragma once

#include <cloudstore/crypto/digest.hpp>

#include <string_view>

namespace cloudstore {

/// Incremental MD5 over OpenSSL; models checksum_algorithm. Not safe to share between threads.
/// Unavailable (aborts) when OpenSSL runs with a FIPS-only provider.
class md5 {
public:
    using digest_type = crypto::md5_digest;
    static constexpr std::string_view name = "md5";

    void update(crypto::byte_view data) noexcept { ctx_.update(data); }
    /// The digest of everything fed since the last finish() or reset(); then starts again.
    digest_type finish() noexcept { return ctx_.finish(); }
    void reset() noexcept { ctx_.reset(); }

private:
    crypto::md5_context ctx_;
};

} // namespace cloudstore
