// What Ceph RGW cannot show, against a scripted server: the requests cloudstore sends
// (checked header by header against the S3 API reference) and what it makes of S3's replies
// (lost replies, redirects, errors inside a 200, checksums RGW ignores, options RGW refuses).
#include "support/scripted_server.hpp"
#include "support/streams.hpp"

#include <cloudstore/checksum.hpp>
#include <cloudstore/client.hpp>
#include <cloudstore/crypto/digest.hpp>
#include <cloudstore/crypto/hex.hpp>
#include <cloudstore/mixins/checksums.hpp>
#include <cloudstore/mixins/retry.hpp>
#include <cloudstore/storage/s3.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace cloudstore;
using namespace std::string_literals;
using test::recorded_request;
using test::scripted_reply;
using test::scripted_server;

namespace {

s3_options options_for(const scripted_server& server) {
    s3_options o;
    o.bucket = "bucket";
    o.region = "us-east-1";
    o.endpoint = server.endpoint();
    o.style = s3_options::addressing::path;
    o.credentials.access_key_id = "AKIDEXAMPLE";
    o.credentials.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    o.transport.proxy = {};
    o.multipart_threshold = 5 << 20;
    o.part_size = 5 << 20;
    return o;
}

// The names SigV4 signed, from the Authorization header.
std::string signed_headers(const recorded_request& r) {
    const auto auth = r.header("Authorization");
    const auto at = auth.find("SignedHeaders=");
    if (at == std::string::npos) return {};
    const auto end = auth.find(',', at);
    return auth.substr(at + 14, end - at - 14);
}

bool signs(const recorded_request& r, const std::string& name) {
    const auto list = ";" + signed_headers(r) + ";";
    return list.find(";" + name + ";") != std::string::npos;
}

scripted_reply xml(unsigned status, std::string body) {
    return {status, {{"Content-Type", "application/xml"}}, std::move(body), false};
}

scripted_reply error_reply(unsigned status, const std::string& code) {
    return xml(status, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code +
                           "</Code><Message></Message><RequestId>req-1</RequestId></Error>");
}

// The ETag of part n: an MD5's hex form, as S3 gives for parts stored without SSE-KMS/-C.
std::string part_etag(char n) {
    std::string etag(32, '0');
    etag.back() = n;
    return etag;
}

// The ETag S3 gives the object completed from parts 1..3 of part_etag(): the MD5 of their
// binary MD5s, then "-3".
std::string completed_etag() {
    crypto::md5_context md5;
    error_code ec;
    for (char n : {'1', '2', '3'})
        md5.update(crypto::from_hex(part_etag(n), ec));
    return crypto::to_hex(md5.finish()) + "-3";
}

// A multipart upload the server accepts, with `complete` deciding the Complete's fate and
// `stored` the ETag a HEAD finds.
scripted_server::handler multipart_server(std::function<scripted_reply(int)> complete,
                                          std::string stored = completed_etag()) {
    auto completes = std::make_shared<int>(0);
    return [complete = std::move(complete), completes, stored](const recorded_request& r) {
        if (r.method == "POST" && r.target.find("?uploads") != std::string::npos)
            return xml(200, "<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>k</Key>"
                            "<UploadId>UP-1</UploadId></InitiateMultipartUploadResult>");
        if (r.method == "PUT" && r.target.find("partNumber=") != std::string::npos) {
            const char n = r.target[r.target.find("partNumber=") + 11];
            return scripted_reply{200, {{"ETag", "\"" + part_etag(n) + "\""}}, "", false};
        }
        if (r.method == "POST" && r.target.find("uploadId=UP-1") != std::string::npos)
            return complete(++*completes);
        if (r.method == "HEAD")
            return scripted_reply{
                200, {{"ETag", "\"" + stored + "\""}, {"Content-Length", "12"}}, "", false};
        if (r.method == "DELETE") return scripted_reply{204, {}, "", false};
        return error_reply(400, "Unexpected");
    };
}

std::size_t count(const std::vector<recorded_request>& rs, const std::string& method,
                  const std::string& fragment) {
    return std::size_t(std::count_if(rs.begin(), rs.end(), [&](const recorded_request& r) {
        return r.method == method && r.target.find(fragment) != std::string::npos;
    }));
}

using retrying = client<s3, retry<exponential_backoff>>;

retrying with_fast_retries(s3 storage) {
    exponential_backoff backoff;
    backoff.base = std::chrono::milliseconds(1);
    backoff.cap = std::chrono::milliseconds(2);
    return retrying(std::move(storage), retry<exponential_backoff>{backoff});
}

} // namespace

