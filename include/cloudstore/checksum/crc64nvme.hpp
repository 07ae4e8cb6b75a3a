// CRC-64/NVME: S3's x-amz-checksum-crc64nvme, its default for new uploads.
#pragma once

#include <cloudstore/checksum/detail/basic_crc.hpp>
#include <cloudstore/checksum/detail/crc_dispatch.hpp>

namespace cloudstore {

namespace detail {
struct crc64nvme_traits {
    using math = crc::crc64nvme_math;
    static constexpr std::string_view name = "crc64nvme";
    static auto update(math::value_type reg, const unsigned char* p, std::size_t n) noexcept {
        return crc::crc64nvme_update(reg, p, n);
    }
};
} // namespace detail

/// CRC-64/NVME: S3's x-amz-checksum-crc64nvme, its default for new uploads.
/// Incremental (update, value, finish), combinable (combine); models checksum_algorithm.
/// Not safe to share between threads; copy freely.
class crc64nvme : public detail::basic_crc<detail::crc64nvme_traits> {};

} // namespace cloudstore
