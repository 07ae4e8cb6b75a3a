// sha256 and md5 as checksums: the wire forms S3 and GCS expect, and the concept.
#include <cloudstore/checksum/checksum_algorithm.hpp>
#include <cloudstore/checksum/md5.hpp>
#include <cloudstore/checksum/sha256.hpp>

#include <doctest/doctest.h>

using cloudstore::crypto::as_bytes;

static_assert(cloudstore::checksum_algorithm<cloudstore::sha256>);
static_assert(cloudstore::checksum_algorithm<cloudstore::md5>);

TEST_CASE("sha256 and md5: base64 wire forms") {
    // Content-MD5 of "hello world" and x-amz-checksum-sha256 of the same bytes.
    CHECK(cloudstore::to_base64(cloudstore::checksum_of<cloudstore::md5>(
              as_bytes("hello world"))) == "XrY7u+Ae7tCTyyK7j1rNww==");
    CHECK(cloudstore::to_base64(cloudstore::checksum_of<cloudstore::sha256>(
              as_bytes("hello world"))) == "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=");
}

TEST_CASE("sha256: incremental equals one-shot; finish() restarts") {
    cloudstore::sha256 s;
    s.update(as_bytes("hello "));
    s.update(as_bytes("world"));
    const auto d = s.finish();
    CHECK(d == cloudstore::crypto::sha256("hello world"));
    s.update(as_bytes("hello world"));
    CHECK(s.finish() == d);
    s.update(as_bytes("x"));
    s.reset();
    CHECK(s.finish() == cloudstore::crypto::sha256(""));
}