TEST_CASE("s3 known answers: a Complete whose reply was lost is settled by a HEAD") {
    // The first Complete completes the upload, but its reply never arrives; the retry finds
    // no upload. The object's "-3" ETag says it is this upload: a success, and no abort.
    scripted_server server(multipart_server([](int n) {
        return n == 1 ? scripted_reply{200, {}, "", true} : error_reply(404, "NoSuchUpload");
    }));
    auto c = with_fast_retries(s3(options_for(server)));
    const std::string data(12 << 20, 'd');
    error_code ec;
    const auto info = c.put("k", data, put_options{}, ec);
    CHECK_FALSE(ec);
    CHECK(info.etag == completed_etag());
    const auto rs = server.requests();
    CHECK(count(rs, "PUT", "partNumber=") == 3);
    CHECK(count(rs, "POST", "uploadId=UP-1") == 2);
    CHECK(count(rs, "HEAD", "/bucket/k") == 1);
    CHECK(count(rs, "DELETE", "uploadId") == 0);
    // The Complete lists the parts in order, with their ETags as S3 gave them.
    const auto complete = std::find_if(rs.begin(), rs.end(), [](const recorded_request& r) {
        return r.method == "POST" && r.target.find("uploadId=UP-1") != std::string::npos;
    });
    REQUIRE(complete != rs.end());
    std::string expected = "<CompleteMultipartUpload>";
    for (char n : {'1', '2', '3'})
        expected += std::string("<Part><PartNumber>") + n + "</PartNumber><ETag>&quot;" +
                    part_etag(n) + "&quot;</ETag></Part>";
    CHECK(complete->body == expected + "</CompleteMultipartUpload>");
}

TEST_CASE("s3 known answers: a lost Complete and another writer's object is a failure") {
    // The object found has three parts too, but not these: the upload is not proven done.
    scripted_server server(multipart_server(
        [](int n) {
            return n == 1 ? scripted_reply{200, {}, "", true} : error_reply(404, "NoSuchUpload");
        },
        "0123456789abcdef0123456789abcdef-3"));
    client<s3> c(s3(options_for(server)));
    error_code ec;
    c.put("k", std::string(12 << 20, 'd'), put_options{}, ec);
    CHECK(ec == s3_errc::no_such_upload);
    CHECK(count(server.requests(), "HEAD", "/bucket/k") == 1);
}

TEST_CASE("s3 known answers: NoSuchUpload on a first Complete is a failure, and aborts") {
    scripted_server server(multipart_server([](int) { return error_reply(404, "NoSuchUpload"); }));
    client<s3> c(s3(options_for(server)));
    error_code ec;
    c.put("k", std::string(12 << 20, 'd'), put_options{}, ec);
    CHECK(ec == s3_errc::no_such_upload);
    CHECK(count(server.requests(), "HEAD", "/bucket/k") == 0);
    CHECK(count(server.requests(), "DELETE", "uploadId=UP-1") == 1);
}

TEST_CASE("s3 known answers: an error inside a Complete's 200 is a failure") {
    scripted_server server(multipart_server([](int) {
        return xml(200, "<?xml version=\"1.0\"?>\n\n<Error><Code>InternalError</Code>"
                        "<Message>We encountered an internal error.</Message></Error>");
    }));
    client<s3> c(s3(options_for(server)));
    error_code ec;
    storage_failure detail;
    call_options call;
    call.detail = &detail;
    c.put("k", std::string(12 << 20, 'd'), put_options{}, ec, call);
    CHECK(ec == s3_errc::internal_error);
    CHECK(detail.provider_code == "InternalError");
    CHECK(count(server.requests(), "DELETE", "uploadId=UP-1") == 1);
}

TEST_CASE("s3 known answers: a failing part aborts the upload") {
    scripted_server server([](const recorded_request& r) {
        if (r.target.find("partNumber=2") != std::string::npos)
            return error_reply(500, "InternalError");
        return multipart_server([](int) { return xml(200, "<x/>"); })(r);
    });
    client<s3> c(s3(options_for(server)));
    error_code ec;
    c.put("k", std::string(12 << 20, 'd'), put_options{}, ec);
    CHECK(ec == condition::server_error);
    const auto rs = server.requests();
    CHECK(count(rs, "DELETE", "uploadId=UP-1") == 1);
    CHECK(count(rs, "POST", "uploadId=UP-1") == 0);
}

