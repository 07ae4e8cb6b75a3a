// local storage's key <-> path mapping: every valid key has one path, every path stays inside
// the root, and the mapping reads back.
#include <cloudstore/object.hpp>
#include <cloudstore/storage/detail/local_key_path.hpp>

#include <doctest/doctest.h>

#include <initializer_list>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

using namespace cloudstore;
using namespace cloudstore::storage::detail;

namespace {

std::vector<std::string> names_of(const std::string& path) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const auto slash = path.find('/', start);
        out.push_back(path.substr(start, slash - start));
        if (slash == std::string::npos) return out;
        start = slash + 1;
    }
}

// Keys made of the bytes that matter most: separators, dots, escapes, NUL, controls, UTF-8,
// and runs long enough to cross the piece limit.
std::string random_key(std::mt19937_64& rng) {
    static const std::vector<std::string> atoms = {"/",
                                                   "/",
                                                   ".",
                                                   "..",
                                                   "%",
                                                   "%2E",
                                                   std::string(1, '\0'),
                                                   "\x01",
                                                   "\x7f",
                                                   "a",
                                                   "b",
                                                   "\xc3\xa9",
                                                   "\xf0\x9f\x8e\xb5",
                                                   " ",
                                                   "~",
                                                   std::string(199, 'x'),
                                                   std::string(70, '.')};
    std::uniform_int_distribution<std::size_t> pick(0, atoms.size() - 1);
    std::uniform_int_distribution<int> count(1, 12);
    std::string key;
    for (int n = count(rng); n > 0; --n) {
        const auto& atom = atoms[pick(rng)];
        if (key.size() + atom.size() > max_key_size) break;
        key += atom;
    }
    return key.empty() ? "k" : key;
}

// Joins pieces (g++ 12 warns wrongly on chains of std::string operator+).
std::string cat(std::initializer_list<std::string_view> pieces) {
    std::string out;
    for (auto p : pieces)
        out.append(p);
    return out;
}

} // namespace

TEST_CASE("local paths: known answers") {
    CHECK(local_object_path("a") == "a%o");
    CHECK(local_object_path("a/b") == "a%d/b%o");
    CHECK(local_object_path("a/b/c") == "a%d/b%d/c%o"); // beside a/b, not in its way
    CHECK(local_object_path(".") == "%2E%o");
    CHECK(local_object_path("..") == "%2E.%o");
    CHECK(local_object_path("../../etc/passwd") == "%2E.%d/%2E.%d/etc%d/passwd%o");
    CHECK(local_object_path("/abs") == "%d/abs%o");
    CHECK(local_object_path("a//b/") == "a%d/%d/b%d/%o");
    CHECK(local_object_path("100%") == "100%25%o");
    CHECK(local_object_path(std::string("x\0y\n", 4)) == "x%00y%0A%o");
    CHECK(local_object_path("caf\xc3\xa9.wav") == "caf\xc3\xa9.wav%o");
    CHECK(local_object_path(".hidden/f") == "%2Ehidden%d/f%o");
    // A long segment continues in folders of at most max_piece escaped bytes.
    const std::string a200(200, 'a');
    const std::string a199(199, 'a'), a50(50, 'a');
    CHECK(local_object_path(std::string(450, 'a')) == cat({a200, "%c/", a200, "%c/", a50, "%o"}));
    // A '.' that would begin a continuation is escaped too; a %XX is never split.
    CHECK(local_object_path(cat({a200, ".x"})) == cat({a200, "%c/%2Ex%o"}));
    CHECK(local_object_path(cat({a199, "%b"})) == cat({a199, "%c/%25b%o"}));
}

TEST_CASE("local paths: every key reads back, stays inside the root, and has its own path") {
    std::mt19937_64 rng(20261124);
    std::set<std::string> keys, paths;
    std::size_t long_segments = 0, dots = 0, nuls = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::string key = random_key(rng);
        REQUIRE_FALSE(validate_key(key));
        const std::string path = local_object_path(key);
        INFO(path);
        REQUIRE(local_key_of(path) == key);
        const auto names = names_of(path);
        for (std::size_t n = 0; n < names.size(); ++n) {
            const auto& name = names[n];
            REQUIRE_FALSE(name.empty());
            REQUIRE(name != ".");
            REQUIRE(name != "..");
            REQUIRE(name.front() != '.');
            REQUIRE(name.find('\0') == std::string::npos);
            // With a temporary's suffix a name still fits NAME_MAX.
            REQUIRE(name.size() + 18 <= 255);
            const auto kind = local_kind_of(name);
            REQUIRE(kind == (n + 1 == names.size() ? local_name_kind::object
                                                   : (kind == local_name_kind::continuation
                                                          ? local_name_kind::continuation
                                                          : local_name_kind::folder)));
            if (kind == local_name_kind::continuation) ++long_segments;
        }
        if (key.find("/../") != std::string::npos || key.starts_with("../")) ++dots;
        if (key.find('\0') != std::string::npos) ++nuls;
        keys.insert(key);
        paths.insert(path);
    }
    CHECK(paths.size() == keys.size()); // distinct keys, distinct paths
    // The generator reached the cases that matter.
    CHECK(long_segments > 500);
    CHECK(dots > 100);
    CHECK(nuls > 1000);
    CHECK(keys.size() > 15000);
}

TEST_CASE("local paths: what is not an object path is not read as one") {
    for (const char* path :
         {"", "a", "a%d", "a%d/", "a%o/b%o", "a%c", ".a%o", "a%2e%o", "%2e%o", "a%m", "a%x",
          "a%0%o", "a%0G%o", "x%d//y%o", "a%t0123456789abcdef", "a%d/./b%o", "a%d/../b%o"}) {
        INFO(path);
        CHECK_FALSE(local_key_of(path).has_value());
    }
    CHECK(local_kind_of("song%m") == local_name_kind::metadata);
    CHECK(local_kind_of("song%t0123456789abcdef") == local_name_kind::temporary);
    CHECK(local_kind_of("song%t0123456789abcdeF") == local_name_kind::foreign);
    CHECK(local_kind_of("song.wav") == local_name_kind::foreign);
    CHECK(local_kind_of("%") == local_name_kind::foreign);
    CHECK(local_unescape_name("a%2Eb%25%d") == std::string("a.b%"));
    CHECK(local_unescape_name("song%t0123456789abcdef") == std::string("song"));
    CHECK_FALSE(local_unescape_name("a%2%d").has_value());
}
