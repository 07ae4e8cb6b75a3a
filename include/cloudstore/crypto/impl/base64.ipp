#pragma once

#include <cloudstore/crypto/base64.hpp>

#include <openssl/evp.h>

#include <algorithm>

namespace cloudstore::crypto {

namespace detail {

// EVP_EncodeBlock and EVP_DecodeBlock take an int length: feed them whole groups of at most
// this many bytes (a multiple of 3 for encoding, its base64 length for decoding).
inline constexpr std::size_t base64_max_group = std::size_t{3} << 28;

inline bool is_base64_char(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

inline unsigned base64_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return static_cast<unsigned>(c - 'A');
    if (c >= 'a' && c <= 'z') return static_cast<unsigned>(c - 'a' + 26);
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0' + 52);
    return c == '+' ? 62u : 63u;
}

// Checks the RFC 4648 alphabet and padding strictly, and that the bits a padded group leaves
// unused are zero (section 3.5), so each byte string has exactly one accepted encoding;
// EVP_DecodeBlock alone accepts whitespace and ignores those bits.
inline bool valid_base64(std::string_view text, std::size_t& padding) noexcept {
    padding = 0;
    if (text.size() % 4 != 0) return false;
    if (!text.empty() && text.back() == '=') ++padding;
    if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
    const std::string_view body = text.substr(0, text.size() - padding);
    if (!std::all_of(body.begin(), body.end(), is_base64_char)) return false;
    if (padding == 0) return true;
    const unsigned unused_mask = padding == 2 ? 0x0f : 0x03;
    return (base64_value(body.back()) & unused_mask) == 0;
}

} // namespace detail

CLOUDSTORE_DECL std::size_t base64_encode(byte_view in, char* out) noexcept {
    std::size_t written = 0;
    while (!in.empty()) {
        const std::size_t n = std::min(in.size(), detail::base64_max_group);
        written += static_cast<std::size_t>(EVP_EncodeBlock(
            reinterpret_cast<unsigned char*>(out + written),
            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(n)));
        in = in.subspan(n);
    }
    out[written] = '\0';
    return written;
}

CLOUDSTORE_DECL std::string base64_encode(byte_view in) {
    std::string out(base64_encoded_size(in.size()) + 1, '\0');
    out.resize(base64_encode(in, out.data()));
    return out;
}

CLOUDSTORE_DECL std::string base64url_encode(byte_view in) {
    std::string out = base64_encode(in);
    while (!out.empty() && out.back() == '=')
        out.pop_back();
    std::replace(out.begin(), out.end(), '+', '-');
    std::replace(out.begin(), out.end(), '/', '_');
    return out;
}

CLOUDSTORE_DECL std::vector<std::byte> base64_decode(std::string_view text, error_code& ec) {
    ec = {};
    std::vector<std::byte> out;
    std::size_t padding = 0;
    if (!detail::valid_base64(text, padding)) {
        ec = errc::invalid_encoding;
        return out;
    }
    out.resize(text.size() / 4 * 3);
    std::size_t written = 0;
    while (!text.empty()) {
        const std::size_t n = std::min(text.size(), detail::base64_max_group / 3 * 4);
        const int got = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data() + written),
                                        reinterpret_cast<const unsigned char*>(text.data()),
                                        static_cast<int>(n));
        if (got < 0) {
            ec = errc::invalid_encoding;
            out.clear();
            return out;
        }
        written += static_cast<std::size_t>(got);
        text.remove_prefix(n);
    }
    out.resize(written - padding);
    return out;
}

CLOUDSTORE_DECL std::vector<std::byte> base64url_decode(std::string_view text, error_code& ec) {
    std::string standard(text);
    for (char& c : standard) {
        if (c == '+' || c == '/') { // not in the base64url alphabet
            ec = errc::invalid_encoding;
            return {};
        }
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
    }
    // Unpadded, or padded in full; never a partial pad ("QQ=").
    const auto pad = standard.find('=');
    if (standard.size() % 4 == 1 || (pad != std::string::npos && standard.size() % 4 != 0)) {
        ec = errc::invalid_encoding;
        return {};
    }
    while (standard.size() % 4 != 0)
        standard.push_back('=');
    return base64_decode(standard, ec);
}

} // namespace cloudstore::crypto
