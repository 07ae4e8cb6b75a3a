// Internal: CRC by carry-less multiplication, generic over reflected CRCs of up to 64 bits, in
// two tiers: VPCLMULQDQ on 256-bit registers (eight lanes, 256 bytes a round; about 30 GB/s
// here) and PCLMULQDQ on 128-bit ones (four lanes, 64 bytes a round; about 8.5 GB/s). Lanes
// are folded ahead, merged into one, reduced to 16 bytes, and those bytes (plus any tail)
// finish through the tables, so no Barrett constants are needed and one body serves
// CRC-64/NVME and CRC-32 alike.
//
// Why the constants are x^(n-1): a lane holds 128 message bits whose first 64 (the low
// quadword, the reflected form of H) and last 64 (Lo) stand for H*x^64 + Lo. Moving the lane
// D bits ahead needs H*x^(D+64) + Lo*x^D mod P; a carry-less product of two reflected 64-bit
// values comes out multiplied by x once more, hence x^(D+63) and x^(D-1).
#pragma once

#include <cloudstore/checksum/detail/crc_math.hpp>
#include <cloudstore/detail/config.hpp>

#if CLOUDSTORE_X86_SIMD
#include <immintrin.h>

namespace cloudstore::detail::crc {

template <class Math>
struct fold_constants {
    static constexpr std::uint64_t for_high(unsigned bits) {
        return Math::fold_constant(bits + 63);
    }
    static constexpr std::uint64_t for_low(unsigned bits) { return Math::fold_constant(bits - 1); }
    static constexpr std::uint64_t k128[2] = {for_high(128), for_low(128)};
    static constexpr std::uint64_t k256[2] = {for_high(256), for_low(256)};
    static constexpr std::uint64_t k384[2] = {for_high(384), for_low(384)};
    static constexpr std::uint64_t k512[2] = {for_high(512), for_low(512)};
    static constexpr std::uint64_t k2048[2] = {for_high(2048), for_low(2048)};
};

CLOUDSTORE_TARGET("pclmul,sse2")
inline __m128i load_constants(const std::uint64_t (&k)[2]) noexcept {
    return _mm_set_epi64x(static_cast<long long>(k[1]), static_cast<long long>(k[0]));
}

CLOUDSTORE_TARGET("pclmul,sse2")
inline __m128i fold(__m128i lane, __m128i k, __m128i next) noexcept {
    const __m128i high = _mm_clmulepi64_si128(lane, k, 0x00);
    const __m128i low = _mm_clmulepi64_si128(lane, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(high, low), next);
}

CLOUDSTORE_TARGET("pclmul,sse2")
inline __m128i load128(const unsigned char* p) noexcept {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

/// The end of every fold: the last lane takes whole 16-byte blocks, then its own bytes and the
/// tail (under 16 bytes) go through the tables from a zero register.
template <class Math>
CLOUDSTORE_TARGET("pclmul,sse2")
typename Math::value_type finish_lane(__m128i x, const unsigned char* p, std::size_t n) noexcept {
    const __m128i k128 = load_constants(fold_constants<Math>::k128);
    while (n >= 16) {
        x = fold(x, k128, load128(p));
        p += 16;
        n -= 16;
    }
    alignas(16) unsigned char rest[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(rest), x);
    return Math::update_tables(Math::update_tables(0, rest, sizeof rest), p, n);
}

/// Advances register `reg` over n bytes. Requires a CPU with PCLMULQDQ.
template <class Math>
CLOUDSTORE_TARGET("pclmul,sse2")
typename Math::value_type
    update_pclmul(typename Math::value_type reg, const unsigned char* p, std::size_t n) noexcept {
    using k = fold_constants<Math>;
    if (n < 64) return Math::update_tables(reg, p, n);
    // The register joins the message by xor into its first bytes (the CRC is linear).
    __m128i x0 = _mm_xor_si128(load128(p), _mm_set_epi64x(0, static_cast<long long>(reg)));
    __m128i x1 = load128(p + 16);
    __m128i x2 = load128(p + 32);
    __m128i x3 = load128(p + 48);
    p += 64;
    n -= 64;
    const __m128i k512 = load_constants(k::k512);
    while (n >= 64) {
        x0 = fold(x0, k512, load128(p));
        x1 = fold(x1, k512, load128(p + 16));
        x2 = fold(x2, k512, load128(p + 32));
        x3 = fold(x3, k512, load128(p + 48));
        p += 64;
        n -= 64;
    }
    const __m128i k128 = load_constants(k::k128);
    __m128i x =
        fold(x0, load_constants(k::k384), fold(x1, load_constants(k::k256), fold(x2, k128, x3)));
    return finish_lane<Math>(x, p, n);
}

CLOUDSTORE_TARGET("avx2,vpclmulqdq,pclmul")
inline __m256i fold256(__m256i lanes, __m256i k, __m256i next) noexcept {
    const __m256i high = _mm256_clmulepi64_epi128(lanes, k, 0x00);
    const __m256i low = _mm256_clmulepi64_epi128(lanes, k, 0x11);
    return _mm256_xor_si256(_mm256_xor_si256(high, low), next);
}

CLOUDSTORE_TARGET("avx2,vpclmulqdq,pclmul")
inline __m256i load256(const unsigned char* p) noexcept {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

CLOUDSTORE_TARGET("avx2,vpclmulqdq,pclmul")
inline __m256i broadcast_constants(const std::uint64_t (&k)[2]) noexcept {
    return _mm256_set_epi64x(static_cast<long long>(k[1]), static_cast<long long>(k[0]),
                             static_cast<long long>(k[1]), static_cast<long long>(k[0]));
}

/// Advances register `reg` over n bytes. Requires a CPU with AVX2 and VPCLMULQDQ.
template <class Math>
CLOUDSTORE_TARGET("avx2,vpclmulqdq,pclmul")
typename Math::value_type
    update_vpclmul(typename Math::value_type reg, const unsigned char* p, std::size_t n) noexcept {
    using k = fold_constants<Math>;
    constexpr std::size_t lanes = 8;
    constexpr std::size_t round = 32 * lanes; // bytes a round: 2048 bits, hence k2048
    if (n < round) return update_pclmul<Math>(reg, p, n);
    __m256i x[lanes];
    for (std::size_t i = 0; i < lanes; ++i)
        x[i] = load256(p + 32 * i);
    x[0] = _mm256_xor_si256(x[0], _mm256_set_epi64x(0, 0, 0, static_cast<long long>(reg)));
    p += round;
    n -= round;
    const __m256i k_round = broadcast_constants(k::k2048);
    while (n >= round) {
        for (std::size_t i = 0; i < lanes; ++i)
            x[i] = fold256(x[i], k_round, load256(p + 32 * i));
        p += round;
        n -= round;
    }
    // Each lane sits 256 bits before the next: fold the running sum into each in turn.
    const __m256i k256 = broadcast_constants(k::k256);
    __m256i sum = x[0];
    for (std::size_t i = 1; i < lanes; ++i)
        sum = fold256(sum, k256, x[i]);
    // The two 128-bit halves of the sum: the low (earlier) one folds 128 bits into the high.
    const __m128i k128 = load_constants(k::k128);
    __m128i r = fold(_mm256_castsi256_si128(sum), k128, _mm256_extracti128_si256(sum, 1));
    return finish_lane<Math>(r, p, n);
}

} // namespace cloudstore::detail::crc

#endif