TEST_CASE("s3 known answers: storage class, canned ACL and server-side encryption headers") {
    scripted_server server(scripted_server::queue(
        {{200, {{"ETag", "\"e\""}}, "", false}, {200, {{"ETag", "\"e\""}}, "", false}}));
    client<s3> c(s3(options_for(server)));
    put_options po;
    po.storage_class = "STANDARD_IA";
    po.acl = "bucket-owner-full-control";
    po.encryption.what = server_encryption::mode::store_managed;
    c.put("a", "x"s, po);
    po.encryption.what = server_encryption::mode::kms;
    po.encryption.kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/abc";
    c.put("b", "x"s, po);
    const auto rs = server.requests();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].header("x-amz-storage-class") == "STANDARD_IA");
    CHECK(rs[0].header("x-amz-acl") == "bucket-owner-full-control");
    CHECK(rs[0].header("x-amz-server-side-encryption") == "AES256");
    CHECK(rs[0].header("x-amz-server-side-encryption-aws-kms-key-id").empty());
    CHECK(rs[1].header("x-amz-server-side-encryption") == "aws:kms");
    CHECK(rs[1].header("x-amz-server-side-encryption-aws-kms-key-id") ==
          "arn:aws:kms:us-east-1:111122223333:key/abc");
    for (const auto& r : rs) {
        CHECK(signs(r, "x-amz-storage-class"));
        CHECK(signs(r, "x-amz-acl"));
        CHECK(signs(r, "x-amz-server-side-encryption"));
    }
}

TEST_CASE("s3 known answers: an SSE-C key is never sent over plain HTTP") {
    scripted_server server(multipart_server([](int) {
        return xml(200, "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag>"
                        "</CompleteMultipartUploadResult>");
    }));
    auto o = options_for(server);
    client<s3> c{s3(o)};
    put_options po;
    po.encryption.what = server_encryption::mode::customer_key;
    po.encryption.customer_key = std::string(32, 'k');
    error_code ec;
    c.put("k", std::string(12 << 20, 'd'), po, ec);
    // Over plain HTTP the key is never sent: refused before any request.
    CHECK(ec == condition::invalid_argument);
    CHECK(server.requests().empty());
}

TEST_CASE("s3 known answers: the checksums mixin's headers, single and multipart") {
    scripted_server server([](const recorded_request& r) {
        if (r.method == "PUT" && r.target == "/bucket/small")
            return scripted_reply{200, {{"ETag", "\"e\""}}, "", false};
        return multipart_server([](int) {
            return xml(200, "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag>"
                            "</CompleteMultipartUploadResult>");
        })(r);
    });
    client<s3, checksums<crc32c>> c(s3(options_for(server)));
    c.put("small", "123456789"s);
    const std::string data(12 << 20, 'd');
    c.put("k", data);
    const auto rs = server.requests();
    REQUIRE(!rs.empty());
    // CRC32C("123456789") = 0xE3069283, base64 of its four bytes.
    CHECK(rs[0].header("x-amz-checksum-crc32c") == "4waSgw==");
    CHECK(signs(rs[0], "x-amz-checksum-crc32c"));
    const auto create = std::find_if(rs.begin(), rs.end(), [](const recorded_request& r) {
        return r.target.find("?uploads") != std::string::npos;
    });
    REQUIRE(create != rs.end());
    CHECK(create->header("x-amz-checksum-algorithm") == "CRC32C");
    std::size_t parts_with_checksum = 0;
    for (const auto& r : rs)
        if (r.target.find("partNumber=") != std::string::npos &&
            !r.header("x-amz-checksum-crc32c").empty())
            ++parts_with_checksum;
    CHECK(parts_with_checksum == 3);
    const auto complete = std::find_if(rs.begin(), rs.end(), [](const recorded_request& r) {
        return r.method == "POST" && r.target.find("uploadId=UP-1") != std::string::npos;
    });
    REQUIRE(complete != rs.end());
    CHECK(complete->body.find("<ChecksumCRC32C>") != std::string::npos);
    // The Complete carries no checksum header: S3 would take it for the whole object's.
    CHECK(complete->header("x-amz-checksum-crc32c").empty());
}

