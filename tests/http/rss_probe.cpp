// Peak memory of a 1 GiB transfer, in a process of its own (getrusage): `rss_probe upload`
// sends a 1 GiB file range, `rss_probe download` receives 1 GiB into a file. The test server
// runs in this process too, so the figure bounds both sides together. Exits non-zero when
// the peak resident set exceeds the limit (64 MiB) or a byte count is off.
// Under ASan run with ASAN_OPTIONS=quarantine_size_mb=0: ASan otherwise keeps freed memory.
#include <cloudstore/http.hpp>

#include "support/test_server.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace cloudstore;

int main(int argc, char** argv) {
    constexpr std::uint64_t size = std::uint64_t{1} << 30;
    constexpr long limit_kib = 64 * 1024;
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode != "upload" && mode != "download") {
        std::fprintf(stderr, "usage: rss_probe upload|download\n");
        return 2;
    }
    const fs::path file =
        fs::temp_directory_path() / ("cloudstore-rss-" + std::to_string(::getpid()) + ".bin");
    cloudstore::test::server_options server_options;
    server_options.record_requests = false;
    cloudstore::test::test_server server(server_options);
    boost::asio::io_context io;
    http::transport_options options;
    options.proxy = {};
    http::transport transport(io.get_executor(), options);
    error_code ec;
    http::request req;
    req.to = http::endpoint::parse(server.url(), ec);
    http::response res;
    std::uint64_t moved = 0;
    if (mode == "upload") {
        // A sparse 1 GiB file: reads cost page cache, never this process's memory.
        const int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
        if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) return 3;
        ::close(fd);
        http::file_source body(file, 0, std::nullopt, ec);
        if (ec) return 3;
        req.method = "PUT";
        req.target = "/upload";
        req.body = &body;
        transport.exchange(req, res, ec);
        moved = server.body_bytes();
    } else {
        http::file_sink sink(file);
        req.target = "/bytes/" + std::to_string(size);
        res.sink = &sink;
        transport.exchange(req, res, ec);
        moved = sink.written();
    }
    fs::remove(file);
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    std::printf("rss_probe %s: %s, status %u, %llu bytes, peak RSS %ld KiB (limit %ld KiB)\n",
                mode.c_str(), ec ? ec.message().c_str() : "ok", res.status,
                static_cast<unsigned long long>(moved), usage.ru_maxrss, limit_kib);
    if (ec || res.status != 200 || moved != size) return 1;
    return usage.ru_maxrss < limit_kib ? 0 : 1;
}
