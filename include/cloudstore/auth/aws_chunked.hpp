// aws-chunked framing for streamed S3 uploads, produced incrementally from any body stream:
//  - signed (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`): every chunk carries a signature chained
//    from the seed request's signature;
//  - unsigned with a trailer (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): plain chunks and, after
//    the last one, a checksum trailer such as `x-amz-checksum-crc32c`.
// Both need `Content-Encoding: aws-chunked` and `x-amz-decoded-content-length` (S3 refuses
// aws-chunked without it), so they serve bodies of known length; Content-Length is the
// encoded length below.
//
// The body goes out as: for each chunk, header + data + chunk_end; then the final chunk.
#pragma once

#include <cloudstore/auth/sigv4.hpp>
#include <cloudstore/crypto/bytes.hpp>
#include <cloudstore/detail/config.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace cloudstore::auth {

/// What follows each chunk's data.
inline constexpr std::string_view aws_chunk_end = "\r\n";

/// Chunk signatures for `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`. One per upload; not thread-safe
/// (each signature chains from the one before).
class aws_chunk_signer {
public:
    /// `seed_signature`: the hex signature of the seed request, signed by `signer` at `when`
    /// with payload hash `payload::streaming_signed`.
    CLOUDSTORE_DECL aws_chunk_signer(const sigv4_signer& signer, amz_date when,
                                     std::string_view seed_signature);

    /// The framing before `data`: `<hex size>;chunk-signature=<signature>\r\n`. Send `data`
    /// and aws_chunk_end after it. Empty `data` is the final chunk: use final_chunk().
    CLOUDSTORE_DECL std::string chunk_header(crypto::byte_view data, sigv4_trace* trace = nullptr);

    /// The final, empty chunk with its framing: `0;chunk-signature=<signature>\r\n\r\n`.
    CLOUDSTORE_DECL std::string final_chunk(sigv4_trace* trace = nullptr);

    /// The last signature produced (the seed's before the first chunk).
    std::string_view previous_signature() const noexcept { return {previous_, 64}; }

    /// Content-Length of a body of `decoded_length` bytes sent in chunks of `chunk_size`
    /// (the last one shorter), final chunk included.
    CLOUDSTORE_DECL static std::uint64_t encoded_length(std::uint64_t decoded_length,
                                                        std::uint64_t chunk_size) noexcept;

private:
    void sign(crypto::byte_view data, sigv4_trace* trace);

    crypto::sha256_digest key_;
    std::string prefix_; // "AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n"
    char previous_[64];
};

/// Framing for `STREAMING-UNSIGNED-PAYLOAD-TRAILER`. Stateless; the trailer's value (the
/// checksum of the whole body) comes from the caller, which computed it while sending.
struct aws_chunked_trailer {
    /// `<hex size>\r\n` before a chunk of `size` bytes (size > 0).
    CLOUDSTORE_DECL static std::string chunk_header(std::uint64_t size);
    /// `0\r\n<name>:<value>\r\n\r\n`, e.g. name `x-amz-checksum-crc32c`, value its base64.
    CLOUDSTORE_DECL static std::string final_chunk(std::string_view trailer_name,
                                                   std::string_view trailer_value);
    /// Content-Length of the whole encoded body.
    CLOUDSTORE_DECL static std::uint64_t encoded_length(std::uint64_t decoded_length,
                                                        std::uint64_t chunk_size,
                                                        std::string_view trailer_name,
                                                        std::size_t trailer_value_size) noexcept;
};

} // namespace cloudstore::auth

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/auth/impl/aws_chunked.ipp>
#endif
