// Known answers: every SigV4 case of ../shared/vectors/aws-sigv4 except SigV4a.
//  - aws-c-auth's v4 suite, 38 cases, each in header and query form (76 signatures);
//  - the classic suite (botocore's copy), 34 cases;
//  - the S3 documentation examples: 4 header-signed requests, 1 presigned URL, and the
//    aws-chunked upload's seed and chunk signatures (6).
// The folders are enumerated and the counts asserted, so a skipped case fails.
#include <cloudstore/auth/aws_chunked.hpp>
#include <cloudstore/auth/sigv4.hpp>
#include <cloudstore/crypto/digest.hpp>
#include <cloudstore/crypto/hex.hpp>

#ifdef BOOST_ASIO_VERSION
#error "auth/ must not include Asio"
#endif

#include <doctest/doctest.h>
#include <raw_request.hpp>
#include <test_support.hpp>

#include <rapidjson/document.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace fs = std::filesystem;
using namespace cloudstore::auth;
using cloudstore::error_code;
using cloudstore::test::read_file;

namespace {

const fs::path vectors = fs::path(cloudstore::test::shared_dir()) / "vectors/aws-sigv4";

rapidjson::Document parse_json(const fs::path& path) {
    rapidjson::Document doc;
    doc.Parse(read_file(path.string()).c_str());
    REQUIRE_MESSAGE(!doc.HasParseError(), "bad JSON in " << path);
    return doc;
}

std::string payload_hash_of(std::string_view body) {
    return cloudstore::crypto::to_hex(cloudstore::crypto::sha256(body));
}

// "2015-08-30T12:36:00Z" -> 20150830T123600Z
amz_date amz_of(std::string_view iso) {
    std::string basic;
    for (char c : iso)
        if (c != '-' && c != ':') basic.push_back(c);
    const auto d = amz_date::parse(basic);
    REQUIRE(d.has_value());
    return *d;
}

std::string header_line(std::string_view request_text, std::string_view name) {
    const auto raw = cloudstore::test::parse_raw_request(request_text);
    return raw.header(name);
}

// The query of a signed request line or URL, as a set of decoded `name=value` parts (the
// suite writes raw UTF-8 where a URL carries %XX).
std::set<std::string> query_set(std::string_view url_or_line) {
    std::set<std::string> out;
    auto q = url_or_line.find('?');
    if (q == std::string_view::npos) return out;
    auto rest = url_or_line.substr(q + 1);
    rest = rest.substr(0, rest.find(' '));
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        out.emplace(cloudstore::test::percent_decode(rest.substr(0, amp)));
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return out;
}

std::string without_space_after_commas(std::string s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (!(s[i] == ' ' && i > 0 && s[i - 1] == ',')) out.push_back(s[i]);
    return out;
}

} // namespace

TEST_CASE("aws-c-auth v4 suite: 38 cases, header and query signing") {
    const fs::path suite = vectors / "aws-c-auth/tests/aws-signing-test-suite/v4";
    REQUIRE_MESSAGE(fs::is_directory(suite),
                    suite << " is missing (is ../shared beside the clone?)");
    std::vector<fs::path> cases;
    for (const auto& e : fs::directory_iterator(suite))
        if (e.is_directory()) cases.push_back(e.path());
    std::sort(cases.begin(), cases.end());
    CHECK(cases.size() == 38);

    int header_passed = 0;
    int query_passed = 0;
    for (const auto& dir : cases) {
        const std::string name = dir.filename().string();
        INFO("case " << name);
        const auto context = parse_json(dir / "context.json");
        const auto& cred = context["credentials"];
        aws_credentials credentials{cred["access_key_id"].GetString(),
                                    cred["secret_access_key"].GetString(),
                                    cred.HasMember("token") ? cred["token"].GetString() : ""};
        sigv4_options options;
        options.uri =
            context["normalize"].GetBool() ? uri_mode::normalized_double : uri_mode::double_encoded;
        options.content_sha256_header = context["sign_body"].GetBool();
        options.sign_session_token =
            !(context.HasMember("omit_session_token") && context["omit_session_token"].GetBool());
        const sigv4_signer signer(credentials, context["region"].GetString(),
                                  context["service"].GetString(), options);
        const amz_date when = amz_of(context["timestamp"].GetString());

        const auto raw =
            cloudstore::test::parse_raw_request(read_file((dir / "request.txt").string()));
        const auto headers = raw.header_views();
        const auto params = raw.param_views();
        const std::string body_hash = payload_hash_of(raw.body);
        const std::string host = raw.header("host");
        sigv4_request request;
        request.method = raw.method;
        request.host = host;
        request.path = raw.path;
        request.query = params;
        request.headers = headers;
        request.payload_hash = body_hash;

        sigv4_trace trace;
        const auto signed_headers = signer.sign_headers(request, when, &trace);
        const bool header_ok =
            trace.canonical_request == read_file((dir / "header-canonical-request.txt").string()) &&
            trace.string_to_sign == read_file((dir / "header-string-to-sign.txt").string()) &&
            signed_headers.signature() == read_file((dir / "header-signature.txt").string()) &&
            signed_headers.authorization ==
                header_line(read_file((dir / "header-signed-request.txt").string()),
                            "authorization");
        CHECK_MESSAGE(header_ok, "header form\n" << trace.canonical_request);
        header_passed += header_ok;

        error_code ec;
        const auto seconds = std::chrono::seconds(context["expiration_in_seconds"].GetInt());
        const std::string url = signer.presign(request, when, seconds, ec, "https", &trace);
        REQUIRE_FALSE(ec);
        const std::string expected_signature = read_file((dir / "query-signature.txt").string());
        const bool query_ok =
            trace.canonical_request == read_file((dir / "query-canonical-request.txt").string()) &&
            trace.string_to_sign == read_file((dir / "query-string-to-sign.txt").string()) &&
            query_set(url).count("X-Amz-Signature=" + expected_signature) == 1 &&
            query_set(url) == query_set(read_file((dir / "query-signed-request.txt").string()));
        CHECK_MESSAGE(query_ok, "query form\n" << trace.canonical_request << "\n" << url);
        query_passed += query_ok;
    }
    CHECK(header_passed == 38);
    CHECK(query_passed == 38);
}

