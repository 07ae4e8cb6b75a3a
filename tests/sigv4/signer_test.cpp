// The signer's behaviour beyond the suites: expiry bounds, session tokens, the signing-key
// cache across threads, signing times, aws-chunked framing lengths.
#include <cloudstore/auth/aws_chunked.hpp>
#include <cloudstore/auth/sigv4.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace cloudstore::auth;
using cloudstore::error_code;

namespace {
const aws_credentials example{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const amz_date when = *amz_date::parse("20261124T120000Z");

sigv4_request s3_get() {
    sigv4_request r;
    r.host = "examplebucket.s3.us-east-1.amazonaws.com";
    r.path = "/audio/user-42/3f2a9c_20261124_120000.wav";
    r.payload_hash = payload::unsigned_payload;
    return r;
}
} // namespace

TEST_CASE("header signing agrees with botocore and @smithy/signature-v4 on a typical S3 GET") {
    // Both peers, run on this request at this time, produce these signatures.
    const sigv4_signer signer(example, "us-east-1", "s3");
    const auto out = signer.sign_headers(s3_get(), when);
    CHECK(out.authorization ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/us-east-1/s3/aws4_request, "
          "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
          "Signature=d3e40c63ded2948fcf9d7c2bda0d72fdfdda0392e259c29d29f9490ead68410e");
    CHECK(out.date.iso() == "20261124T120000Z");
    CHECK(out.content_sha256 == "UNSIGNED-PAYLOAD");
    CHECK(out.session_token.empty());
    error_code ec;
    const auto url = signer.presign(s3_get(), when, std::chrono::hours(1), ec);
    CHECK_FALSE(ec);
    CHECK(url.find(
              "X-Amz-Signature=3679e647fb2172724cc3496d960346ca25a056127b1f825f26ce350605bb52cd") ==
          std::string::npos); // the peers' presign also signs X-Amz-Content-Sha256 in the query
    CHECK(url.rfind("https://examplebucket.s3.us-east-1.amazonaws.com/audio/user-42/", 0) == 0);
}

TEST_CASE("presign: expiry from 1 second to 7 days, anything else is invalid_argument") {
    const sigv4_signer signer(example, "us-east-1", "s3");
    for (long long seconds : {1LL, 60LL, 604800LL}) {
        error_code ec;
        const auto url = signer.presign(s3_get(), when, std::chrono::seconds(seconds), ec);
        CHECK_FALSE(ec);
        CHECK(url.find("X-Amz-Expires=" + std::to_string(seconds) + "&") != std::string::npos);
    }
    for (long long seconds : {0LL, -5LL, 604801LL, 10000000LL}) {
        INFO(seconds);
        error_code ec;
        CHECK(signer.presign(s3_get(), when, std::chrono::seconds(seconds), ec).empty());
        CHECK(ec == cloudstore::errc::invalid_argument);
        CHECK(ec == cloudstore::condition::invalid_argument);
    }
}

TEST_CASE("presign: extra signed headers and a session token") {
    aws_credentials with_token = example;
    with_token.session_token = "FQoGZXIvYXdzE+/token==";
    const sigv4_signer signer(with_token, "eu-west-1", "s3");
    sigv4_request put = s3_get();
    put.method = "PUT";
    const name_value content_type[] = {{"Content-Type", "audio/wav"}};
    put.headers = content_type;
    error_code ec;
    sigv4_trace trace;
    const auto url = signer.presign(put, when, std::chrono::minutes(5), ec, "https", &trace);
    CHECK_FALSE(ec);
    CHECK(url.find("X-Amz-SignedHeaders=content-type%3Bhost&") != std::string::npos);
    CHECK(url.find("X-Amz-Security-Token=FQoGZXIvYXdzE%2B%2Ftoken%3D%3D") != std::string::npos);
    CHECK(trace.canonical_request.find("content-type:audio/wav\nhost:") != std::string::npos);

    // Header signing sends and signs the token.
    const auto out = signer.sign_headers(s3_get(), when, &trace);
    CHECK(out.session_token == "FQoGZXIvYXdzE+/token==");
    CHECK(out.authorization.find("x-amz-security-token") != std::string::npos);
    CHECK(trace.canonical_request.find("x-amz-security-token:FQoGZXIvYXdzE+/token==\n") !=
          std::string::npos);

    // Unsigned token: sent, outside the signature.
    const sigv4_signer unsigned_token(with_token, "eu-west-1", "s3", {uri_mode::s3, true, false});
    const auto u = unsigned_token.sign_headers(s3_get(), when, &trace);
    CHECK(u.session_token == "FQoGZXIvYXdzE+/token==");
    CHECK(u.authorization.find("x-amz-security-token") == std::string::npos);
    // ... so the signature is a token-less signer's.
    const sigv4_signer no_token({with_token.access_key_id, with_token.secret_access_key, ""},
                                "eu-west-1", "s3");
    CHECK(u.signature() == no_token.sign_headers(s3_get(), when).signature());
    const auto unsigned_url = unsigned_token.presign(s3_get(), when, std::chrono::minutes(5), ec);
    CHECK(unsigned_url.find("&X-Amz-Security-Token=FQoGZXIvYXdzE%2B%2Ftoken%3D%3D") ==
          unsigned_url.size() -
              std::string("&X-Amz-Security-Token=FQoGZXIvYXdzE%2B%2Ftoken%3D%3D").size());
}

TEST_CASE("signing-key cache: one derivation per (secret, date, region, service), across threads") {
    signing_key_cache cache;
    const sigv4_signer signer(example, "us-east-1", "s3", {}, cache);
    std::vector<std::thread> threads;
    std::atomic<int> same{0};
    const auto reference = signer.sign_headers(s3_get(), when).authorization;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i)
                same += signer.sign_headers(s3_get(), when).authorization == reference;
        });
    for (auto& t : threads)
        t.join();
    CHECK(same == 800);
    CHECK(cache.derivations() == 1);
    // Another day, region or secret: a new key each.
    signer.sign_headers(s3_get(), *amz_date::parse("20261125T000000Z"));
    const sigv4_signer other_region(example, "eu-west-1", "s3", {}, cache);
    other_region.sign_headers(s3_get(), when);
    CHECK(cache.derivations() == 3);
    CHECK(signing_key_cache::derive(example.secret_access_key, "20261124", "us-east-1", "s3") ==
          signer.signing_key(when));
}

