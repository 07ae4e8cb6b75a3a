// MD5 as a checksum: S3's Content-MD5 and GCS's md5Hash / x-goog-hash md5 (integrity only,
// never security).
#pragma once

#include <cloudstore/checksum/detail/digest_checksum.hpp>

namespace cloudstore {

namespace detail {
struct md5_traits {
    static constexpr std::string_view name = "md5";
};
} // namespace detail

/// Incremental MD5 over OpenSSL; models checksum_algorithm. Not safe to share between threads.
/// Unavailable (aborts) when OpenSSL runs with a FIPS-only provider.
class md5 : public detail::digest_checksum<crypto::md5_context, detail::md5_traits> {};

} // namespace cloudstore
