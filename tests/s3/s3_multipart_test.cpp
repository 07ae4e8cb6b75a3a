// S3 multipart uploads against Ceph RGW: from memory, a file and a stream of unknown length,
// with the checksums mixin; a failing stream aborts its upload; ListParts; and the put
// options that RGW honours (SSE-C over TLS, conditional reads by date).
#include "rgw_env.hpp"
#include "support/streams.hpp"

#include <cloudstore/checksum.hpp>
#include <cloudstore/client.hpp>
#include <cloudstore/mixins/checksums.hpp>
#include <cloudstore/storage/s3.hpp>

#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace cloudstore;
using namespace std::string_literals;

namespace {

constexpr std::uint64_t mib = 1024 * 1024;

// Bytes no two parts share (a part sent twice, or out of order, shows).
std::string pattern(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        out[i] = char((i * 131 + i / 4093) & 0xff);
    return out;
}

// Small parts, so that tens of MiB make several.
s3_options small_parts(s3_options o) {
    o.multipart_threshold = 5 * mib;
    o.part_size = 5 * mib;
    return o;
}

s3 fresh_small_parts(bool tls = false) {
    s3 storage(small_parts(rgw::options(rgw::fresh_bucket_name(), tls)));
    rgw::create_bucket(storage);
    return storage;
}

using rgw::aws;

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

} // namespace

TEST_CASE("s3 multipart on RGW: from memory, a file and a stream, read back whole") {
    client<s3> c(fresh_small_parts());
    const std::string data = pattern(21 * mib + 12345); // 5 parts, the last one short
    put_options po;
    po.content_type = "audio/wav";
    po.metadata = {{"voice", "alto"}};

    SUBCASE("memory: the parts are slices of the caller's bytes") {
        const auto info = c.put("big/memory.wav", data, po);
        CHECK(info.size == data.size());
        CHECK(ends_with(info.etag, "-5"));
        CHECK(c.get("big/memory.wav") == data);
        const auto head = c.head("big/memory.wav");
        CHECK(head.size == data.size());
        CHECK(head.etag == info.etag);
        CHECK(head.content_type == "audio/wav");
        CHECK(head.metadata.at("voice") == "alto");
    }
    SUBCASE("a file: each part reads its own range") {
        const auto path = std::filesystem::temp_directory_path() /
                          ("cloudstore-mp-" + std::to_string(::getpid()));
        std::ofstream(path, std::ios::binary) << data;
        error_code ec;
        const auto info = c.put_file("big/file.wav", path, po, ec);
        std::filesystem::remove(path);
        CHECK_FALSE(ec);
        CHECK(ends_with(info.etag, "-5"));
        CHECK(c.get("big/file.wav") == data);
    }
    SUBCASE("a stream of unknown length: parts buffered in turn") {
        auto stream = test::stream_of(data, 777777, false);
        const auto info = c.put("big/stream.wav", stream, po);
        CHECK(ends_with(info.etag, "-5"));
        CHECK(info.size == data.size());
        CHECK(c.get("big/stream.wav") == data);
    }
    SUBCASE("a stream that fits in one part is one PUT") {
        const std::string small = pattern(3 * mib);
        auto stream = test::stream_of(small, 1 << 20, false);
        const auto info = c.put("small/stream", stream, po);
        CHECK(info.etag.find('-') == std::string::npos);
        CHECK(c.get("small/stream") == small);
    }
    SUBCASE("exactly one part's worth from a stream is one PUT too") {
        const std::string exact = pattern(5 * mib);
        auto stream = test::stream_of(exact, 1 << 20, false);
        const auto info = c.put("exact/stream", stream, po);
        CHECK(info.etag.find('-') == std::string::npos);
        CHECK(c.get("exact/stream") == exact);
    }
}

TEST_CASE("s3 multipart on RGW: with the checksums mixin, each part carries its CRC32C") {
    client<s3, checksums<crc32c>> c(fresh_small_parts());
    const std::string data = pattern(11 * mib);
    error_code ec;
    const auto info = c.put("crc/object", data, put_options{}, ec);
    CHECK_FALSE(ec);
    CHECK(ends_with(info.etag, "-3"));
    CHECK(c.get("crc/object") == data);
}

