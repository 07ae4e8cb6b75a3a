// CRC-32 (ISO-HDLC, zlib's polynomial): S3's x-amz-checksum-crc32.
#pragma once

#include <cloudstore/checksum/detail/basic_crc.hpp>
#include <cloudstore/checksum/detail/crc_dispatch.hpp>

namespace cloudstore {

namespace detail {
struct crc32_traits {
    using math = crc::crc32_math;
    static constexpr std::string_view name = "crc32";
    static auto update(math::value_type reg, const unsigned char* p, std::size_t n) noexcept {
        return crc::crc32_update(reg, p, n);
    }
};
} // namespace detail

/// CRC-32 (ISO-HDLC, zlib's polynomial): S3's x-amz-checksum-crc32.
/// Incremental (update, value, finish), combinable (combine); models checksum_algorithm.
/// Not safe to share between threads; copy freely.
class crc32 : public detail::basic_crc<detail::crc32_traits> {};

} // namespace cloudstore
