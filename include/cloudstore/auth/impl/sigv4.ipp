#pragma once

#include <cloudstore/auth/detail/ascii.hpp>
#include <cloudstore/auth/sigv4.hpp>
#include <cloudstore/crypto/digest.hpp>
#include <cloudstore/crypto/hex.hpp>
#include <cloudstore/crypto/hmac.hpp>

#include <atomic>
#include <cstring>
#include <vector>

namespace cloudstore::auth {

namespace detail {

inline constexpr std::string_view sigv4_algorithm = "AWS4-HMAC-SHA256";

// Per-thread buffers: a warm thread signs without allocating, except for the result.
struct sigv4_scratch {
    std::string canonical_request;
    std::string headers_block;
    std::string signed_headers;
    std::string query;
    std::string string_to_sign;
    std::string scope;
    std::vector<name_value> headers;
    std::vector<name_value> params;
};

inline sigv4_scratch& scratch_buffers() {
    thread_local sigv4_scratch s;
    return s;
}

inline bool has_header(std::span<const name_value> headers, std::string_view name) noexcept {
    for (const auto& h : headers)
        if (iequals(h.name, name)) return true;
    return false;
}

inline void append_scope(std::string& out, amz_date when, std::string_view region,
                         std::string_view service) {
    out.append(when.date()).append("/").append(region).append("/").append(service);
    out.append("/aws4_request");
}

// The string to sign of `canonical_request`, in `s.string_to_sign`.
inline void make_string_to_sign(sigv4_scratch& s, amz_date when) {
    const auto hash = crypto::sha256(s.canonical_request);
    s.string_to_sign.clear();
    s.string_to_sign.append(sigv4_algorithm).append("\n").append(when.iso()).append("\n");
    s.string_to_sign.append(s.scope).append("\n");
    const std::size_t at = s.string_to_sign.size();
    s.string_to_sign.resize(at + 64);
    crypto::to_hex(hash, s.string_to_sign.data() + at);
}

inline void fill_trace(sigv4_trace* trace, const sigv4_scratch& s) {
    if (trace == nullptr) return;
    trace->canonical_request = s.canonical_request;
    trace->string_to_sign = s.string_to_sign;
}

} // namespace detail

CLOUDSTORE_DECL std::string_view sigv4_signed_headers::signature() const {
    return authorization.size() >= 64
               ? std::string_view(authorization).substr(authorization.size() - 64)
               : std::string_view();
}

CLOUDSTORE_DECL void sigv4_signature(const crypto::sha256_digest& key,
                                     std::string_view string_to_sign, char* out64) {
    struct keyed_context {
        crypto::hmac_sha256_context ctx;
        crypto::sha256_digest key{};
        bool keyed = false;
    };
    thread_local keyed_context t;
    if (!t.keyed || t.key != key) {
        t.ctx.init(key);
        t.key = key;
        t.keyed = true;
    }
    t.ctx.update(string_to_sign);
    crypto::to_hex(t.ctx.finish(), out64);
}

CLOUDSTORE_DECL sigv4_signer::sigv4_signer(aws_credentials credentials, std::string region,
                                           std::string service, sigv4_options options,
                                           signing_key_cache& cache)
    : credentials_(std::move(credentials))
    , region_(std::move(region))
    , service_(std::move(service))
    , options_(options)
    , cache_(&cache)
    , id_([] {
        static std::atomic<std::uint64_t> next{1};
        return next.fetch_add(1, std::memory_order_relaxed);
    }()) {}

CLOUDSTORE_DECL std::string sigv4_signer::scope(amz_date when) const {
    std::string out;
    detail::append_scope(out, when, region_, service_);
    return out;
}

CLOUDSTORE_DECL crypto::sha256_digest sigv4_signer::signing_key(amz_date when) const {
    // A signer never changes its credentials, region or service, so (id, date) names the key.
    struct memo {
        std::uint64_t signer = 0;
        char date[8] = {};
        crypto::sha256_digest key{};
    };
    thread_local memo last;
    if (last.signer == id_ && when.date() == std::string_view(last.date, 8)) return last.key;
    last.key = cache_->get(credentials_.secret_access_key, when.date(), region_, service_);
    last.signer = id_;
    std::memcpy(last.date, when.date().data(), 8);
    return last.key;
}

CLOUDSTORE_DECL sigv4_signed_headers sigv4_signer::sign_headers(const sigv4_request& request,
                                                                amz_date when,
                                                                sigv4_trace* trace) const {
    auto& s = detail::scratch_buffers();
    sigv4_signed_headers out;
    const bool has_token = !credentials_.session_token.empty();
    if (has_token) out.session_token = credentials_.session_token;

    // The caller's own X-Amz-Date and x-amz-content-sha256 rule, as they do for the server.
    std::string_view payload_hash =
        request.payload_hash.empty() ? payload::empty_sha256 : request.payload_hash;
    bool own_date = false, own_hash = false;
    s.headers.clear();
    for (const auto& h : request.headers) {
        if (detail::iequals(h.name, "authorization")) continue;
        if (detail::iequals(h.name, "x-amz-date")) {
            if (const auto parsed = amz_date::parse(h.value)) {
                when = *parsed;
                own_date = true;
            }
        } else if (detail::iequals(h.name, "x-amz-content-sha256")) {
            payload_hash = h.value;
            own_hash = true;
        }
        s.headers.push_back(h);
    }
    out.date = when;
    if (!detail::has_header(request.headers, "host")) s.headers.push_back({"host", request.host});
    if (!own_date && !detail::has_header(request.headers, "x-amz-date"))
        s.headers.push_back({"x-amz-date", out.date.iso()});
    if (has_token && options_.sign_session_token &&
        !detail::has_header(request.headers, "x-amz-security-token"))
        s.headers.push_back({"x-amz-security-token", credentials_.session_token});
    if (options_.content_sha256_header || own_hash) {
        out.content_sha256 = payload_hash;
        if (!own_hash) s.headers.push_back({"x-amz-content-sha256", payload_hash});
    }

    auto& creq = s.canonical_request;
    creq.clear();
    creq.append(request.method).push_back('\n');
    append_canonical_uri(creq, request.path, options_.uri);
    creq.push_back('\n');
    append_canonical_query(creq, request.query);
    creq.push_back('\n');
    s.signed_headers.clear();
    append_canonical_headers(creq, s.signed_headers, s.headers);
    creq.push_back('\n');
    creq.append(payload_hash);

    s.scope.clear();
    detail::append_scope(s.scope, when, region_, service_);
    detail::make_string_to_sign(s, when);
    detail::fill_trace(trace, s);

    auto& auth = out.authorization;
    auth.reserve(detail::sigv4_algorithm.size() + 40 + credentials_.access_key_id.size() +
                 s.scope.size() + s.signed_headers.size() + 64);
    auth.append(detail::sigv4_algorithm).append(" Credential=").append(credentials_.access_key_id);
    auth.append("/").append(s.scope).append(", SignedHeaders=").append(s.signed_headers);
    auth.append(", Signature=");
    const std::size_t at = auth.size();
    auth.resize(at + 64);
    sigv4_signature(signing_key(when), s.string_to_sign, auth.data() + at);
    return out;
}

CLOUDSTORE_DECL std::string sigv4_signer::presign(const sigv4_request& request, amz_date when,
                                                  std::chrono::seconds expires, error_code& ec,
                                                  std::string_view scheme,
                                                  sigv4_trace* trace) const {
    ec = {};
    if (expires < std::chrono::seconds(1) || expires > std::chrono::hours(24 * 7)) {
        ec = errc::invalid_argument;
        return {};
    }
    for (const auto& q : request.query) {
        for (const char* own :
             {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
              "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"}) {
            if (detail::iequals(q.name, own)) {
                ec = errc::invalid_argument;
                return {};
            }
        }
    }
    for (const auto& h : request.headers) {
        if (detail::iequals(h.name, "host") && !detail::iequals(h.value, request.host)) {
            ec = errc::invalid_argument;
            return {};
        }
    }
    // S3 presigned URLs always sign UNSIGNED-PAYLOAD; others the empty body's hash.
    const std::string_view payload_hash = !request.payload_hash.empty()  ? request.payload_hash
                                          : options_.uri == uri_mode::s3 ? payload::unsigned_payload
                                                                         : payload::empty_sha256;
    auto& s = detail::scratch_buffers();
    const bool sign_token = !credentials_.session_token.empty() && options_.sign_session_token;

    s.headers.clear();
    for (const auto& h : request.headers)
        if (!detail::iequals(h.name, "authorization")) s.headers.push_back(h);
    if (!detail::has_header(request.headers, "host")) s.headers.push_back({"host", request.host});
    s.headers_block.clear();
    s.signed_headers.clear();
    append_canonical_headers(s.headers_block, s.signed_headers, s.headers);

    s.scope.clear();
    detail::append_scope(s.scope, when, region_, service_);
    std::string credential;
    credential.reserve(credentials_.access_key_id.size() + 1 + s.scope.size());
    credential.append(credentials_.access_key_id).append("/").append(s.scope);
    char expires_text[24];
    const int expires_size = std::snprintf(expires_text, sizeof expires_text, "%lld",
                                           static_cast<long long>(expires.count()));
    s.params.assign(request.query.begin(), request.query.end());
    s.params.push_back({"X-Amz-Algorithm", detail::sigv4_algorithm});
    s.params.push_back({"X-Amz-Credential", credential});
    s.params.push_back({"X-Amz-Date", when.iso()});
    s.params.push_back(
        {"X-Amz-Expires", std::string_view(expires_text, static_cast<std::size_t>(expires_size))});
    s.params.push_back({"X-Amz-SignedHeaders", s.signed_headers});
    if (sign_token) s.params.push_back({"X-Amz-Security-Token", credentials_.session_token});
    s.query.clear();
    append_canonical_query(s.query, s.params);

    auto& creq = s.canonical_request;
    creq.clear();
    creq.append(request.method).push_back('\n');
    append_canonical_uri(creq, request.path, options_.uri);
    creq.push_back('\n');
    creq.append(s.query).push_back('\n');
    creq.append(s.headers_block).push_back('\n');
    creq.append(payload_hash);
    detail::make_string_to_sign(s, when);
    detail::fill_trace(trace, s);

    std::string url;
    url.reserve(scheme.size() + 3 + request.host.size() + request.path.size() + s.query.size() +
                100);
    url.append(scheme).append("://").append(request.host);
    url.append(request.path.empty() ? std::string_view("/") : request.path);
    url.append("?").append(s.query).append("&X-Amz-Signature=");
    const std::size_t at = url.size();
    url.resize(at + 64);
    sigv4_signature(signing_key(when), s.string_to_sign, url.data() + at);
    if (!credentials_.session_token.empty() && !sign_token) {
        url.append("&X-Amz-Security-Token=");
        uri_encode(url, credentials_.session_token, false);
    }
    return url;
}

} // namespace cloudstore::auth
