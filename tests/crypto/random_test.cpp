// Secure random bytes.
#include <cloudstore/crypto/random.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <set>
#include <vector>

using namespace cloudstore::crypto;

TEST_CASE("random_bytes: fills exactly the span, differently each call") {
    std::set<std::vector<std::byte>> seen;
    for (int i = 0; i < 64; ++i) {
        std::array<std::byte, 34> buf{};
        buf.back() = std::byte{0x5a};
        cloudstore::error_code ec;
        random_bytes(std::span(buf).first(33), ec);
        CHECK_FALSE(ec);
        CHECK(buf.back() == std::byte{0x5a}); // nothing written past the span
        seen.emplace(buf.begin(), buf.end() - 1);
    }
    CHECK(seen.size() == 64); // 264 random bits: a repeat would mean a broken generator

    std::vector<std::byte> big(1 << 20);
    random_bytes(big);
    // Every byte value appears in 1 MiB of random data.
    std::array<bool, 256> values{};
    for (std::byte b : big)
        values[std::to_integer<unsigned>(b)] = true;
    CHECK(std::all_of(values.begin(), values.end(), [](bool v) { return v; }));
    cloudstore::error_code ec;
    random_bytes({}, ec);
    CHECK_FALSE(ec);
}
