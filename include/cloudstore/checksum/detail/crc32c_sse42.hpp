// Internal: CRC-32C through the SSE4.2 CRC32 instruction over three interleaved streams. The
// instruction has a latency of three cycles and a throughput of one per cycle, so one stream
// tops out at a third of what the unit can do; three independent streams keep it busy, and
// their registers are merged by multiplying the earlier ones by x^(8 * bytes after them)
// through 4 x 256 tables built at compile time.
#pragma once

#include <cloudstore/checksum/detail/crc_math.hpp>
#include <cloudstore/detail/config.hpp>

#if CLOUDSTORE_X86_SIMD
#include <nmmintrin.h>

namespace cloudstore::detail::crc {

/// Tables that multiply a CRC-32C register by x^(8 * Bytes): shifts it over Bytes zero bytes.
template <std::size_t Bytes>
struct crc32c_shift {
    static constexpr std::array<std::array<std::uint32_t, 256>, 4> tables = [] {
        std::array<std::array<std::uint32_t, 256>, 4> t{};
        constexpr std::uint32_t op = crc32c_math::x_pow(std::uint64_t{8} * Bytes);
        for (unsigned b = 0; b < 4; ++b)
            for (std::uint32_t v = 0; v < 256; ++v)
                t[b][v] = crc32c_math::multiply(op, v << (8 * b));
        return t;
    }();
    static std::uint32_t apply(std::uint32_t reg) noexcept {
        return tables[0][reg & 0xff] ^ tables[1][(reg >> 8) & 0xff] ^
               tables[2][(reg >> 16) & 0xff] ^ tables[3][reg >> 24];
    }
};

CLOUDSTORE_TARGET("sse4.2")
inline std::uint64_t load64(const unsigned char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

/// One block of three streams of Stream bytes each.
template <std::size_t Stream>
CLOUDSTORE_TARGET("sse4.2")
inline std::uint32_t crc32c_three_way(std::uint32_t reg, const unsigned char* p) noexcept {
    std::uint64_t c0 = reg, c1 = 0, c2 = 0;
    for (std::size_t i = 0; i < Stream; i += 8) {
        c0 = _mm_crc32_u64(c0, load64(p + i));
        c1 = _mm_crc32_u64(c1, load64(p + Stream + i));
        c2 = _mm_crc32_u64(c2, load64(p + 2 * Stream + i));
    }
    return crc32c_shift<2 * Stream>::apply(static_cast<std::uint32_t>(c0)) ^
           crc32c_shift<Stream>::apply(static_cast<std::uint32_t>(c1)) ^
           static_cast<std::uint32_t>(c2);
}

/// Advances register `reg` over n bytes. Requires a CPU with SSE4.2.
CLOUDSTORE_TARGET("sse4.2")
inline std::uint32_t update_sse42(std::uint32_t reg, const unsigned char* p,
                                  std::size_t n) noexcept {
    // Long blocks amortise the merge; short ones keep 4 KiB updates on three streams.
    constexpr std::size_t long_stream = 2048;
    constexpr std::size_t short_stream = 256;
    while (n >= 3 * long_stream) {
        reg = crc32c_three_way<long_stream>(reg, p);
        p += 3 * long_stream;
        n -= 3 * long_stream;
    }
    while (n >= 3 * short_stream) {
        reg = crc32c_three_way<short_stream>(reg, p);
        p += 3 * short_stream;
        n -= 3 * short_stream;
    }
    std::uint64_t c = reg;
    for (; n >= 8; p += 8, n -= 8)
        c = _mm_crc32_u64(c, load64(p));
    reg = static_cast<std::uint32_t>(c);
    for (; n != 0; ++p, --n)
        reg = _mm_crc32_u8(reg, *p);
    return reg;
}

} // namespace cloudstore::detail::crc

#endif
