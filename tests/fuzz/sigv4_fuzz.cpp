// libFuzzer target: random request parts through the SigV4 canonicaliser and signer, under
// ASan+UBSan (clang tree only). Besides "no crash, no sanitizer report", invariants hold:
//  - canonicalising a canonical query or header block again changes nothing;
//  - the canonical query is sorted by name, then value;
//  - path normalisation is idempotent;
//  - signatures are 64 lowercase hex digits and presigned URLs start with scheme://host.
#include <cloudstore/auth/sigv4.hpp>

#include <fuzzer/FuzzedDataProvider.h>
#include <raw_request.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace cloudstore::auth;

namespace {

void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

std::vector<std::pair<std::string, std::string>> split_query(const std::string& canonical) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t at = 0;
    while (at < canonical.size()) {
        const auto amp = std::min(canonical.find('&', at), canonical.size());
        const std::string part = canonical.substr(at, amp - at);
        const auto eq = part.find('=');
        require(eq != std::string::npos, "every canonical query part has '='");
        out.emplace_back(part.substr(0, eq), part.substr(eq + 1));
        at = amp + 1;
    }
    return out;
}

bool is_hex64(std::string_view s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    std::vector<std::pair<std::string, std::string>> query, headers;
    const std::size_t params = in.ConsumeIntegralInRange<std::size_t>(0, 6);
    for (std::size_t i = 0; i < params; ++i)
        query.emplace_back(in.ConsumeRandomLengthString(24), in.ConsumeRandomLengthString(24));
    const std::size_t header_count = in.ConsumeIntegralInRange<std::size_t>(0, 6);
    for (std::size_t i = 0; i < header_count; ++i) {
        std::string name = in.ConsumeRandomLengthString(16);
        // Header names are tokens: no ':' or line breaks (a transport refuses them earlier).
        std::erase_if(name, [](char c) { return c == ':' || c == '\n' || c == '\r'; });
        std::string value = in.ConsumeRandomLengthString(32);
        headers.emplace_back(std::move(name), std::move(value));
    }
    const std::string path = in.ConsumeRandomLengthString(48);
    const std::string method = in.ConsumeRandomLengthString(8);
    const std::string host = in.ConsumeRandomLengthString(24);
    const auto mode = static_cast<uri_mode>(in.ConsumeIntegralInRange<int>(0, 2));
    const std::string secret = in.ConsumeRandomLengthString(40);
    const std::string token = in.ConsumeRandomLengthString(20);
    const long long expires = in.ConsumeIntegralInRange<long long>(-10, 700000);

    std::vector<name_value> q, h;
    for (const auto& [n, v] : query)
        q.push_back({n, v});
    for (const auto& [n, v] : headers)
        h.push_back({n, v});

    // Canonical query: sorted, and a fixed point once decoded and encoded again.
    std::string canonical_query;
    append_canonical_query(canonical_query, q);
    const auto parts = split_query(canonical_query);
    require(parts.size() == query.size(), "one canonical part per parameter");
    for (std::size_t i = 1; i < parts.size(); ++i)
        require(parts[i - 1] <= parts[i], "canonical query sorted by name, then value");
    std::vector<std::pair<std::string, std::string>> decoded;
    for (const auto& [n, v] : parts)
        decoded.emplace_back(cloudstore::test::percent_decode(n),
                             cloudstore::test::percent_decode(v));
    std::vector<name_value> again;
    for (const auto& [n, v] : decoded)
        again.push_back({n, v});
    std::string canonical_again;
    append_canonical_query(canonical_again, again);
    require(canonical_again == canonical_query, "canonical query is a fixed point");

    // Canonical headers: feeding the canonical lines back gives the same block.
    std::string block, signed_headers;
    append_canonical_headers(block, signed_headers, h);
    if (!h.empty()) {
        std::vector<std::pair<std::string, std::string>> lines;
        std::size_t at = 0;
        while (true) {
            const auto nl = block.find('\n', at);
            if (nl == at) break; // the blank line after the headers
            const std::string line = block.substr(at, nl - at);
            const auto colon = line.find(':');
            lines.emplace_back(line.substr(0, colon), line.substr(colon + 1));
            at = nl + 1;
        }
        std::vector<name_value> fed;
        for (const auto& [n, v] : lines)
            fed.push_back({n, v});
        std::string block_again, signed_again;
        append_canonical_headers(block_again, signed_again, fed);
        require(block_again == block && signed_again == signed_headers,
                "canonical headers are a fixed point");
    }

    // Path normalisation is idempotent; the canonical URI is never empty.
    const std::string normalized = normalize_path(path);
    require(normalize_path(normalized) == normalized, "normalize_path idempotent");
    std::string uri;
    append_canonical_uri(uri, path, mode);
    require(!uri.empty(), "canonical URI never empty");

    // Signing never fails on any parts; presigning fails only on the expiry.
    const sigv4_signer signer({"AKIDEXAMPLE", secret, token}, "us-east-1", "s3",
                              {mode, true, true});
    const amz_date when = *amz_date::parse("20261124T120000Z");
    const sigv4_request request{method, host, path, q, h, payload::unsigned_payload};
    const auto out = signer.sign_headers(request, when);
    require(is_hex64(out.signature()), "header signature is 64 hex digits");
    cloudstore::error_code ec;
    const std::string url = signer.presign(request, when, std::chrono::seconds(expires), ec);
    const auto iequal = [](std::string_view a, std::string_view b) {
        return a.size() == b.size() &&
               std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                   return std::tolower(static_cast<unsigned char>(x)) ==
                          std::tolower(static_cast<unsigned char>(y));
               });
    };
    bool clash = false;
    for (const auto& [n, v] : query)
        for (const char* own :
             {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
              "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"})
            clash = clash || iequal(n, own);
    for (const auto& [n, v] : headers)
        clash = clash || (iequal(n, "host") && !iequal(v, host));
    const bool valid = expires >= 1 && expires <= 604800 && !clash;
    require(valid == !ec, "presign fails exactly on a bad expiry or a clashing name or Host");
    if (!ec) {
        require(url.rfind("https://" + host, 0) == 0, "URL starts with scheme://host");
        require(is_hex64(std::string_view(url).substr(url.rfind("&X-Amz-Signature=") + 17, 64)),
                "URL signature is 64 hex digits");
    }
    return 0;
}
