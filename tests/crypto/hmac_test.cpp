// HMAC-SHA256: every test case of RFC 4231 section 4.
#include <cloudstore/crypto/hex.hpp>
#include <cloudstore/crypto/hmac.hpp>

#include <doctest/doctest.h>
#include <test_support.hpp>

#include <string>
#include <vector>

using namespace cloudstore::crypto;
using cloudstore::test::hex_bytes;

namespace {
std::vector<std::byte> repeat(unsigned char value, std::size_t n) {
    return std::vector<std::byte>(n, static_cast<std::byte>(value));
}
} // namespace

TEST_CASE("hmac_sha256: RFC 4231 test cases 1-7") {
    struct rfc_case {
        int number;
        std::vector<std::byte> key;
        std::vector<std::byte> data;
        std::string mac; // case 5 gives only the first 128 bits
    };
    const std::vector<rfc_case> cases = {
        {1, repeat(0x0b, 20),
         std::vector<std::byte>(as_bytes("Hi There").begin(), as_bytes("Hi There").end()),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {2, hex_bytes("4a656665"),
         hex_bytes("7768617420646f2079612077616e7420666f72206e6f7468696e673f"),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {3, repeat(0xaa, 20), repeat(0xdd, 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {4, hex_bytes("0102030405060708090a0b0c0d0e0f10111213141516171819"), repeat(0xcd, 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {5, repeat(0x0c, 20), hex_bytes("546573742057697468205472756e636174696f6e"),
         "a3b6167473100ee06e0c796c2955552b"},
        {6, repeat(0xaa, 131),
         hex_bytes(
             "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d20"
             "48617368204b6579204669727374"),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {7, repeat(0xaa, 131),
         hex_bytes(
             "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b"
             "2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520"
             "646174612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265"
             "206265696e6720757365642062792074686520484d414320616c676f726974686d2e"),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    CHECK(cases.size() == 7);
    for (const auto& c : cases) {
        INFO("RFC 4231 test case " << c.number);
        const std::string mac = to_hex(hmac_sha256(c.key, c.data));
        CHECK(mac.substr(0, c.mac.size()) == c.mac);
        // Incremental, byte by byte, on a keyed context.
        hmac_sha256_context ctx(c.key);
        for (std::byte b : c.data)
            ctx.update(std::span(&b, 1));
        CHECK(to_hex(ctx.finish()) == mac);
    }
}

TEST_CASE("hmac_sha256_context: finish() keeps the key for the next message; init() changes it") {
    const auto key = as_bytes("key");
    hmac_sha256_context ctx(key);
    ctx.update("The quick brown fox jumps over the lazy dog");
    const auto first = ctx.finish();
    CHECK(to_hex(first) == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    ctx.update("The quick brown fox jumps over the lazy dog");
    CHECK(ctx.finish() == first);
    ctx.init(as_bytes("other"));
    ctx.update("The quick brown fox jumps over the lazy dog");
    CHECK(ctx.finish() ==
          hmac_sha256(as_bytes("other"), "The quick brown fox jumps over the lazy dog"));
}

TEST_CASE("hmac_sha256: an empty key is a key like any other") {
    // HMAC with an empty key and empty message (a widely published value).
    CHECK(to_hex(hmac_sha256(byte_view{}, byte_view{})) ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}
