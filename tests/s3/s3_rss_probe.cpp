// Peak memory of a 200 MiB multipart upload from a file and its download into a file, against
// the test run's Ceph RGW, in a process of its own (getrusage). The parts are in flight
// together: the connection pool opened one connection per part in flight, which it would not
// if the parts went one after another. Exits non-zero when the peak resident set exceeds
// 64 MiB, a byte differs, or fewer than 4 parts were in flight.
// Under ASan run with ASAN_OPTIONS=quarantine_size_mb=0: ASan otherwise keeps freed memory.
#define DOCTEST_CONFIG_DISABLE // rgw_env.hpp serves doctest tests too; no test runs here
#include "rgw_env.hpp"

#include <cloudstore/client.hpp>
#include <cloudstore/storage/s3.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace cloudstore;

namespace {

constexpr std::size_t chunk = 1 << 20;

char byte_at(std::uint64_t i) {
    return char((i * 131 + i / 4093) & 0xff);
}

bool write_pattern(const fs::path& path, std::uint64_t size) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return false;
    std::vector<char> buffer(chunk);
    for (std::uint64_t at = 0; at < size; at += chunk) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - at));
        for (std::size_t i = 0; i < n; ++i)
            buffer[i] = byte_at(at + i);
        if (std::fwrite(buffer.data(), 1, n, f) != n) return std::fclose(f), false;
    }
    return std::fclose(f) == 0;
}

bool same_pattern(const fs::path& path, std::uint64_t size) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return false;
    std::vector<char> buffer(chunk);
    std::uint64_t at = 0;
    for (std::size_t n; (n = std::fread(buffer.data(), 1, chunk, f)) > 0; at += n)
        for (std::size_t i = 0; i < n; ++i)
            if (buffer[i] != byte_at(at + i)) return std::fclose(f), false;
    std::fclose(f);
    return at == size;
}

} // namespace

int main() try {
    constexpr std::uint64_t size = 200ull << 20;
    constexpr long limit_kib = 64 * 1024;
    const auto dir =
        fs::temp_directory_path() / ("cloudstore-s3-rss-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto up = dir / "up.bin", down = dir / "down.bin";
    if (!write_pattern(up, size)) return std::fprintf(stderr, "cannot write %s\n", up.c_str()), 3;

    s3 storage = rgw::fresh(); // 8 MiB parts, 4 in flight: the defaults
    client<s3> c(storage);
    error_code ec;
    storage_failure failure;
    call_options call;
    call.detail = &failure;
    const auto put = c.put_file("big.bin", up, put_options{}, ec, call);
    const auto opened = storage.transport().stats().connections_opened;
    if (!ec) c.get_file("big.bin", down, get_options{}, ec, call);
    const bool intact = !ec && same_pattern(down, size);
    error_code removed;
    c.remove("big.bin", removed); // RGW keeps objects in memory
    fs::remove_all(dir);

    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    std::printf("put etag %s, %llu connections opened, download %s, peak RSS %ld KiB "
                "(limit %ld)\n",
                put.etag.c_str(), static_cast<unsigned long long>(opened),
                intact ? "intact" : "WRONG", usage.ru_maxrss, limit_kib);
    if (ec) return std::fprintf(stderr, "failed: %s\n", failure.describe().c_str()), 1;
    const bool parts = put.etag.size() > 3 && put.etag.substr(put.etag.size() - 3) == "-25";
    if (!parts || !intact || opened < 4) return 1;
    return usage.ru_maxrss <= limit_kib ? 0 : 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
}
