// CRC-32C, CRC-32 and CRC-64/NVME: known answers, wire encodings, incremental feeding and the
// combine operation.
#include <cloudstore/checksum/checksum_algorithm.hpp>
#include <cloudstore/checksum/crc32.hpp>
#include <cloudstore/checksum/crc32c.hpp>
#include <cloudstore/checksum/crc64nvme.hpp>

#ifdef BOOST_ASIO_VERSION
#error "checksum/ must not include Asio"
#endif

#include <doctest/doctest.h>
#include <test_support.hpp>

#include <random>
#include <vector>

using cloudstore::crc32;
using cloudstore::crc32c;
using cloudstore::crc64nvme;
using cloudstore::crypto::as_bytes;

static_assert(cloudstore::checksum_algorithm<crc32c>);
static_assert(cloudstore::checksum_algorithm<crc32>);
static_assert(cloudstore::checksum_algorithm<crc64nvme>);
static_assert(!cloudstore::checksum_algorithm<int>);
// Shifting by a byte count never overflows n * 8: 2^62 bytes equals 2^61 bytes twice.
using crc64_math = cloudstore::detail::crc::crc64nvme_math;
static_assert(crc64_math::shift(0x1234, std::uint64_t{1} << 62) ==
              crc64_math::shift(crc64_math::shift(0x1234, std::uint64_t{1} << 61),
                                std::uint64_t{1} << 61));
static_assert(crc64_math::shift(0x1234, 1000) ==
              crc64_math::multiply(crc64_math::x_pow(8000), 0x1234));

TEST_CASE("check values of \"123456789\"") {
    CHECK(crc32c::compute(as_bytes("123456789")) == 0xe3069283u);
    CHECK(crc32::compute(as_bytes("123456789")) == 0xcbf43926u);
    CHECK(crc64nvme::compute(as_bytes("123456789")) == 0xae8b14860a799888ull);
    CHECK(crc32c::compute({}) == 0);
    CHECK(crc64nvme::compute({}) == 0);
}

TEST_CASE("crc32c: RFC 3720 appendix B.4 vectors") {
    // The RFC prints each CRC as it is stored on the wire, little end first (32 zero bytes:
    // "aa 36 91 8a"); as a number that is 0x8a9136aa.
    std::vector<std::byte> ascending, descending;
    for (int i = 0; i < 32; ++i) {
        ascending.push_back(static_cast<std::byte>(i));
        descending.push_back(static_cast<std::byte>(31 - i));
    }
    CHECK(crc32c::compute(std::vector<std::byte>(32, std::byte{0})) == 0x8a9136aau);
    CHECK(crc32c::compute(std::vector<std::byte>(32, std::byte{0xff})) == 0x62a8ab43u);
    CHECK(crc32c::compute(ascending) == 0x46dd794eu);
    CHECK(crc32c::compute(descending) == 0x113fdb5cu);
    const auto read_pdu = cloudstore::test::hex_bytes("01c00000000000000000000000000000"
                                                      "14000000000004000000001400000018"
                                                      "28000000000000000200000000000000");
    CHECK(read_pdu.size() == 48);
    CHECK(crc32c::compute(read_pdu) == 0xd9963a56u);
}

TEST_CASE("wire encoding: base64 of the big-endian value") {
    crc32c c;
    c.update(as_bytes("123456789"));
    const auto digest = c.finish();
    CHECK(digest ==
          crc32c::digest_type{std::byte{0xe3}, std::byte{0x06}, std::byte{0x92}, std::byte{0x83}});
    CHECK(cloudstore::to_base64(digest) == "4waSgw==");
    CHECK(c.value() == 0); // finish() started again: the CRC of nothing
    CHECK(cloudstore::to_base64(cloudstore::checksum_of<crc32>(as_bytes("123456789"))) ==
          "y/Q5Jg==");
    CHECK(cloudstore::to_base64(cloudstore::checksum_of<crc64nvme>(as_bytes("123456789"))) ==
          "rosUhgp5mIg=");
}

TEST_CASE_TEMPLATE("incremental feeding in any split equals one call", C, crc32c, crc32,
                   crc64nvme) {
    std::mt19937_64 rng(20261124);
    std::vector<std::byte> data(10000);
    for (auto& b : data)
        b = static_cast<std::byte>(rng());
    const auto whole = C::compute(data);
    for (int round = 0; round < 200; ++round) {
        C c;
        std::size_t at = 0;
        while (at < data.size()) {
            const std::size_t n = std::min<std::size_t>(rng() % 700, data.size() - at);
            c.update(std::span(data).subspan(at, n));
            at += n;
        }
        CHECK(c.value() == whole);
    }
}

TEST_CASE_TEMPLATE("combine: the CRC of A+B from the CRCs of A and B and B's length", C, crc32c,
                   crc32, crc64nvme) {
    std::mt19937_64 rng(7);
    std::vector<std::byte> data(70000);
    for (auto& b : data)
        b = static_cast<std::byte>(rng());
    const std::span<const std::byte> all(data);
    for (int round = 0; round < 300; ++round) {
        const std::size_t total = rng() % data.size();
        const std::size_t cut = total == 0 ? 0 : rng() % (total + 1);
        const auto a = C::compute(all.first(cut));
        const auto b = C::compute(all.subspan(cut, total - cut));
        CHECK(C::combine(a, b, total - cut) == C::compute(all.first(total)));
    }
    // Combining with an empty B changes nothing; parts combine in sequence (multipart).
    const auto a = C::compute(all.first(1000));
    CHECK(C::combine(a, C::compute({}), 0) == a);
    typename C::value_type running = C::compute({});
    std::size_t at = 0;
    for (std::size_t part : {5000u, 5000u, 1u, 0u, 12345u, 999u}) {
        running = C::combine(running, C::compute(all.subspan(at, part)), part);
        at += part;
    }
    CHECK(running == C::compute(all.first(at)));
}
