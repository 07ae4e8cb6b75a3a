// Checksums and digests of a file, with the wire encodings S3 and GCS expect.
//
//   checksums [FILE]
//
// Without FILE, writes an 8 MiB file of pseudo-random bytes to the temporary folder first.
// Reads the file once, in 64 KiB pieces as a streamed upload would, feeding all five
// algorithms, and prints each value in hex and as the header that carries it.
#include <cloudstore/checksum.hpp>
#include <cloudstore/crypto.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace cloudstore;

namespace {

fs::path generate_file() {
    const fs::path path = fs::temp_directory_path() / "cloudstore-demo.bin";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::mt19937_64 rng(2026);
    std::vector<std::uint64_t> block(8192);
    for (int i = 0; i < 128; ++i) { // 128 x 64 KiB = 8 MiB
        for (auto& w : block)
            w = rng();
        out.write(reinterpret_cast<const char*>(block.data()),
                  static_cast<std::streamsize>(block.size() * sizeof block[0]));
    }
    return path;
}

template <std::size_t N>
std::string hex(const std::array<std::byte, N>& d) {
    return crypto::to_hex(d);
}

} // namespace

int main(int argc, char** argv) {
    const fs::path path = argc > 1 ? fs::path(argv[1]) : generate_file();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "checksums: cannot open %s\n", path.c_str());
        return 1;
    }
    crc32c c32c;
    crc32 c32;
    crc64nvme c64;
    sha256 s256;
    md5 m5;
    std::vector<char> buffer(64 * 1024);
    std::uint64_t size = 0;
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const auto got = static_cast<std::size_t>(in.gcount());
        const auto bytes = std::as_bytes(std::span(buffer.data(), got));
        c32c.update(bytes);
        c32.update(bytes);
        c64.update(bytes);
        s256.update(bytes);
        m5.update(bytes);
        size += got;
    }
    const auto d32c = c32c.finish();
    const auto d32 = c32.finish();
    const auto d64 = c64.finish();
    const auto ds = s256.finish();
    const auto dm = m5.finish();

    std::printf("file: %s (%llu bytes)\n\n", path.c_str(), static_cast<unsigned long long>(size));
    std::printf("%-10s %-64s %s\n", "algorithm", "hex", "on the wire");
    std::printf("%-10s %-64s x-amz-checksum-crc32c: %s\n", "crc32c", hex(d32c).c_str(),
                to_base64(d32c).c_str());
    std::printf("%-10s %-64s x-amz-checksum-crc32: %s\n", "crc32", hex(d32).c_str(),
                to_base64(d32).c_str());
    std::printf("%-10s %-64s x-amz-checksum-crc64nvme: %s\n", "crc64nvme", hex(d64).c_str(),
                to_base64(d64).c_str());
    std::printf("%-10s %-64s x-amz-checksum-sha256: %s\n", "sha256", hex(ds).c_str(),
                to_base64(ds).c_str());
    std::printf("%-10s %-64s Content-MD5: %s\n", "md5", hex(dm).c_str(), to_base64(dm).c_str());
    std::printf("\nGCS: x-goog-hash: crc32c=%s,md5=%s\n", to_base64(d32c).c_str(),
                to_base64(dm).c_str());
    std::printf("SigV4 payload hash (x-amz-content-sha256): %s\n", hex(ds).c_str());
    return 0;
}
