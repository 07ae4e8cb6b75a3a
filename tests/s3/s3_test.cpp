// S3 against Ceph RGW beyond the conformance suite: signatures enforced (aws-chunked too), TLS
// with certificate verification, presigned URLs used by curl, and batch deletes across more than
// one request.
#include "rgw_env.hpp"
#include "support/streams.hpp"

#include <cloudstore/auth/aws_chunked.hpp>
#include <cloudstore/client.hpp>
#include <cloudstore/config.hpp>
#include <cloudstore/storage/s3.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace cloudstore;
using namespace std::string_literals;

namespace {

using rgw::shell;

std::filesystem::path temp_file(const std::string& name) {
    return std::filesystem::temp_directory_path() /
           ("cloudstore-s3-" + std::to_string(::getpid()) + "-" + name);
}

} // namespace

TEST_CASE("s3 on RGW: a wrong secret is refused, and the secret is in no error") {
    const auto storage = rgw::fresh();
    auto options = rgw::options(storage.options().bucket);
    options.credentials.secret_access_key = "wrong-secret-0123456789abcdefghijklmnopqrstu";
    client<s3> c{s3(options)};
    error_code ec;
    storage_failure detail;
    c.put("k", "v"s, put_options{}, ec, call_options{{}, &detail});
    CHECK(ec == condition::permission_denied);
    CHECK(detail.http_status == 403);
    CHECK(detail.provider_code == "SignatureDoesNotMatch");
    CHECK(detail.describe().find("wrong-secret") == std::string::npos);
    c.get("k", {}, ec);
    CHECK(ec == condition::permission_denied);
    try {
        c.get("k");
        FAIL("no exception");
    } catch (const storage_error& e) {
        CHECK(std::string(e.what()).find("wrong-secret") == std::string::npos);
    }
}

TEST_CASE("s3 on RGW: over TLS with the certificate verified, and refused without the CA") {
    client<s3> c(rgw::fresh(true));
    const std::string body(100'000, 'x');
    error_code ec;
    c.put("tls/object", body, put_options{}, ec);
    REQUIRE_FALSE(ec);
    CHECK(c.get("tls/object") == body);
    CHECK(c.storage().transport().stats().connections_opened >= 1);

    auto options = rgw::options(c.storage().options().bucket, true);
    options.transport.tls.ca_file.clear(); // the system store does not know the test CA
    client<s3> untrusted{s3(options)};
    untrusted.get("tls/object", {}, ec);
    CHECK(ec == condition::tls_error);
}

TEST_CASE("s3 on RGW: presigned GET and PUT URLs work with curl") {
    client<s3> c(rgw::fresh());
    c.put("shared/a.txt", "presigned body"s);
    error_code ec;
    using method = client<s3>::url_method;
    const auto get_url =
        c.presigned_url("shared/a.txt", method::get, std::chrono::seconds(300), ec);
    REQUIRE_FALSE(ec);
    auto [status, out] = shell("curl -sS --fail '" + get_url + "'");
    CHECK(status == 0);
    CHECK(out == "presigned body");

    const auto put_url =
        c.presigned_url("shared/from curl.txt", method::put, std::chrono::seconds(300), ec);
    REQUIRE_FALSE(ec);
    const auto file = temp_file("upload");
    std::ofstream(file) << "sent by curl";
    auto [put_status, put_out] =
        shell("curl -sS --fail -X PUT --upload-file '" + file.string() + "' '" + put_url + "'");
    std::filesystem::remove(file);
    CHECK(put_status == 0);
    CHECK(c.get("shared/from curl.txt") == "sent by curl");

    // A tampered signature is refused.
    auto tampered = get_url;
    tampered.back() = tampered.back() == '0' ? '1' : '0';
    auto [bad_status, bad_out] = shell("curl -s -o /dev/null -w '%{http_code}' '" + tampered + "'");
    CHECK(bad_out == "403");
}

TEST_CASE("s3 on RGW: batch delete across two requests, and listing every page") {
    client<s3> c(rgw::fresh());
    std::vector<std::string> keys;
    for (int i = 0; i < 1100; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "many/%04d", i);
        keys.emplace_back(name);
    }
    // Puts from four threads: the blocking face from several threads at once.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (std::size_t i = std::size_t(t); i < keys.size(); i += 4)
                c.put(keys[i], "x"s);
        });
    for (auto& t : threads)
        t.join();
    std::size_t listed = 0, pages = 0;
    error_code ec;
    auto all = c.list_all(list_options{"many/", "", "", "", 500});
    for (auto page = all.next(ec); page; page = all.next(ec)) {
        ++pages;
        listed += page->objects.size();
    }
    CHECK_FALSE(ec);
    CHECK(listed == 1100);
    CHECK(pages == 3);
    keys.push_back("");
    const auto results = c.remove_many(keys, ec);
    CHECK_FALSE(ec);
    REQUIRE(results.size() == 1101);
    for (std::size_t i = 0; i < 1100; ++i)
        CHECK_FALSE(results[i]);
    CHECK(results[1100] == condition::invalid_argument);
    CHECK(c.list(list_options{"many/", "", "", "", 10}, ec).objects.empty());
}

