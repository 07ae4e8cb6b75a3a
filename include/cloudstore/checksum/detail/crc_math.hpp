// Internal: arithmetic of reflected CRCs (LSB-first, as CRC-32, CRC-32C and CRC-64/NVME are),
// generic over the register width. Everything here is constexpr so the tables and folding
// constants are built by the compiler.
//
// Representation (zlib's): a polynomial of degree < W is a W-bit value whose top bit is the
// coefficient of x^0 and whose bit 0 is that of x^(W-1). `poly` is the reflected generator
// without its x^W term.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace cloudstore::detail::crc {

template <class T, T Poly>
struct reflected {
    using value_type = T;
    static constexpr unsigned width = sizeof(T) * 8;
    static constexpr T poly = Poly;
    static constexpr T x0 = T{1} << (width - 1); // the polynomial 1

    /// a * b mod P.
    static constexpr T multiply(T a, T b) noexcept {
        T product = 0;
        for (T m = x0; m != 0; m >>= 1) {
            if (a & m) product ^= b;
            b = (b & 1) ? static_cast<T>((b >> 1) ^ poly) : static_cast<T>(b >> 1);
        }
        return product;
    }

    /// x^(2^k) mod P for k = 0..66 (enough for 8 * any 64-bit byte count): repeated squaring,
    /// as zlib's x2n_table.
    static constexpr std::array<T, 67> x2n = [] {
        std::array<T, 67> t{};
        t[0] = x0 >> 1; // x^1
        for (std::size_t k = 1; k < t.size(); ++k)
            t[k] = multiply(t[k - 1], t[k - 1]);
        return t;
    }();

    /// x^(n * 2^scale) mod P for any n: the operator that advances a register over n zero
    /// bits (scale 0) or n zero bytes (scale 3), without overflowing n * 8.
    static constexpr T x_pow(std::uint64_t n, unsigned scale = 0) noexcept {
        T p = x0;
        for (std::size_t k = scale; n != 0; n >>= 1, ++k)
            if (n & 1) p = multiply(x2n[k], p);
        return p;
    }

    /// The register after `bytes` zero bytes, starting from `reg`.
    static constexpr T shift(T reg, std::uint64_t bytes) noexcept {
        return multiply(x_pow(bytes, 3), reg);
    }

    /// The CRC of A followed by B from the CRCs of A and B and B's length. Holds for CRCs
    /// whose initial value and final xor are equal (all-ones for all three of cloudstore's).
    static constexpr T combine(T crc_a, T crc_b, std::uint64_t length_b) noexcept {
        return shift(crc_a, length_b) ^ crc_b;
    }

    /// Folding constant for PCLMULQDQ: x^n mod P as a 64-bit reflected value (bit 63 is x^0).
    static constexpr std::uint64_t fold_constant(std::uint64_t n) noexcept {
        return static_cast<std::uint64_t>(x_pow(n)) << (64 - width);
    }

    /// Slicing-by-8 tables: table[0] is the classic byte table; table[k] advances a byte that
    /// sits k bytes further back.
    static constexpr std::array<std::array<T, 256>, 8> tables = [] {
        std::array<std::array<T, 256>, 8> t{};
        for (unsigned i = 0; i < 256; ++i) {
            T c = static_cast<T>(i);
            for (int b = 0; b < 8; ++b)
                c = (c & 1) ? static_cast<T>((c >> 1) ^ poly) : c >> 1;
            t[0][i] = c;
        }
        for (unsigned i = 0; i < 256; ++i)
            for (std::size_t k = 1; k < 8; ++k)
                t[k][i] = static_cast<T>((t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff]);
        return t;
    }();

    /// Advances a register over `n` bytes, eight at a time through the tables. Portable.
    static T update_tables(T reg, const unsigned char* p, std::size_t n) noexcept {
        while (n >= 8) {
            std::uint64_t word;
            std::memcpy(&word, p, 8);
            if constexpr (width == 32) {
                word ^= reg;
            } else {
                word ^= static_cast<std::uint64_t>(reg);
            }
            // Little-endian load: byte 0 of the block is the low byte of `word`.
            reg = static_cast<T>(tables[7][word & 0xff] ^ tables[6][(word >> 8) & 0xff] ^
                                 tables[5][(word >> 16) & 0xff] ^ tables[4][(word >> 24) & 0xff] ^
                                 tables[3][(word >> 32) & 0xff] ^ tables[2][(word >> 40) & 0xff] ^
                                 tables[1][(word >> 48) & 0xff] ^ tables[0][word >> 56]);
            p += 8;
            n -= 8;
        }
        while (n-- != 0)
            reg = static_cast<T>((reg >> 8) ^ tables[0][(reg ^ *p++) & 0xff]);
        return reg;
    }
};

/// The reflected generators: CRC-32 (ISO-HDLC, zlib), CRC-32C (Castagnoli, iSCSI) and
/// CRC-64/NVME (the one S3 calls CRC64NVME).
using crc32_math = reflected<std::uint32_t, 0xEDB88320u>;
using crc32c_math = reflected<std::uint32_t, 0x82F63B78u>;
using crc64nvme_math = reflected<std::uint64_t, 0x9A6C9329AC4BC9B5ull>;

} // namespace cloudstore::detail::crc
