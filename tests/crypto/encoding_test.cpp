// Hex, and base64 / base64url against RFC 4648 section 10.
#include <cloudstore/crypto/base64.hpp>
#include <cloudstore/crypto/hex.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace cloudstore::crypto;
using cloudstore::error_code;

namespace {
std::string text_of(const std::vector<std::byte>& bytes) {
    return std::string(as_text(bytes));
}
} // namespace

TEST_CASE("base64: RFC 4648 section 10 vectors, both ways") {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& vector : vectors) {
        const std::string_view plain = vector.first;
        const std::string_view encoded = vector.second;
        INFO(plain);
        CHECK(base64_encode(as_bytes(plain)) == encoded);
        error_code ec;
        CHECK(text_of(base64_decode(encoded, ec)) == plain);
        CHECK_FALSE(ec);
    }
}

TEST_CASE("base64: malformed text is refused with invalid_encoding") {
    for (const char* bad :
         {"Zg=", "Zg", "Z===", "Zm9v\n", " Zm9v", "Zm9v!A==", "Zg==Zg==", "=Zg=", "Zm=v"}) {
        INFO('"' << bad << '"');
        error_code ec;
        const auto out = base64_decode(bad, ec);
        CHECK(ec == cloudstore::errc::invalid_encoding);
        CHECK(out.empty());
    }
}

TEST_CASE("base64url: unpadded, URL alphabet, both ways") {
    const unsigned char raw[] = {0xfb, 0xff, 0xbf, 0x00, 0x3e};
    const auto bytes = std::as_bytes(std::span(raw));
    CHECK(base64_encode(bytes) == "+/+/AD4=");
    CHECK(base64url_encode(bytes) == "-_-_AD4");
    error_code ec;
    const auto back = base64url_decode("-_-_AD4", ec);
    CHECK_FALSE(ec);
    CHECK(std::equal(back.begin(), back.end(), bytes.begin(), bytes.end()));
    CHECK(text_of(base64url_decode("Zm9vYg", ec)) == "foob");
    CHECK(text_of(base64url_decode("Zm9vYg==", ec)) == "foob");
    base64url_decode("+/+/AD4", ec);
    CHECK(ec == cloudstore::errc::invalid_encoding);
    base64url_decode("Zm9vY", ec); // 5 characters: no byte boundary
    CHECK(ec == cloudstore::errc::invalid_encoding);
    base64url_decode("QQ=", ec); // a partial pad
    CHECK(ec == cloudstore::errc::invalid_encoding);
    base64url_decode("QR", ec); // non-canonical unused bits
    CHECK(ec == cloudstore::errc::invalid_encoding);
    CHECK(text_of(base64url_decode("QUI", ec)) == "AB");
    CHECK_FALSE(ec);
}

TEST_CASE("base64: every length 0..300 round-trips") {
    std::string data;
    for (int n = 0; n <= 300; ++n) {
        const std::string encoded = base64_encode(as_bytes(data));
        CHECK(encoded.size() == base64_encoded_size(data.size()));
        error_code ec;
        CHECK(text_of(base64_decode(encoded, ec)) == data);
        CHECK(text_of(base64url_decode(base64url_encode(as_bytes(data)), ec)) == data);
        data.push_back(static_cast<char>(n * 37 + 11));
    }
}

TEST_CASE("hex: lowercase out, either case in, malformed refused") {
    const unsigned char raw[] = {0x00, 0x7f, 0x80, 0xff, 0xab};
    CHECK(to_hex(std::as_bytes(std::span(raw))) == "007f80ffab");
    error_code ec;
    const auto back = from_hex("007F80FFab", ec);
    CHECK_FALSE(ec);
    CHECK(to_hex(back) == "007f80ffab");
    CHECK(from_hex("abc", ec).empty());
    CHECK(ec == cloudstore::errc::invalid_encoding);
    CHECK(from_hex("zz", ec).empty());
    CHECK(ec == cloudstore::errc::invalid_encoding);
    CHECK(from_hex("", ec).empty());
    CHECK_FALSE(ec);
}