TEST_CASE("classic suite (botocore's copy): 34 cases") {
    const fs::path suite = vectors / "botocore/tests/unit/auth/aws4_testsuite";
    REQUIRE(fs::is_directory(suite));
    std::vector<fs::path> requests;
    for (const auto& e : fs::recursive_directory_iterator(suite))
        if (e.path().extension() == ".req") requests.push_back(e.path());
    std::sort(requests.begin(), requests.end());
    CHECK(requests.size() == 34);

    const amz_date when = *amz_date::parse("20150830T123600Z");
    int passed = 0;
    for (const auto& req : requests) {
        INFO("case " << req.stem().string());
        auto file = [&](const char* ext) {
            auto p = req;
            return read_file(p.replace_extension(ext).string());
        };
        const auto raw = cloudstore::test::parse_raw_request(file(".req"));
        // A session token that the signed request (.sreq) carries but the request (.req) does
        // not is a credential; the canonical request says whether it is signed.
        const std::string token =
            raw.header("x-amz-security-token").empty()
                ? cloudstore::test::parse_raw_request(file(".sreq")).header("x-amz-security-token")
                : std::string();
        sigv4_options options = sigv4_options::for_service();
        options.sign_session_token =
            file(".creq").find("x-amz-security-token") != std::string::npos;
        const sigv4_signer signer(
            {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token}, "us-east-1",
            "service", options);
        const auto headers = raw.header_views();
        const auto params = raw.param_views();
        const std::string body_hash = payload_hash_of(raw.body);
        const std::string host = raw.header("host");
        sigv4_request request{raw.method, host, raw.path, params, headers, body_hash};
        sigv4_trace trace;
        const auto out = signer.sign_headers(request, when, &trace);
        const bool ok = trace.canonical_request == file(".creq") &&
                        trace.string_to_sign == file(".sts") && out.authorization == file(".authz");
        CHECK_MESSAGE(ok, trace.canonical_request);
        passed += ok;
    }
    CHECK(passed == 34);
}

