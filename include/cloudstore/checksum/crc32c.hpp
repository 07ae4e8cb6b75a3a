// CRC-32C (Castagnoli): S3's x-amz-checksum-crc32c and GCS's x-goog-hash crc32c.
#pragma once

#include <cloudstore/checksum/detail/basic_crc.hpp>
#include <cloudstore/checksum/detail/crc_dispatch.hpp>

namespace cloudstore {

namespace detail {
struct crc32c_traits {
    using math = crc::crc32c_math;
    static constexpr std::string_view name = "crc32c";
    static auto update(math::value_type reg, const unsigned char* p, std::size_t n) noexcept {
        return crc::crc32c_update(reg, p, n);
    }
};
} // namespace detail

/// CRC-32C (Castagnoli): S3's x-amz-checksum-crc32c and GCS's x-goog-hash crc32c.
/// Incremental (update, value, finish), combinable (combine); models checksum_algorithm.
/// Not safe to share between threads; copy freely.
class crc32c : public detail::basic_crc<detail::crc32c_traits> {};

} // namespace cloudstore
