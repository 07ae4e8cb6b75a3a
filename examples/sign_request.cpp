// SigV4 signing without any I/O: an Authorization header for an S3 GET, a presigned URL for a
// PUT with a signed Content-Type, and the aws-chunked framing of a streamed upload.
//
// Uses AWS's documented example credentials only (AKIAIOSFODNN7EXAMPLE), so nothing printed
// here is a secret.
#include <cloudstore/auth.hpp>
#include <cloudstore/checksum.hpp>

#include <cstdio>
#include <string>

using namespace cloudstore;
using namespace cloudstore::auth;

int main() {
    const sigv4_signer signer(
        {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""}, "us-east-1",
        "s3");
    const amz_date when = amz_date::from(std::chrono::system_clock::now());
    const std::string key = "audio/user 42/greeting+1.wav"; // a raw key: spaces and '+' too
    const std::string path = "/" + uri_encode(key, true);

    sigv4_request get;
    get.host = "examplebucket.s3.us-east-1.amazonaws.com";
    get.path = path;
    get.payload_hash = payload::unsigned_payload;
    const auto headers = signer.sign_headers(get, when);
    std::printf("GET %s\nHost: %.*s\n", path.c_str(), static_cast<int>(get.host.size()),
                get.host.data());
    std::printf("X-Amz-Date: %.*s\nx-amz-content-sha256: %.*s\nAuthorization: %s\n\n",
                static_cast<int>(headers.date.iso().size()), headers.date.iso().data(),
                static_cast<int>(headers.content_sha256.size()), headers.content_sha256.data(),
                headers.authorization.c_str());

    sigv4_request put = get;
    put.method = "PUT";
    const name_value content_type[] = {{"Content-Type", "audio/wav"}};
    put.headers = content_type;
    error_code ec;
    const auto url = signer.presign(put, when, std::chrono::hours(1), ec);
    std::printf("presigned PUT, one hour, Content-Type signed:\n%s\n\n", url.c_str());
    const auto refused = signer.presign(put, when, std::chrono::hours(24 * 8), ec);
    std::printf("presigning for 8 days: %s (%s)\n\n", refused.empty() ? "refused" : "accepted",
                ec.message().c_str());

    // aws-chunked with a CRC32C trailer: what a streamed upload of known length sends.
    const std::string body(100000, 'a');
    const std::size_t chunk = 65536;
    crc32c crc;
    std::uint64_t sent = 0;
    std::printf("aws-chunked body of %zu bytes in chunks of %zu:\n", body.size(), chunk);
    for (std::size_t at = 0; at < body.size(); at += chunk) {
        const auto piece = crypto::as_bytes(std::string_view(body).substr(at, chunk));
        crc.update(piece);
        const auto header = aws_chunked_trailer::chunk_header(piece.size());
        std::printf("  chunk header %-10s then %zu bytes, then CRLF\n",
                    header.substr(0, header.size() - 2).c_str(), piece.size());
        sent += header.size() + piece.size() + aws_chunk_end.size();
    }
    const auto last =
        aws_chunked_trailer::final_chunk("x-amz-checksum-crc32c", to_base64(crc.finish()));
    sent += last.size();
    std::printf("  final chunk with trailer: 0 / x-amz-checksum-crc32c:%s\n",
                last.substr(last.find(':') + 1, last.size() - last.find(':') - 5).c_str());
    std::printf("  Content-Length %llu, x-amz-decoded-content-length %zu (encoded length %llu)\n",
                static_cast<unsigned long long>(sent), body.size(),
                static_cast<unsigned long long>(aws_chunked_trailer::encoded_length(
                    body.size(), chunk, "x-amz-checksum-crc32c", 8)));
    return 0;
}
