// SHA-256 as a checksum: S3's x-amz-checksum-sha256 (base64) and the SigV4 payload hash (hex).
#pragma once

#include <cloudstore/crypto/digest.hpp>

#include <string_view>

namespace cloudstore {

/// Incremental SHA-256 over OpenSSL; models checksum_algorithm. Not safe to share between
/// threads.
class sha256 {
public:
    using digest_type = crypto::sha256_digest;
    static constexpr std::string_view name = "sha256";

    void update(crypto::byte_view data) noexcept { ctx_.update(data); }
    /// The digest of everything fed since the last finish() or reset(); then starts again.
    digest_type finish() noexcept { return ctx_.finish(); }
    void reset() noexcept { ctx_.reset(); }

private:
    crypto::sha256_context ctx_;
};

} // namespace cloudstore