TEST_CASE("s3 on RGW: make_client builds an S3 client from the environment") {
    s3 storage = rgw::fresh();
    ::setenv("STORAGE_TYPE", "s3", 1);
    ::setenv("S3_BUCKET_NAME", storage.options().bucket.c_str(), 1);
    ::setenv("AWS_REGION", rgw::get("RGW_REGION").c_str(), 1);
    ::setenv("AWS_ACCESS_KEY_ID", rgw::get("RGW_ACCESS_KEY").c_str(), 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", rgw::get("RGW_SECRET_KEY").c_str(), 1);
    ::setenv("AWS_ENDPOINT_URL", rgw::get("RGW_ENDPOINT").c_str(), 1);
    ::setenv("NO_PROXY", "127.0.0.1", 1);
    auto any = make_client();
    CHECK(any.storage_type() == "s3");
    error_code ec;
    put_options po;
    po.content_type = "text/plain";
    any.put("env/one", "from the environment"s, po, ec);
    CHECK_FALSE(ec);
    CHECK(any.get("env/one", get_options{}, ec) == "from the environment");
    CHECK(client<s3>(storage).head("env/one").content_type == "text/plain");
    any.remove("env/one", ec);
    CHECK_FALSE(ec);
    // Without the bucket: a configuration error, before any request.
    ::unsetenv("S3_BUCKET_NAME");
    CHECK_THROWS_AS(make_client(), invalid_configuration_error);
    for (const char* name : {"STORAGE_TYPE", "AWS_REGION", "AWS_ACCESS_KEY_ID",
                             "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "NO_PROXY"})
        ::unsetenv(name);
}

TEST_CASE("s3 on RGW: a lifecycle rule that aborts incomplete uploads, read back by the CLI") {
    s3 storage = rgw::fresh();
    const std::string bucket = storage.options().bucket;
    core::layers<> none;
    core::operation_context op;
    storage_failure failure;
    auto rule = storage.abort_incomplete_uploads_algorithm(3);
    CHECK_FALSE(core::run_blocking(storage, rule, none, op, &failure));
    const auto [status, out] =
        rgw::aws("s3api get-bucket-lifecycle-configuration --bucket " + bucket + " --output json");
    CHECK(status == 0);
    CHECK(out.find("\"DaysAfterInitiation\": 3") != std::string::npos);
    CHECK(out.find("\"Status\": \"Enabled\"") != std::string::npos);
    auto zero = storage.abort_incomplete_uploads_algorithm(0);
    CHECK(core::run_blocking(storage, zero, none, op) == condition::invalid_argument);
}

TEST_CASE("s3 on RGW: a batch delete reports the keys a bucket policy protects") {
    client<s3> c(rgw::fresh());
    const std::string bucket = c.storage().options().bucket;
    const std::vector<std::string> keys = {"free/1", "kept/1", "free/2", "kept/2"};
    for (const auto& k : keys)
        c.put(k, "x"s);
    const std::string policy =
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",)"
        R"("Action":"s3:DeleteObject","Resource":"arn:aws:s3:::)" +
        bucket + R"(/kept/*"}]})";
    const auto set =
        rgw::aws("s3api put-bucket-policy --bucket " + bucket + " --policy '" + policy + "'");
    REQUIRE_MESSAGE(set.first == 0, set.second);
    error_code ec;
    const auto results = c.remove_many(keys, ec);
    CHECK_FALSE(ec); // the request succeeded; two of its keys did not
    REQUIRE(results.size() == 4);
    CHECK_FALSE(results[0]);
    CHECK(results[1] == condition::permission_denied);
    CHECK_FALSE(results[2]);
    CHECK(results[3] == condition::permission_denied);
    CHECK_FALSE(c.exists("free/1", ec));
    CHECK(c.exists("kept/1", ec));
    CHECK(rgw::aws("s3api delete-bucket-policy --bucket " + bucket).first == 0);
    c.remove_many(keys, ec); // memstore keeps objects in memory: leave none behind
}