TEST_CASE("S3 documentation examples: 4 header-signed requests, 1 presigned URL, aws-chunked") {
    const fs::path dir = vectors / "s3-docs-examples";
    int passed = 0;

    const auto header_doc = parse_json(dir / "sig-v4-header-based-auth.json");
    const auto& cred = header_doc["credentials"];
    const sigv4_signer signer(
        {cred["access_key_id"].GetString(), cred["secret_access_key"].GetString(), ""},
        header_doc["region"].GetString(), header_doc["service"].GetString());
    const amz_date when = *amz_date::parse(header_doc["timestamp"].GetString());
    const auto& header_cases = header_doc["cases"].GetArray();
    CHECK(header_cases.Size() == 4);
    for (const auto& c : header_cases) {
        INFO("case " << c["name"].GetString());
        const auto& r = c["request"];
        std::vector<std::pair<std::string, std::string>> owned;
        for (const auto& h : r["headers"].GetArray())
            owned.emplace_back(h[0].GetString(), h[1].GetString());
        std::vector<name_value> headers;
        std::string host;
        for (const auto& [n, v] : owned) {
            headers.push_back({n, v});
            if (n == "Host") host = v;
        }
        const auto params_owned = cloudstore::test::parse_query(r["query"].GetString());
        std::vector<name_value> params;
        for (const auto& [n, v] : params_owned)
            params.push_back({n, v});
        sigv4_request request{
            r["method"].GetString(),      host, r["path"].GetString(), params, headers,
            c["payload_hash"].GetString()};
        sigv4_trace trace;
        const auto out = signer.sign_headers(request, when, &trace);
        const bool ok =
            trace.canonical_request == c["canonical_request"].GetString() &&
            trace.string_to_sign == c["string_to_sign"].GetString() &&
            out.signature() == c["signature"].GetString() &&
            without_space_after_commas(out.authorization) == c["authorization"].GetString();
        CHECK_MESSAGE(ok, trace.canonical_request);
        passed += ok;
    }

    const auto query_doc = parse_json(dir / "sigv4-query-string-auth.json");
    CHECK(query_doc["cases"].GetArray().Size() == 1);
    for (const auto& c : query_doc["cases"].GetArray()) {
        const auto& r = c["request"];
        sigv4_request request;
        request.method = r["method"].GetString();
        request.host = "examplebucket.s3.amazonaws.com";
        request.path = r["path"].GetString();
        request.payload_hash = payload::unsigned_payload;
        error_code ec;
        sigv4_trace trace;
        const std::string url =
            signer.presign(request, when, std::chrono::seconds(r["expires_seconds"].GetInt()), ec,
                           "https", &trace);
        const bool ok = !ec && trace.canonical_request == c["canonical_request"].GetString() &&
                        url == c["presigned_url"].GetString();
        CHECK_MESSAGE(ok, url);
        passed += ok;
    }

    const auto stream_doc = parse_json(dir / "sigv4-streaming.json");
    CHECK(stream_doc["cases"].GetArray().Size() == 1);
    for (const auto& c : stream_doc["cases"].GetArray()) {
        const auto& r = c["request"];
        std::vector<std::pair<std::string, std::string>> owned;
        for (const auto& h : r["headers"].GetArray())
            owned.emplace_back(h[0].GetString(), h[1].GetString());
        std::vector<name_value> headers;
        for (const auto& [n, v] : owned)
            headers.push_back({n, v});
        sigv4_request request{
            r["method"].GetString(),  "s3.amazonaws.com", r["path"].GetString(), {}, headers,
            payload::streaming_signed};
        sigv4_trace trace;
        const auto seed = signer.sign_headers(request, when, &trace);
        const auto& s = c["seed"];
        bool ok = trace.canonical_request == s["canonical_request"].GetString() &&
                  trace.string_to_sign == s["string_to_sign"].GetString() &&
                  seed.signature() == s["signature"].GetString();
        CHECK_MESSAGE(ok, "seed\n" << trace.canonical_request);

        const auto& p = c["payload"];
        CHECK(aws_chunk_signer::encoded_length(p["decoded_length"].GetUint64(),
                                               p["chunk_size"].GetUint64()) ==
              p["encoded_length"].GetUint64());
        aws_chunk_signer chunks(signer, when, seed.signature());
        const auto& expected = c["chunks"].GetArray();
        CHECK(expected.Size() == 3);
        for (const auto& chunk : expected) {
            const std::string data(chunk["data_length"].GetUint64(), 'a');
            std::string header =
                data.empty() ? chunks.final_chunk(&trace)
                             : chunks.chunk_header(cloudstore::crypto::as_bytes(data), &trace);
            if (data.empty()) header.resize(header.size() - 2); // the final chunk's own "\r\n"
            const bool chunk_ok = trace.string_to_sign == chunk["string_to_sign"].GetString() &&
                                  chunks.previous_signature() == chunk["signature"].GetString() &&
                                  header == chunk["chunk_header"].GetString();
            CHECK_MESSAGE(chunk_ok, "chunk of " << data.size() << ": " << header);
            ok = ok && chunk_ok;
        }
        passed += ok;
    }
    CHECK(passed == 6);
}

TEST_CASE("double encoding, which no suite exercises: a %XX on the wire is signed as %25XX") {
    std::string out;
    append_canonical_uri(out, "/a%20b/c%2Fd/./e//f", uri_mode::normalized_double);
    CHECK(out == "/a%2520b/c%252Fd/e/f");
    out.clear();
    append_canonical_uri(out, "/a%20b/./e//f", uri_mode::double_encoded);
    CHECK(out == "/a%2520b/./e//f");
    out.clear();
    append_canonical_uri(out, "/a%20b/./e//f", uri_mode::s3);
    CHECK(out == "/a%20b/./e//f");

    // The same request, signed for S3 and for another service, differs only in the path.
    const sigv4_signer s3({"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""},
                          "us-east-1", "service", {uri_mode::s3, false, true});
    const sigv4_signer other({"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""},
                             "us-east-1", "service", sigv4_options::for_service());
    sigv4_request request;
    request.host = "example.amazonaws.com";
    request.path = "/my%20file";
    const amz_date when = *amz_date::parse("20150830T123600Z");
    sigv4_trace a, b;
    const auto sa = s3.sign_headers(request, when, &a);
    const auto sb = other.sign_headers(request, when, &b);
    CHECK(a.canonical_request.find("\n/my%20file\n") != std::string::npos);
    CHECK(b.canonical_request.find("\n/my%2520file\n") != std::string::npos);
    CHECK(sa.signature() != sb.signature());
}