TEST_CASE("signing-key cache: bounded, least recently used first out") {
    signing_key_cache cache(2);
    cache.get("a", "20261124", "r", "s");
    cache.get("b", "20261124", "r", "s");
    cache.get("a", "20261124", "r", "s"); // a is now the more recent
    cache.get("c", "20261124", "r", "s"); // evicts b
    CHECK(cache.derivations() == 3);
    cache.get("a", "20261124", "r", "s");
    CHECK(cache.derivations() == 3);
    cache.get("b", "20261124", "r", "s");
    CHECK(cache.derivations() == 4);
}

TEST_CASE("amz_date: UTC calendar arithmetic, leap days, the epoch; parse refuses bad text") {
    using namespace std::chrono;
    const auto at = [](long long s) {
        return std::string(amz_date::from(system_clock::time_point(seconds(s))).iso());
    };
    CHECK(at(0) == "19700101T000000Z");
    CHECK(at(1440938160) == "20150830T123600Z");
    CHECK(at(951782400) == "20000229T000000Z");  // leap day of a century divisible by 400
    CHECK(at(4107542399) == "21000228T235959Z"); // 2100 is not a leap year...
    CHECK(at(4107542400) == "21000301T000000Z"); // ...so March follows February 28
    CHECK(at(-1) == "19691231T235959Z");
    CHECK_FALSE(amz_date::parse("20150830T123600").has_value());
    CHECK_FALSE(amz_date::parse("2015-08-30T12:36:00Z").has_value());
    CHECK_FALSE(amz_date::parse("20150830X123600Z").has_value());
    for (const char* impossible :
         {"20261399T120000Z", "20261300T120000Z", "20260230T120000Z", "21000229T120000Z",
          "20261124T240000Z", "20261124T126000Z", "20261124T120060Z", "20261100T120000Z"}) {
        INFO(impossible);
        CHECK_FALSE(amz_date::parse(impossible).has_value());
    }
    CHECK(amz_date::parse("20000229T235959Z").has_value());
    CHECK(amz_date::parse("20150830T123600Z")->date() == "20150830");
}

