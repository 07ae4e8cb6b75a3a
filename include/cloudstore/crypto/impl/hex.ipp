#pragma once

#include <cloudstore/crypto/hex.hpp>

namespace cloudstore::crypto {

CLOUDSTORE_DECL char* to_hex(byte_view in, char* out) noexcept {
    constexpr char digits[] = "0123456789abcdef";
    for (std::byte b : in) {
        const auto v = std::to_integer<unsigned>(b);
        *out++ = digits[v >> 4];
        *out++ = digits[v & 0xf];
    }
    return out;
}

CLOUDSTORE_DECL std::string to_hex(byte_view in) {
    std::string out(in.size() * 2, '\0');
    to_hex(in, out.data());
    return out;
}

CLOUDSTORE_DECL std::vector<std::byte> from_hex(std::string_view hex, error_code& ec) {
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    ec = {};
    std::vector<std::byte> out;
    if (hex.size() % 2 != 0) {
        ec = errc::invalid_encoding;
        return out;
    }
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = nibble(hex[i]);
        const int lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            ec = errc::invalid_encoding;
            out.clear();
            return out;
        }
        out.push_back(static_cast<std::byte>((hi << 4) | lo));
    }
    return out;
}

} // namespace cloudstore::crypto
