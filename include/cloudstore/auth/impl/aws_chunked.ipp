#pragma once

#include <cloudstore/auth/aws_chunked.hpp>
#include <cloudstore/crypto/digest.hpp>
#include <cloudstore/crypto/hex.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace cloudstore::auth {

namespace detail {

inline std::string hex_size(std::uint64_t n) {
    char text[20];
    const int size = std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(n));
    return std::string(text, static_cast<std::size_t>(size));
}

inline std::uint64_t hex_digits(std::uint64_t n) noexcept {
    std::uint64_t digits = 1;
    while (n >= 16) {
        n /= 16;
        ++digits;
    }
    return digits;
}

// Sum over the chunks of a body of `decoded` bytes in `chunk_size` pieces of
// (hex digits of the size + `overhead`), plus the data itself.
inline std::uint64_t chunked_length(std::uint64_t decoded, std::uint64_t chunk_size,
                                    std::uint64_t overhead) noexcept {
    if (chunk_size == 0) chunk_size = decoded == 0 ? 1 : decoded;
    const std::uint64_t full = decoded / chunk_size;
    const std::uint64_t last = decoded % chunk_size;
    std::uint64_t total = decoded + full * (hex_digits(chunk_size) + overhead);
    if (last != 0) total += hex_digits(last) + overhead;
    return total;
}

} // namespace detail

CLOUDSTORE_DECL aws_chunk_signer::aws_chunk_signer(const sigv4_signer& signer, amz_date when,
                                                   std::string_view seed_signature)
    : key_(signer.signing_key(when)) {
    prefix_.append("AWS4-HMAC-SHA256-PAYLOAD\n").append(when.iso()).append("\n");
    prefix_.append(signer.scope(when)).append("\n");
    std::memset(previous_, '0', sizeof previous_);
    std::memcpy(previous_, seed_signature.data(), std::min<std::size_t>(64, seed_signature.size()));
}

inline void aws_chunk_signer::sign(crypto::byte_view data, sigv4_trace* trace) {
    std::string sts;
    sts.reserve(prefix_.size() + 64 * 3 + 3);
    sts.append(prefix_).append(previous_, 64).append("\n");
    sts.append(payload::empty_sha256).append("\n");
    const std::size_t at = sts.size();
    sts.resize(at + 64);
    crypto::to_hex(crypto::sha256(data), sts.data() + at);
    sigv4_signature(key_, sts, previous_);
    if (trace != nullptr) trace->string_to_sign = sts;
}

CLOUDSTORE_DECL std::string aws_chunk_signer::chunk_header(crypto::byte_view data,
                                                           sigv4_trace* trace) {
    sign(data, trace);
    std::string out = detail::hex_size(data.size());
    out.append(";chunk-signature=").append(previous_, 64).append("\r\n");
    return out;
}

CLOUDSTORE_DECL std::string aws_chunk_signer::final_chunk(sigv4_trace* trace) {
    std::string out = chunk_header({}, trace);
    out.append("\r\n");
    return out;
}

CLOUDSTORE_DECL std::uint64_t aws_chunk_signer::encoded_length(std::uint64_t decoded_length,
                                                               std::uint64_t chunk_size) noexcept {
    // Each chunk: hex size + ";chunk-signature=" (17) + 64 + "\r\n" + data + "\r\n".
    constexpr std::uint64_t overhead = 17 + 64 + 2 + 2;
    return detail::chunked_length(decoded_length, chunk_size, overhead) + 1 + overhead;
}

CLOUDSTORE_DECL std::string aws_chunked_trailer::chunk_header(std::uint64_t size) {
    return detail::hex_size(size).append("\r\n");
}

CLOUDSTORE_DECL std::string aws_chunked_trailer::final_chunk(std::string_view trailer_name,
                                                             std::string_view trailer_value) {
    std::string out = "0\r\n";
    out.append(trailer_name).append(":").append(trailer_value).append("\r\n\r\n");
    return out;
}

CLOUDSTORE_DECL std::uint64_t
aws_chunked_trailer::encoded_length(std::uint64_t decoded_length, std::uint64_t chunk_size,
                                    std::string_view trailer_name,
                                    std::size_t trailer_value_size) noexcept {
    // Each chunk: hex size + "\r\n" + data + "\r\n"; then "0\r\n" name ":" value "\r\n\r\n".
    return detail::chunked_length(decoded_length, chunk_size, 4) + 3 + trailer_name.size() + 1 +
           trailer_value_size + 4;
}

} // namespace cloudstore::auth