TEST_CASE("s3 multipart on RGW: a stream that fails mid-way aborts its upload") {
    s3 storage = fresh_small_parts();
    client<s3> c(storage);
    std::uint64_t sent = 0;
    http::generator_source failing([&](std::span<std::byte> out, error_code& ec) -> std::size_t {
        if (sent >= 12 * mib) {
            ec = error_code(EIO, boost::system::generic_category());
            return 0;
        }
        std::memset(out.data(), 'x', out.size());
        sent += out.size();
        return out.size();
    });
    error_code ec;
    c.put("broken/stream", failing, put_options{}, ec);
    CHECK(ec == error_code(EIO, boost::system::generic_category()));
    CHECK_FALSE(c.exists("broken/stream", ec));
    // No upload is left behind.
    const auto [status, out] =
        aws("s3api list-multipart-uploads --bucket " + storage.options().bucket);
    CHECK(status == 0);
    CHECK(out.find("UploadId") == std::string::npos);
}

TEST_CASE("s3 on RGW: ListParts of an upload made by the AWS CLI") {
    s3 storage = fresh_small_parts();
    const auto bucket = storage.options().bucket;
    auto [status, out] = aws("s3api create-multipart-upload --bucket " + bucket +
                             " --key parts/one --query UploadId --output text");
    REQUIRE(status == 0);
    const std::string id = out.substr(0, out.find_first_of("\r\n"));
    const auto part =
        std::filesystem::temp_directory_path() / ("cloudstore-part-" + std::to_string(::getpid()));
    std::ofstream(part, std::ios::binary) << pattern(5 * mib);
    for (int n = 1; n <= 2; ++n)
        REQUIRE(aws("s3api upload-part --bucket " + bucket + " --key parts/one --part-number " +
                    std::to_string(n) + " --upload-id " + id + " --body " + part.string())
                    .first == 0);
    std::filesystem::remove(part);

    std::vector<s3_uploaded_part> parts;
    auto algorithm = storage.list_parts_algorithm("parts/one", id, parts);
    core::layers<> none;
    core::operation_context op;
    CHECK_FALSE(core::run_blocking(storage, algorithm, none, op));
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].number == 1);
    CHECK(parts[1].number == 2);
    CHECK(parts[0].size == 5 * mib);
    CHECK(parts[0].etag.size() == 32); // an MD5, quotes removed
    CHECK(aws("s3api abort-multipart-upload --bucket " + bucket + " --key parts/one --upload-id " +
              id)
              .first == 0);
    // A missing upload: NoSuchUpload, a not_found.
    auto gone = storage.list_parts_algorithm("parts/one", id, parts);
    CHECK(core::run_blocking(storage, gone, none, op) == condition::not_found);
}

TEST_CASE("s3 on RGW: SSE-C over TLS; the key never goes over plain HTTP") {
    const std::string key(32, 'k');
    put_options po;
    po.encryption.what = server_encryption::mode::customer_key;
    po.encryption.customer_key = key;
    get_options with_key;
    with_key.customer_key = key;

    client<s3> tls(fresh_small_parts(true));
    const std::string data = pattern(100000);
    tls.put("secret/small", data, po);
    CHECK(tls.get("secret/small", with_key) == data);
    error_code ec;
    tls.get("secret/small", get_options{}, ec); // without the key: refused by the server
    CHECK(ec);
    with_key.customer_key = std::string(32, 'j'); // the wrong key
    tls.get("secret/small", with_key, ec);
    CHECK(ec);
    with_key.customer_key = key;
    // Multipart: every part carries the key.
    const std::string big = pattern(11 * mib);
    tls.put("secret/big", big, po);
    CHECK(tls.get("secret/big", with_key) == big);

    // A key of the wrong size, and any key over plain HTTP, are refused before sending.
    po.encryption.customer_key = "short";
    tls.put("secret/other", data, po, ec);
    CHECK(ec == condition::invalid_argument);
    po.encryption.customer_key = key;
    client<s3> plain(rgw::fresh());
    plain.put("secret/plain", data, po, ec);
    CHECK(ec == condition::invalid_argument);
    CHECK_FALSE(plain.exists("secret/plain", ec));
}

TEST_CASE("s3 on RGW: If-Modified-Since") {
    client<s3> c(rgw::fresh());
    c.put("dated", "v"s);
    const auto stored = c.head("dated").last_modified;
    get_options since;
    since.if_modified_since = stored + std::chrono::hours(1);
    error_code ec;
    c.get("dated", since, ec);
    CHECK(ec == condition::not_modified);
    since.if_modified_since = stored - std::chrono::hours(1);
    CHECK(c.get("dated", since, ec) == "v");
    CHECK_FALSE(ec);
}