TEST_CASE("s3 known answers: with checksums<md5>, a batch delete sends one Content-MD5") {
    scripted_server server(scripted_server::queue(
        {xml(200, "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>")}));
    client<s3, checksums<md5>> c(s3(options_for(server)));
    error_code ec;
    c.remove_many(std::vector<std::string>{"a", "b"}, ec);
    CHECK_FALSE(ec);
    const auto rs = server.requests();
    REQUIRE(rs.size() == 1);
    const auto md5s = std::count_if(rs[0].headers.begin(), rs[0].headers.end(),
                                    [](const auto& h) { return h.first == "Content-MD5"; });
    CHECK(md5s == 1);
    CHECK(signs(rs[0], "content-md5"));
}

TEST_CASE("s3 known answers: a download is checked against the object's full checksum") {
    std::string value = "4waSgw=="; // CRC32C of "123456789"
    scripted_server server([&](const recorded_request& r) {
        if (r.header("x-amz-checksum-mode") != "ENABLED") return error_reply(400, "NoMode");
        return scripted_reply{200,
                              {{"ETag", "\"e\""},
                               {"x-amz-checksum-crc32c", value},
                               {"x-amz-checksum-type", "FULL_OBJECT"}},
                              "123456789",
                              false};
    });
    client<s3, checksums<crc32c>> c(s3(options_for(server)));
    error_code ec;
    CHECK(c.get("k", get_options{}, ec) == "123456789");
    CHECK_FALSE(ec);
    value = "AAAAAA=="; // another value: the bytes are not what S3 stored
    c.get("k", get_options{}, ec);
    CHECK(ec == condition::checksum_mismatch);
}

TEST_CASE("s3 known answers: a region redirect is followed once, and re-signed") {
    SUBCASE("301 PermanentRedirect") {
        scripted_server server([](const recorded_request& r) {
            if (r.header("Authorization").find("/eu-west-1/s3/") == std::string::npos) {
                auto reply = error_reply(301, "PermanentRedirect");
                reply.headers.emplace_back("x-amz-bucket-region", "eu-west-1");
                return reply;
            }
            return scripted_reply{200, {{"ETag", "\"e\""}}, "body", false};
        });
        client<s3> c(s3(options_for(server)));
        c.put("k", "body"s);
        CHECK(c.get("k") == "body");
        const auto rs = server.requests();
        REQUIRE(rs.size() == 3); // the PUT twice, then the GET straight to the new region
        CHECK(rs[0].body == "body");
        CHECK(rs[1].body == "body");
        CHECK(rs[2].header("Authorization").find("/eu-west-1/s3/") != std::string::npos);
    }
    SUBCASE("400 AuthorizationHeaderMalformed with the region; and never twice") {
        scripted_server server([](const recorded_request&) {
            auto reply = error_reply(400, "AuthorizationHeaderMalformed");
            reply.headers.emplace_back("x-amz-bucket-region", "ap-south-1");
            return reply;
        });
        client<s3> c(s3(options_for(server)));
        error_code ec;
        c.head("k", ec);
        CHECK(ec);
        CHECK(server.requests().size() == 2);
    }
}

TEST_CASE("s3 known answers: an empty <Message> and a request id") {
    scripted_server server(scripted_server::queue({error_reply(404, "NoSuchKey")}));
    client<s3> c(s3(options_for(server)));
    error_code ec;
    storage_failure detail;
    call_options call;
    call.detail = &detail;
    c.get("missing", get_options{}, ec, call);
    CHECK(ec == condition::not_found);
    CHECK(ec == s3_errc::no_such_key);
    CHECK(detail.provider_code == "NoSuchKey");
    CHECK(detail.message.empty());
    CHECK(detail.http_status == 404);
}