TEST_CASE("aws-chunked: encoded lengths equal the bytes actually framed") {
    const sigv4_signer signer(example, "us-east-1", "s3");
    for (std::uint64_t size : {0ull, 1ull, 8191ull, 8192ull, 8193ull, 65536ull * 3 + 17}) {
        for (std::uint64_t chunk : {8192ull, 65536ull}) {
            INFO(size << " in chunks of " << chunk);
            aws_chunk_signer signed_chunks(signer, when, std::string(64, '0'));
            std::uint64_t signed_total = 0;
            std::uint64_t trailer_total = 0;
            const std::string data(size, 'x');
            for (std::uint64_t at = 0; at < size; at += chunk) {
                const auto n = std::min(chunk, size - at);
                const auto piece =
                    cloudstore::crypto::as_bytes(std::string_view(data).substr(at, n));
                signed_total += signed_chunks.chunk_header(piece).size() + n + aws_chunk_end.size();
                trailer_total +=
                    aws_chunked_trailer::chunk_header(n).size() + n + aws_chunk_end.size();
            }
            signed_total += signed_chunks.final_chunk().size();
            trailer_total +=
                aws_chunked_trailer::final_chunk("x-amz-checksum-crc32c", "AAAAAA==").size();
            CHECK(aws_chunk_signer::encoded_length(size, chunk) == signed_total);
            CHECK(aws_chunked_trailer::encoded_length(size, chunk, "x-amz-checksum-crc32c", 8) ==
                  trailer_total);
        }
    }
    CHECK(aws_chunked_trailer::chunk_header(65536) == "10000\r\n");
    CHECK(aws_chunked_trailer::final_chunk("x-amz-checksum-crc32c", "4waSgw==") ==
          "0\r\nx-amz-checksum-crc32c:4waSgw==\r\n\r\n");
}

TEST_CASE("a caller's X-Amz-Date and x-amz-content-sha256 rule; Authorization is never signed") {
    const sigv4_signer signer(example, "us-east-1", "s3");
    sigv4_request r = s3_get();
    const name_value own[] = {{"X-Amz-Date", "20261124T115959Z"},
                              {"x-amz-content-sha256", payload::empty_sha256},
                              {"Authorization", "AWS4-HMAC-SHA256 stale"}};
    r.headers = own;
    sigv4_trace trace;
    const auto out = signer.sign_headers(r, when, &trace);
    CHECK(out.date.iso() == "20261124T115959Z");
    CHECK(out.content_sha256 == payload::empty_sha256);
    CHECK(trace.string_to_sign.find("\n20261124T115959Z\n") != std::string::npos);
    CHECK(trace.canonical_request.ends_with(payload::empty_sha256));
    CHECK(trace.canonical_request.find("authorization") == std::string::npos);
    // The same as signing at that time with that payload hash.
    sigv4_request plain = s3_get();
    plain.payload_hash = payload::empty_sha256;
    CHECK(out.signature() ==
          signer.sign_headers(plain, *amz_date::parse("20261124T115959Z")).signature());
}

TEST_CASE("header values: CR, LF, VT and FF collapse like spaces, so no line can be forged") {
    const sigv4_signer signer(example, "us-east-1", "s3");
    sigv4_request r = s3_get();
    const name_value forged[] = {{"x-amz-meta-a", "x\nx-amz-meta-b:y\r\n\v\fz"}};
    r.headers = forged;
    sigv4_trace trace;
    signer.sign_headers(r, when, &trace);
    CHECK(trace.canonical_request.find("x-amz-meta-a:x x-amz-meta-b:y z\n") != std::string::npos);
    CHECK(trace.canonical_request.find("\nx-amz-meta-b") == std::string::npos);
}

TEST_CASE("presign refuses parameters it sets itself and a Host that differs") {
    const sigv4_signer signer(example, "us-east-1", "s3");
    for (const char* name :
         {"X-Amz-Expires", "x-amz-signature", "X-Amz-Credential", "X-Amz-Security-Token"}) {
        INFO(name);
        sigv4_request r = s3_get();
        const name_value q[] = {{name, "1"}};
        r.query = q;
        cloudstore::error_code ec;
        CHECK(signer.presign(r, when, std::chrono::hours(1), ec).empty());
        CHECK(ec == cloudstore::errc::invalid_argument);
    }
    sigv4_request r = s3_get();
    const name_value other_host[] = {{"Host", "evil.example"}};
    r.headers = other_host;
    cloudstore::error_code ec;
    CHECK(signer.presign(r, when, std::chrono::hours(1), ec).empty());
    CHECK(ec == cloudstore::errc::invalid_argument);
    const name_value same_host[] = {{"host", "ExampleBucket.s3.us-east-1.amazonaws.com"}};
    r.headers = same_host;
    CHECK_FALSE(signer.presign(r, when, std::chrono::hours(1), ec).empty());
    CHECK_FALSE(ec);
}

TEST_CASE("a moved signer is copied: the source keeps signing with its own credentials") {
    sigv4_signer a(example, "us-east-1", "s3");
    const auto before = a.sign_headers(s3_get(), when).authorization;
    sigv4_signer b(std::move(a));
    CHECK(b.sign_headers(s3_get(), when).authorization == before);
    CHECK(a.sign_headers(s3_get(), when).authorization == before); // NOLINT: use after move
}
