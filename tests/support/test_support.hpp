// Helpers shared by cloudstore's tests: where shared/ lives, reading files, hex literals.
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace cloudstore::test {

/// The shared/ folder beside the clone (vectors, hooks). Every test that needs it fails loudly
/// when it is missing: the vectors are part of the contract, never optional.
inline std::string shared_dir() {
    return CLOUDSTORE_SHARED_DIR;
}

/// A whole file as text; fails the test (REQUIRE) when it cannot be read.
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    INFO("reading " << path);
    REQUIRE_MESSAGE(in.good(), "cannot open " << path << " (is ../shared beside the clone?)");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Bytes from a hex literal written in a test (no validation beyond what a test needs).
inline std::vector<std::byte> hex_bytes(std::string_view hex) {
    std::vector<std::byte> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(
            static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

/// True under CI (CI=true): a test that cannot run fails there instead of only warning.
inline bool under_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string_view(ci) == "true";
}

} // namespace cloudstore::test
