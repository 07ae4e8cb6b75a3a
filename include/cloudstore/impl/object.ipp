#pragma once

#include <cloudstore/object.hpp>

namespace cloudstore {

CLOUDSTORE_DECL error_code validate_key(std::string_view key) noexcept {
    if (key.empty() || key.size() > max_key_size) return errc::invalid_argument;
    // UTF-8 (RFC 3629): the lead byte gives the length and the range of the second byte.
    for (std::size_t i = 0; i < key.size();) {
        const auto b = static_cast<unsigned char>(key[i]);
        if (b < 0x80) {
            ++i;
            continue;
        }
        std::size_t n = 0;
        unsigned char lo = 0x80, hi = 0xbf;
        if (b >= 0xc2 && b <= 0xdf) {
            n = 2;
        } else if (b >= 0xe0 && b <= 0xef) {
            n = 3;
            if (b == 0xe0)
                lo = 0xa0; // no overlong 3-byte form
            else if (b == 0xed)
                hi = 0x9f; // no UTF-16 surrogates
        } else if (b >= 0xf0 && b <= 0xf4) {
            n = 4;
            if (b == 0xf0)
                lo = 0x90; // no overlong 4-byte form
            else if (b == 0xf4)
                hi = 0x8f; // nothing above U+10FFFF
        } else {
            return errc::invalid_argument; // a continuation byte first, C0, C1 or F5..FF
        }
        if (i + n > key.size()) return errc::invalid_argument;
        const auto second = static_cast<unsigned char>(key[i + 1]);
        if (second < lo || second > hi) return errc::invalid_argument;
        for (std::size_t k = 2; k < n; ++k) {
            const auto c = static_cast<unsigned char>(key[i + k]);
            if (c < 0x80 || c > 0xbf) return errc::invalid_argument;
        }
        i += n;
    }
    return {};
}

} // namespace cloudstore