TEST_CASE("s3 on RGW: a stream of known length goes up as signed aws-chunked") {
    client<s3> c(rgw::fresh()); // plain HTTP: bodies are signed
    std::string data(3 * 1024 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = char(i * 7 + i / 1000);
    auto stream = test::stream_of(data, 50000, true);
    put_options po;
    po.content_encoding = "identity";
    const auto info = c.put("chunked/stream", stream, po);
    CHECK(info.size == data.size());
    CHECK(c.get("chunked/stream") == data);
    // RGW stores "aws-chunked,identity"; the framing is not the object's encoding.
    CHECK(c.head("chunked/stream").content_encoding == "identity");
}

TEST_CASE("s3 on RGW: a forged aws-chunked chunk signature is refused") {
    // The request made by hand with cloudstore's signer and chunk framing, honest and then
    // with one chunk's signature altered: RGW verifies every chunk.
    s3 storage = rgw::fresh();
    const auto o = storage.options();
    error_code ec;
    const auto to = http::endpoint::parse(o.endpoint, ec);
    REQUIRE_FALSE(ec);
    const auth::sigv4_signer signer(
        {o.credentials.access_key_id, o.credentials.secret_access_key, ""}, o.region, "s3");
    const std::string a(65536, 'a'), b(4464, 'b');
    const auto send = [&](const std::string& key, bool forge) {
        const std::string path = "/" + o.bucket + "/" + key;
        const std::string decoded = std::to_string(a.size() + b.size());
        const std::string host = to.host_header(); // the request views it
        auth::sigv4_request r;
        r.method = "PUT";
        r.host = host;
        r.path = path;
        const std::vector<auth::name_value> headers = {{"Content-Encoding", "aws-chunked"},
                                                       {"x-amz-decoded-content-length", decoded}};
        r.headers = headers;
        r.payload_hash = auth::payload::streaming_signed;
        const auto signed_headers =
            signer.sign_headers(r, auth::amz_date::from(std::chrono::system_clock::now()));
        auth::aws_chunk_signer chunks(signer, signed_headers.date, signed_headers.signature());
        std::string body = chunks.chunk_header(crypto::as_bytes(a));
        if (forge) body[body.find("signature=") + 10] ^= 1; // '0'..'f' stays printable
        body += a + std::string(auth::aws_chunk_end);
        body += chunks.chunk_header(crypto::as_bytes(b)) + b + std::string(auth::aws_chunk_end);
        body += chunks.final_chunk();
        http::memory_source source(body);
        http::request req;
        req.method = "PUT";
        req.to = to;
        req.target = path;
        req.body = &source;
        req.headers.set("Content-Encoding", "aws-chunked");
        req.headers.set("x-amz-decoded-content-length", decoded);
        req.headers.set("X-Amz-Date", signed_headers.date.iso());
        req.headers.set("x-amz-content-sha256", std::string(signed_headers.content_sha256));
        req.headers.set("Authorization", signed_headers.authorization);
        http::response res;
        http::memory_sink reply(1 << 20);
        res.sink = &reply;
        error_code sent;
        storage.transport().exchange(req, res, sent);
        REQUIRE_FALSE(sent);
        return std::pair{res.status, reply.take()};
    };
    const auto honest = send("honest", false);
    CHECK_MESSAGE(honest.first == 200, honest.second);
    const auto [forged, forged_body] = send("forged", true);
    CHECK(forged == 403);
    CHECK(forged_body.find("SignatureDoesNotMatch") != std::string::npos);
    client<s3> c(storage);
    CHECK(c.get("honest") == a + b);
    CHECK_FALSE(c.exists("forged", ec));
}
