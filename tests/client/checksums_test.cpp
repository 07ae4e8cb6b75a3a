// The checksums mixin over memory and local storage: uploads carry a checksum the store checks
// and keeps, whole-object downloads are verified, ranges are not.
#include <cloudstore/checksum.hpp>
#include <cloudstore/client.hpp>
#include <cloudstore/mixins/checksums.hpp>
#include <cloudstore/storage/local.hpp>
#include <cloudstore/storage/memory.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using namespace cloudstore;
using namespace std::string_literals;

namespace {

template <class A>
std::string expected(std::string_view data) {
    return to_base64(checksum_of<A>(std::as_bytes(std::span(data))));
}

// A mixin that sends a wrong value ahead of every upload.
struct lying_checksums {
    void attempt_begin(core::attempt_context& a, error_code&) {
        checksums<crc32c>{}.attempt_begin(a, ignored);
        if (a.step.body != nullptr) {
            a.step.checksum.in_trailer = false; // a value sent ahead, as in a header
            a.step.checksum.value = "AAAAAA==";
        }
    }
    error_code ignored;
};

} // namespace

TEST_CASE_TEMPLATE("checksums: each algorithm is computed, checked and kept", A, crc32c, crc32,
                   crc64nvme, sha256, md5) {
    client<memory, checksums<A>> c;
    const std::string data = "the quick brown fox jumps over the lazy dog";
    auto info = c.put("k", data);
    CHECK(info.checksum_algorithm == A::name);
    CHECK(info.checksum == expected<A>(data));
    CHECK(c.head("k").checksum == expected<A>(data));
    CHECK(c.get("k") == data); // verified on the way back
}

TEST_CASE("checksums: a body that cannot rewind gets its checksum as it streams") {
    client<memory, checksums<crc32c>> c;
    int calls = 0;
    http::generator_source once([&](std::span<std::byte> buf, error_code&) -> std::size_t {
        if (calls++ > 0) return 0;
        std::memcpy(buf.data(), "streamed", 8);
        return 8;
    });
    auto info = c.put("s", once);
    CHECK(info.checksum == expected<crc32c>("streamed"));
}

TEST_CASE("checksums: a wrong upload value is refused; without the mixin nothing is kept") {
    client<memory, lying_checksums> liar;
    error_code ec;
    liar.put("k", "data"s, put_options{}, ec);
    CHECK(ec == condition::checksum_mismatch);
    CHECK_FALSE(liar.exists("k", ec));

    client<memory> plain;
    CHECK(plain.put("k", "data"s).checksum.empty());
    CHECK(plain.head("k").checksum_algorithm.empty());
}

TEST_CASE("checksums: a corrupted local object fails whole reads, not ranges") {
    const auto root = std::filesystem::temp_directory_path() /
                      ("cloudstore-checksums-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root);
    {
        client<local, checksums<crc64nvme>> c{local(root)};
        c.put("audio.wav", "0123456789"s);
        CHECK(c.get("audio.wav") == "0123456789");
        // Flip a byte on disk, keeping the inode (so the metadata still belongs to it).
        {
            std::fstream f(root / "audio.wav%o", std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(3);
            f.put('X');
        }
        error_code ec;
        c.get("audio.wav", {}, ec);
        CHECK(ec == condition::checksum_mismatch);
        CHECK_THROWS_AS(c.get("audio.wav"), checksum_mismatch_error);
        // A range has no stored checksum: not verified.
        CHECK(c.get("audio.wav", [] {
            get_options o;
            o.range = byte_range{0, 5};
            return o;
        }()) == "012X4");
        // Without the mixin nothing is checked.
        client<local> plain{local(root)};
        CHECK(plain.get("audio.wav") == "012X456789");
    }
    std::filesystem::remove_all(root);
}
