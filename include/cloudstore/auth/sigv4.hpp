// AWS Signature Version 4: header signing (Authorization) and query signing (presigned URLs),
// for S3 and every other AWS service. Pure code over string views: no I/O, no Asio, no Beast.
// The adapter that signs a beast::http::request in place lives in http/.
#pragma once

#include <cloudstore/auth/amz_date.hpp>
#include <cloudstore/auth/signing_key_cache.hpp>
#include <cloudstore/auth/sigv4_canonical.hpp>
#include <cloudstore/detail/config.hpp>
#include <cloudstore/error.hpp>

#include <chrono>
#include <span>
#include <string>
#include <string_view>

namespace cloudstore::auth {

/// The payload hashes SigV4 knows besides the hex SHA-256 of the body.
namespace payload {
inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view streaming_signed = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view streaming_unsigned_trailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// SHA-256 of the empty string.
inline constexpr std::string_view empty_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
} // namespace payload

/// AWS credentials. The session token is empty for long-term keys.
struct aws_credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;
};

/// The parts of a request that SigV4 signs. Views only: the viewed data must outlive the call.
struct sigv4_request {
    std::string_view method = "GET";
    /// The Host header's value, with `:port` when the port is not the scheme's default.
    std::string_view host;
    /// The path exactly as sent on the request line, already percent-encoded (build it from a
    /// raw S3 key with `uri_encode(key, true)` after a `/`). Empty means `/`.
    std::string_view path = "/";
    /// Query parameters as decoded text; repeated names and empty values are kept.
    std::span<const name_value> query = {};
    /// Headers to sign besides those the signer adds (Host, X-Amz-Date, X-Amz-Security-Token,
    /// x-amz-content-sha256), which it adds only when absent here. One given here is signed as
    /// given and rules, as it does for the server: a parsable X-Amz-Date is the signing time
    /// (header signing), an x-amz-content-sha256 is the payload hash. An Authorization header
    /// is never signed (a re-signed retry may still carry the old one). Names in any case;
    /// repeated names are joined with `,`.
    std::span<const name_value> headers = {};
    /// Hex SHA-256 of the body, or one of the `payload::` values. Empty means the form's
    /// default: the empty body's hash, except for S3 presigned URLs, which are always
    /// `UNSIGNED-PAYLOAD`.
    std::string_view payload_hash = {};
};

/// How a signer signs: the service's rules. The defaults are S3's; for_service() gives every
/// other AWS service's.
struct sigv4_options {
    /// How the path becomes the canonical URI: S3 signs it as sent; other services normalise
    /// it and encode it once more.
    uri_mode uri = uri_mode::s3;
    /// Header signing adds and signs `x-amz-content-sha256` with the payload hash (S3 requires
    /// it; other services accept it).
    bool content_sha256_header = true;
    /// With a session token: sign it (the default; every current service expects this), or
    /// add it only after signing (the few services that want it outside the signature).
    bool sign_session_token = true;

    static constexpr sigv4_options for_s3() noexcept { return {}; }
    static constexpr sigv4_options for_service() noexcept {
        return {uri_mode::normalized_double, false, true};
    }
};

/// What header signing produces: the headers to add to the request, in this order.
struct sigv4_signed_headers {
    amz_date date;                      ///< X-Amz-Date.
    std::string_view session_token;     ///< X-Amz-Security-Token, when not empty.
    std::string_view content_sha256;    ///< x-amz-content-sha256, when not empty.
    std::string authorization;          ///< Authorization.
    std::string_view signature() const; ///< The hex signature inside `authorization`.
};

/// What a signature was computed over: filled when a caller asks (tests, debugging). Holds no
/// secret key or signing key, but the canonical request carries the session token when there
/// is one: treat a trace as secret and never log it.
struct sigv4_trace {
    std::string canonical_request;
    std::string string_to_sign;
};

/// Signs requests for one set of credentials, one region and one service.
/// Thread-safe: one signer may sign from many threads at once (const member functions).
/// Signing keys come from a signing_key_cache (the global one by default).
class sigv4_signer {
public:
    CLOUDSTORE_DECL sigv4_signer(aws_credentials credentials, std::string region,
                                 std::string service, sigv4_options options = {},
                                 signing_key_cache& cache = signing_key_cache::global());
    // Copies only: a moved-from signer would keep its id with emptied credentials, and the
    // per-thread signing-key memo keyed by that id would then answer for it.
    sigv4_signer(const sigv4_signer&) = default;
    sigv4_signer& operator=(const sigv4_signer&) = default;

    /// Signs with an Authorization header at time `when`.
    CLOUDSTORE_DECL sigv4_signed_headers sign_headers(const sigv4_request& request, amz_date when,
                                                      sigv4_trace* trace = nullptr) const;

    /// A presigned URL `scheme://host/path?...&X-Amz-Signature=...` valid for `expires` from
    /// `when`. `expires` must be 1 second to 7 days; anything else sets `ec` to
    /// `errc::invalid_argument` and returns an empty string, as do query parameters that the
    /// signer sets itself (X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders,
    /// -Signature, -Security-Token) and a Host header that differs from `request.host`.
    /// Headers given (for example Content-Type on a PUT) are signed and must then be sent.
    CLOUDSTORE_DECL std::string presign(const sigv4_request& request, amz_date when,
                                        std::chrono::seconds expires, error_code& ec,
                                        std::string_view scheme = "https",
                                        sigv4_trace* trace = nullptr) const;

    /// The credential scope `YYYYMMDD/region/service/aws4_request`.
    CLOUDSTORE_DECL std::string scope(amz_date when) const;

    /// The signing key for `when`'s date, from the cache.
    CLOUDSTORE_DECL crypto::sha256_digest signing_key(amz_date when) const;

    const aws_credentials& credentials() const noexcept { return credentials_; }
    std::string_view region() const noexcept { return region_; }
    std::string_view service() const noexcept { return service_; }
    const sigv4_options& options() const noexcept { return options_; }

private:
    aws_credentials credentials_;
    std::string region_;
    std::string service_;
    sigv4_options options_;
    signing_key_cache* cache_;
    // Unique per signer for the life of the process: keys the per-thread memo of the last
    // signing key, so a hit costs neither the cache's lock nor comparing the secret.
    std::uint64_t id_;
};

/// The hex HMAC-SHA256 of `string_to_sign` under `key`, on a per-thread context that keeps
/// the key's inner and outer pads between calls with the same key. Writes 64 characters.
CLOUDSTORE_DECL void sigv4_signature(const crypto::sha256_digest& key,
                                     std::string_view string_to_sign, char* out64);

} // namespace cloudstore::auth

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/auth/impl/sigv4.ipp>
#endif
