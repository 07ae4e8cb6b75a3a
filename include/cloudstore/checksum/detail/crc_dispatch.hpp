// Internal: the update functions behind crc32c, crc32 and crc64nvme, and the choice between
// ISA-L (when the build has it), the x86 instructions the CPU offers, and the tables.
// Each takes and returns the CRC register (the value before the final inversion).
#pragma once

#include <cloudstore/checksum/detail/crc32c_sse42.hpp>
#include <cloudstore/checksum/detail/crc_math.hpp>
#include <cloudstore/checksum/detail/crc_pclmul.hpp>
#include <cloudstore/detail/config.hpp>

#if CLOUDSTORE_USE_ISAL
#include <isa-l/crc.h>
#endif

#include <algorithm>

namespace cloudstore::detail::crc {

#if CLOUDSTORE_X86_SIMD
struct cpu_features {
    bool sse42;
    bool pclmul;
    bool vpclmul; // VPCLMULQDQ on 256-bit registers (with AVX2)
};
inline const cpu_features& cpu() noexcept {
    static const cpu_features f = [] {
        __builtin_cpu_init();
        return cpu_features{
            __builtin_cpu_supports("sse4.2") != 0, __builtin_cpu_supports("pclmul") != 0,
            __builtin_cpu_supports("vpclmulqdq") != 0 && __builtin_cpu_supports("avx2") != 0};
    }();
    return f;
}
#endif

/// CRC-32C without ISA-L: SSE4.2 over three streams where the CPU has it, tables otherwise.
inline std::uint32_t crc32c_portable(std::uint32_t reg, const unsigned char* p,
                                     std::size_t n) noexcept {
#if CLOUDSTORE_X86_SIMD
    if (cpu().sse42) return update_sse42(reg, p, n);
#endif
    return crc32c_math::update_tables(reg, p, n);
}

/// Carry-less folding where the CPU has it (VPCLMULQDQ, then PCLMULQDQ), tables otherwise.
template <class Math>
typename Math::value_type update_clmul_or_tables(typename Math::value_type reg,
                                                 const unsigned char* p, std::size_t n) noexcept {
#if CLOUDSTORE_X86_SIMD
    if (cpu().vpclmul) return update_vpclmul<Math>(reg, p, n);
    if (cpu().pclmul) return update_pclmul<Math>(reg, p, n);
#endif
    return Math::update_tables(reg, p, n);
}

/// CRC-32 without ISA-L.
inline std::uint32_t crc32_portable(std::uint32_t reg, const unsigned char* p,
                                    std::size_t n) noexcept {
    return update_clmul_or_tables<crc32_math>(reg, p, n);
}

/// CRC-64/NVME: ISA-L 2.30 has none, so this is always cloudstore's own.
inline std::uint64_t crc64nvme_update(std::uint64_t reg, const unsigned char* p,
                                      std::size_t n) noexcept {
    return update_clmul_or_tables<crc64nvme_math>(reg, p, n);
}

#if CLOUDSTORE_USE_ISAL
/// CRC-32C through ISA-L. crc32_iscsi takes an int length and works on the register itself.
inline std::uint32_t crc32c_isal(std::uint32_t reg, const unsigned char* p,
                                 std::size_t n) noexcept {
    constexpr std::size_t max_chunk = std::size_t{1} << 30;
    while (n != 0) {
        const std::size_t chunk = std::min(n, max_chunk);
        reg = crc32_iscsi(const_cast<unsigned char*>(p), static_cast<int>(chunk), reg);
        p += chunk;
        n -= chunk;
    }
    return reg;
}

/// CRC-32 through ISA-L. crc32_gzip_refl inverts on entry and exit (it takes and returns the
/// CRC value), so the register is inverted around it.
inline std::uint32_t crc32_isal(std::uint32_t reg, const unsigned char* p, std::size_t n) noexcept {
    return ~crc32_gzip_refl(~reg, p, n);
}
#endif

inline std::uint32_t crc32c_update(std::uint32_t reg, const unsigned char* p,
                                   std::size_t n) noexcept {
#if CLOUDSTORE_USE_ISAL
    return crc32c_isal(reg, p, n);
#else
    return crc32c_portable(reg, p, n);
#endif
}

inline std::uint32_t crc32_update(std::uint32_t reg, const unsigned char* p,
                                  std::size_t n) noexcept {
#if CLOUDSTORE_USE_ISAL
    return crc32_isal(reg, p, n);
#else
    return crc32_portable(reg, p, n);
#endif
}

} // namespace cloudstore::detail::crc