TEST_CASE("s3 known answers: a stream of known length over plain HTTP is signed aws-chunked") {
    scripted_server server(scripted_server::queue({{200, {{"ETag", "\"e\""}}, "", false}}));
    client<s3> c(s3(options_for(server)));
    const std::string data(70000, 'z');
    auto stream = test::stream_of(data, 1 << 20, true);
    put_options po;
    po.content_encoding = "gzip";
    c.put("k", stream, po);
    const auto rs = server.requests();
    REQUIRE(rs.size() == 1);
    const auto& r = rs[0];
    CHECK(r.header("x-amz-content-sha256") == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    CHECK(r.header("Content-Encoding") == "aws-chunked,gzip");
    CHECK(r.header("x-amz-decoded-content-length") == "70000");
    CHECK(signs(r, "x-amz-decoded-content-length"));
    CHECK(signs(r, "content-encoding"));
    // 64 KiB, then 4,464 bytes, then the final chunk; each with its 64-hex-digit signature.
    CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
    CHECK(r.body.rfind("10000;chunk-signature=", 0) == 0);
    const auto second = r.body.find("\r\n1170;chunk-signature=");
    CHECK(second == 22 + 64 + 2 + 65536);
    CHECK(r.body.size() - r.body.rfind("0;chunk-signature=") == 18 + 64 + 4);
}

TEST_CASE("s3 known answers: a multipart put cancelled mid-way aborts its upload") {
    // Parts are answered slowly; the caller cancels while they are in flight.
    scripted_server server([](const recorded_request& r) {
        if (r.target.find("partNumber=") != std::string::npos)
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return multipart_server([](int) { return xml(200, "<x/>"); })(r);
    });
    // On a context of the test's own, whose thread ends with the test (the system executor's
    // threads outlive it, and their per-thread signing contexts with them).
    boost::asio::io_context io;
    auto work = boost::asio::make_work_guard(io);
    std::thread runner([&io] { io.run(); });
    std::optional<client<s3>> c(std::in_place, s3(options_for(server), io.get_executor()));
    const std::string data(12 << 20, 'd');
    boost::asio::cancellation_signal cancel;
    std::promise<error_code> done;
    c->async_put("k", std::as_bytes(std::span(data)), put_options{},
                 boost::asio::bind_cancellation_slot(
                     cancel.slot(), [&](error_code ec, object_info) { done.set_value(ec); }));
    // Once the upload exists and its parts are going out.
    for (int i = 0; i < 200 && count(server.requests(), "POST", "?uploads") == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancel.emit(boost::asio::cancellation_type::terminal);
    auto result = done.get_future();
    REQUIRE(result.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(result.get() == condition::cancelled);
    const auto rs = server.requests();
    CHECK(count(rs, "DELETE", "uploadId=UP-1") == 1);
    CHECK(count(rs, "POST", "uploadId=UP-1") == 0);
    c.reset();
    work.reset();
    runner.join();
}

TEST_CASE("s3 known answers: a multipart put past its deadline still aborts its upload") {
    // The parts outlast the call's time limit; the Complete is refused before it is sent,
    // and the abort goes out all the same.
    scripted_server server([](const recorded_request& r) {
        if (r.target.find("partNumber=") != std::string::npos)
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return multipart_server([](int) { return xml(200, "<x/>"); })(r);
    });
    client<s3> c(s3(options_for(server)));
    error_code ec;
    call_options call;
    call.timeout = std::chrono::milliseconds(100);
    c.put("k", std::string(12 << 20, 'd'), put_options{}, ec, call);
    CHECK(ec == condition::timeout);
    const auto rs = server.requests();
    CHECK(count(rs, "POST", "uploadId=UP-1") == 0);
    CHECK(count(rs, "DELETE", "uploadId=UP-1") == 1);
}

TEST_CASE("s3 known answers: a stream's checksum in an aws-chunked trailer") {
    // The body cannot be read twice, so its CRC32C cannot go ahead in a header: it follows the
    // body (STREAMING-UNSIGNED-PAYLOAD-TRAILER), as S3 takes it.
    scripted_server server(scripted_server::queue({{200, {{"ETag", "\"e\""}}, "", false}}));
    auto o = options_for(server);
    o.payload = s3_options::payload_signing::never_signed; // as over TLS
    o.checksum_trailers = true;
    client<s3, checksums<crc32c>> c{s3(o)};
    std::string data(100000, '\0');
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = char(i * 13);
    auto stream = test::stream_of(data, 30000, true);
    c.put("k", stream);
    const auto rs = server.requests();
    REQUIRE(rs.size() == 1);
    const auto& r = rs[0];
    CHECK(r.header("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    CHECK(r.header("x-amz-trailer") == "x-amz-checksum-crc32c");
    CHECK(r.header("Content-Encoding") == "aws-chunked");
    CHECK(r.header("x-amz-decoded-content-length") == "100000");
    CHECK(r.header("x-amz-checksum-crc32c").empty());
    CHECK(signs(r, "x-amz-trailer"));
    CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
    crc32c expected;
    expected.update(crypto::as_bytes(data));
    const std::string trailer =
        "0\r\nx-amz-checksum-crc32c:" + to_base64(expected.finish()) + "\r\n\r\n";
    CHECK(r.body.rfind("10000\r\n", 0) == 0);
    CHECK(r.body.substr(r.body.size() - trailer.size()) == trailer);
    CHECK(r.body.find("\r\n86a0\r\n") == 7 + 65536);
}
