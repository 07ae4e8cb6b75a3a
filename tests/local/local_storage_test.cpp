// local storage on disk: what the conformance suite cannot see from the API: where files go,
// that nothing lands outside the root, planted symbolic links, leftovers of a crashed write.
#include <cloudstore/client.hpp>
#include <cloudstore/storage/local.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using namespace cloudstore;
namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

struct scratch_dir {
    fs::path path = fs::temp_directory_path() / ("cloudstore-local-" + std::to_string(::getpid()) +
                                                 "-" + std::to_string(counter++));
    scratch_dir() { fs::remove_all(path); }
    ~scratch_dir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    static inline int counter = 0;
};

std::size_t files_under(const fs::path& p) {
    std::size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(p))
        n += e.is_regular_file() ? 1 : 0;
    return n;
}

} // namespace

TEST_CASE("local: path-escape keys stay inside the root") {
    scratch_dir outer;
    const fs::path root = outer.path / "root";
    client<local> c{local(root)};
    for (const std::string& key : {"../escape"s, "../../escape"s, "/etc/passwd"s, "a/../../b"s}) {
        INFO(key);
        c.put(key, "inside"s);
        CHECK(c.get(key) == "inside");
    }
    // Everything written is under root; nothing beside it.
    std::size_t outside = 0;
    for (auto& e : fs::directory_iterator(outer.path))
        outside += e.path() != root ? 1 : 0;
    CHECK(outside == 0);
    CHECK(files_under(root) == 8); // four objects, four metadata files
}

TEST_CASE("local: a symbolic link planted in the tree is not followed") {
    scratch_dir outer;
    const fs::path root = outer.path / "root";
    const fs::path elsewhere = outer.path / "elsewhere";
    fs::create_directories(elsewhere);
    client<local> c{local(root)};
    c.put("dir/file", "x"s);
    // Replace the folder of "dir/" by a link to a folder outside the root.
    const fs::path folder = root / "dir%d";
    fs::remove_all(folder);
    fs::create_directory_symlink(elsewhere, folder);
    error_code ec;
    c.put("dir/other", "y"s, put_options{}, ec);
    CHECK(ec == condition::invalid_argument);
    c.get("dir/file", {}, ec);
    CHECK(ec);
    CHECK(fs::is_empty(elsewhere));
}

TEST_CASE("local: leftovers of a crashed write are not objects; file:// URLs") {
    scratch_dir outer;
    client<local> c{local(outer.path)};
    c.put("song.wav", "RIFF"s);
    // A temporary file a crash left behind, and a foreign file.
    std::ofstream(outer.path / "song.wav%t0123456789abcdef") << "half";
    std::ofstream(outer.path / "README.txt") << "not an object";
    error_code ec;
    auto page = c.list(list_options{}, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(page.objects.size() == 1);
    CHECK(page.objects[0].key == "song.wav");
    CHECK(page.objects[0].size == 4);
    const std::string url = c.storage().url("song.wav");
    REQUIRE(url.starts_with("file://"));
    std::ifstream in(url.substr(7));
    std::string content;
    std::getline(in, content);
    CHECK(content == "RIFF");
    // Metadata that names another content (a crash between the two renames) is ignored.
    put_options typed;
    typed.content_type = "audio/wav";
    c.put("song.wav", "RIFF2"s, typed);
    CHECK(c.head("song.wav").content_type == "audio/wav");
    fs::copy_file(outer.path / "song.wav%o", outer.path / "copy", fs::copy_options::none);
    fs::rename(outer.path / "copy", outer.path / "song.wav%o"); // new inode, old metadata
    CHECK(c.head("song.wav").content_type == "application/octet-stream");
    CHECK(c.get("song.wav") == "RIFF2");
}
