// SHA-256 as a checksum: S3's x-amz-checksum-sha256 (base64) and the SigV4 payload hash (hex).
#pragma once

#include <cloudstore/checksum/detail/digest_checksum.hpp>

namespace cloudstore {

namespace detail {
struct sha256_traits {
    static constexpr std::string_view name = "sha256";
};
} // namespace detail

/// Incremental SHA-256 over OpenSSL; models checksum_algorithm. Not safe to share between
/// threads.
class sha256 : public detail::digest_checksum<crypto::sha256_context, detail::sha256_traits> {};

} // namespace cloudstore
