// The HTTP transport against servers the test starts on 127.0.0.1 (plain and TLS, with a
// throwaway CA made here with OpenSSL), each case through both faces where it applies:
// the blocking face (a private io_context per thread) and the async face (callbacks here;
// use_future, deferred and use_awaitable in their own case).
#include <cloudstore/checksum/crc32c.hpp>
#include <cloudstore/http.hpp>

#include <doctest/doctest.h>
#include <test_support.hpp>

#include "support/test_certificates.hpp"
#include "support/test_server.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace cloudstore;
using namespace std::chrono_literals;
using cloudstore::test::server_mode;
using cloudstore::test::test_server;

namespace {

enum class face { blocking, async };
const face both_faces[] = {face::blocking, face::async};
const char* name(face f) {
    return f == face::blocking ? "blocking" : "async";
}

// A transport and the io_context its async face runs on.
struct client {
    explicit client(http::transport_options o = {})
        : t(io.get_executor(), clear_proxy(std::move(o))) {}
    static http::transport_options clear_proxy(http::transport_options o) {
        o.proxy = {}; // tests never go through the machine's proxy unless they say so
        return o;
    }
    error_code run(face f, http::request& req, http::response& res) {
        error_code ec;
        if (f == face::blocking) {
            t.exchange(req, res, ec);
            return ec;
        }
        bool done = false;
        t.async_exchange(req, res, [&](error_code e) {
            ec = e;
            done = true;
        });
        io.restart();
        io.run();
        REQUIRE(done);
        return ec;
    }
    asio::io_context io;
    http::transport t;
};

http::request get(const test_server& server, std::string target) {
    http::request req;
    error_code ec;
    req.to = http::endpoint::parse(server.url(), ec);
    REQUIRE_FALSE(ec);
    req.target = std::move(target);
    return req;
}

// A PUT of `body` to `target`.
http::request put_to(const test_server& server, std::string target, http::body_source& body) {
    auto req = get(server, std::move(target));
    req.method = "PUT";
    req.body = &body;
    return req;
}

http::transport_options trusting_test_ca() {
    static const cloudstore::test::temporary_ca_files ca;
    http::transport_options o;
    o.tls.ca_file = ca.file().string();
    return o;
}

} // namespace

TEST_CASE("sequential requests reuse one connection") {
    for (face f : both_faces) {
        INFO(name(f));
        test_server server;
        client c;
        for (int i = 0; i < 5; ++i) {
            auto req = get(server, "/bytes/1000");
            http::memory_sink sink;
            http::response res{0, {}, &sink};
            CHECK_FALSE(c.run(f, req, res));
            CHECK(res.status == 200);
            CHECK(sink.body().size() == 1000);
            CHECK(cloudstore::test::pattern_mismatch(0, sink.body().data(), 1000) ==
                  std::string_view::npos);
        }
        CHECK(server.connections() == 1);
        CHECK(c.t.stats().connections_opened == 1);
        CHECK(c.t.stats().connections_reused == 4);
        CHECK(server.last_request()->header("User-Agent") == std::string(cloudstore::user_agent));
    }
}

TEST_CASE("a keep-alive connection closed by the server is detected; the request goes out anew") {
    for (face f : both_faces) {
        INFO(name(f));
        test_server server;
        client c;
        auto drop = get(server, "/drop"); // answers as if keep-alive, then closes
        http::response first;
        CHECK_FALSE(c.run(f, drop, first));
        CHECK(first.status == 200);
        std::this_thread::sleep_for(50ms); // let the FIN arrive
        auto again = get(server, "/");
        http::memory_sink sink;
        http::response second{0, {}, &sink};
        CHECK_FALSE(c.run(f, again, second));
        CHECK(second.status == 200);
        CHECK(server.connections() == 2);
        CHECK(server.requests() == 2);
    }
}

TEST_CASE("TLS: the test CA is accepted; an untrusted certificate and a wrong host are refused") {
    for (face f : both_faces) {
        INFO(name(f));
        {
            test_server server(server_mode::tls_trusted);
            client c(trusting_test_ca());
            auto req = get(server, "/");
            http::response res;
            CHECK_FALSE(c.run(f, req, res));
            CHECK(res.status == 200);
        }
        {
            // The CA as a hashed directory instead of a file.
            static const cloudstore::test::temporary_ca_files ca;
            http::transport_options o;
            o.tls.ca_directory = ca.directory().string();
            test_server server(server_mode::tls_trusted);
            client c(o);
            auto req = get(server, "/");
            http::response res;
            CHECK_FALSE(c.run(f, req, res));
            CHECK(res.status == 200);
        }
        for (server_mode refused : {server_mode::tls_untrusted, server_mode::tls_wrong_host}) {
            INFO(static_cast<int>(refused));
            test_server server(refused);
            client c(trusting_test_ca());
            auto req = get(server, "/");
            http::response res;
            const error_code ec = c.run(f, req, res);
            CHECK(ec == condition::tls_error);
            CHECK(res.status == 0);
        }
        {
            // The system store does not know the test CA.
            test_server server(server_mode::tls_trusted);
            client c;
            auto req = get(server, "/");
            http::response res;
            CHECK(c.run(f, req, res) == condition::tls_error);
        }
        {
            // The loudly named switch accepts anything.
            http::transport_options o;
            o.tls.insecure_skip_verification_for_testing_only = true;
            test_server server(server_mode::tls_untrusted);
            client c(o);
            auto req = get(server, "/");
            http::response res;
            CHECK_FALSE(c.run(f, req, res));
            CHECK(res.status == 200);
        }
    }
}

TEST_CASE("timeouts: connect, whole request, idle read; each closes and reports timeout") {
    for (face f : both_faces) {
        INFO(name(f));
        {
            cloudstore::test::blackhole_listener hole;
            if (!hole.verified()) {
                if (cloudstore::test::under_ci())
                    FAIL("no blackhole listener: connect timeout untested");
                WARN_MESSAGE(false, "no blackhole listener here: connect timeout untested");
            } else {
                http::transport_options o;
                o.connect_timeout = 300ms;
                client c(o);
                http::request req;
                error_code ec;
                req.to = http::endpoint::parse("http://" + hole.authority(), ec);
                http::response res;
                const auto start = std::chrono::steady_clock::now();
                CHECK(c.run(f, req, res) == condition::timeout);
                CHECK(std::chrono::steady_clock::now() - start < 5s);
            }
        }
        {
            test_server server;
            http::transport_options o;
            o.request_timeout = 300ms;
            client c(o);
            auto req = get(server, "/delay/3000");
            http::response res;
            CHECK(c.run(f, req, res) == condition::timeout);
            // The connection was closed, not returned to the pool: the next request opens one.
            auto next = get(server, "/");
            next.timeout = 5s;
            CHECK_FALSE(c.run(f, next, res));
            CHECK(server.connections() == 2);
        }
        {
            test_server server;
            http::transport_options o;
            o.idle_timeout = 300ms;
            client c(o);
            auto req = get(server, "/stall-body/100000");
            http::memory_sink sink;
            http::response res{0, {}, &sink};
            CHECK(c.run(f, req, res) == condition::timeout);
            CHECK(res.status == 200); // the header came, the body stalled
        }
    }
}

TEST_CASE("the response size cap holds") {
    for (face f : both_faces) {
        INFO(name(f));
        test_server server;
        client c;
        for (const char* target : {"/bytes/5000", "/chunked/5000"}) {
            INFO(target);
            auto req = get(server, target);
            http::memory_sink sink(4096);
            http::response res{0, {}, &sink};
            CHECK(c.run(f, req, res) == condition::too_large);
            CHECK(sink.body().size() <= 4096);
        }
    }
}

TEST_CASE("uploads: known length, chunked for unknown length, 100-continue, rejected expectation") {
    for (face f : both_faces) {
        INFO(name(f));
        test_server server;
        http::transport_options o;
        o.expect_continue_threshold = 64 * 1024;
        client c(o);
        std::string small(1000, 's');
        http::memory_source small_body(small);
        auto put = put_to(server, "/upload", small_body);
        http::response res;
        CHECK_FALSE(c.run(f, put, res));
        CHECK(server.last_request()->body_bytes == 1000);
        CHECK(server.last_request()->header("Content-Length") == std::string("1000"));
        CHECK_FALSE(server.last_request()->header("Expect").has_value());

        // Unknown length: chunked, after 100-continue.
        std::uint64_t produced = 0;
        http::generator_source stream([&](std::span<std::byte> buf, error_code&) {
            const std::size_t n = std::min<std::uint64_t>(buf.size(), 300000 - produced);
            cloudstore::test::fill_pattern(produced, buf.data(), n);
            produced += n;
            return n;
        });
        auto chunked = get(server, "/upload");
        chunked.method = "POST";
        chunked.body = &stream;
        CHECK_FALSE(c.run(f, chunked, res));
        CHECK(res.status == 200);
        CHECK(server.last_request()->body_bytes == 300000);
        CHECK(server.last_request()->header("Transfer-Encoding") == std::string("chunked"));
        CHECK(server.last_request()->header("Expect") == std::string("100-continue"));

        // The server refuses before the body: nothing of it is sent.
        const std::uint64_t before = server.body_bytes();
        std::string large(200000, 'l');
        http::memory_source large_body(large);
        auto refused = put_to(server, "/reject-expect", large_body);
        CHECK_FALSE(c.run(f, refused, res));
        CHECK(res.status / 100 == 4);
        CHECK(server.body_bytes() == before);
    }
}

TEST_CASE("a request through an HTTP CONNECT proxy, and NO_PROXY around it") {
    for (face f : both_faces) {
        INFO(name(f));
        test_server server(server_mode::tls_trusted);
        cloudstore::test::connect_proxy proxy;
        http::transport_options o = trusting_test_ca();
        client c(o);
        // Set after construction-time clearing: this test wants the proxy.
        http::transport_options with_proxy = o;
        with_proxy.proxy.https_proxy = proxy.url();
        asio::io_context io;
        http::transport t(io.get_executor(), with_proxy);
        auto req = get(server, "/");
        http::response res;
        error_code ec;
        if (f == face::blocking) {
            t.exchange(req, res, ec);
        } else {
            t.async_exchange(req, res, [&](error_code e) { ec = e; });
            io.run();
        }
        CHECK_FALSE(ec);
        CHECK(res.status == 200);
        CHECK(proxy.connects() == 1);
        REQUIRE(proxy.authorities().size() == 1);
        CHECK(proxy.authorities()[0] == server.authority());

        with_proxy.proxy.no_proxy = "example.org, 127.0.0.1";
        http::transport direct(io.get_executor(), with_proxy);
        direct.exchange(req, res, ec);
        CHECK_FALSE(ec);
        CHECK(proxy.connects() == 1); // unchanged: NO_PROXY named the host
    }
}

TEST_CASE("DNS answers are cached for their time to live") {
    for (face f : both_faces) {
        INFO(name(f));
        test_server server;
        for (auto ttl : {30000ms, 0ms}) {
            http::transport_options o;
            o.dns_ttl = ttl;
            o.idle_connection_lifetime = 0ms; // a new connection, so a lookup, each time
            client c(o);
            for (int i = 0; i < 3; ++i) {
                http::request req;
                error_code ec;
                req.to =
                    http::endpoint::parse("http://localhost:" + std::to_string(server.port()), ec);
                http::response res;
                CHECK_FALSE(c.run(f, req, res));
                CHECK(res.status == 200);
            }
            CHECK(c.t.stats().dns_lookups == (ttl.count() > 0 ? 1u : 3u));
        }
    }
}

TEST_CASE("progress callbacks count body bytes each way, monotonically, to the end") {
    for (face f : both_faces) {
        INFO(name(f));
        test_server server;
        client c;
        std::string body(3 * 1024 * 1024 + 17, 'p');
        http::memory_source source(body);
        auto put = put_to(server, "/upload", source);
        std::uint64_t last_sent = 0, calls = 0;
        bool monotonic = true;
        put.progress = [&](std::uint64_t sent, std::uint64_t) {
            monotonic = monotonic && sent >= last_sent;
            last_sent = sent;
            ++calls;
        };
        http::response res;
        CHECK_FALSE(c.run(f, put, res));
        CHECK(last_sent == body.size());
        CHECK(monotonic);

        auto download = get(server, "/bytes/2000000");
        std::uint64_t last_received = 0, received_calls = 0;
        download.progress = [&](std::uint64_t, std::uint64_t received) {
            monotonic = monotonic && received >= last_received;
            last_received = received;
            ++received_calls;
        };
        http::memory_sink sink;
        http::response got{0, {}, &sink};
        CHECK_FALSE(c.run(f, download, got));
        CHECK(last_received == 2000000);
        CHECK(received_calls > 1);
        CHECK(monotonic);
        CHECK(calls >= 1);
    }
}

TEST_CASE("file bodies: a range of a file up, a download down to a file") {
    const fs::path dir =
        fs::temp_directory_path() / ("cloudstore-http-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    {
        std::vector<unsigned char> data(3 * 1000 * 1000);
        cloudstore::test::fill_pattern(0, data.data(), data.size());
        std::ofstream(dir / "source.bin", std::ios::binary)
            .write(reinterpret_cast<const char*>(data.data()),
                   static_cast<std::streamsize>(data.size()));
    }
    for (face f : both_faces) {
        INFO(name(f));
        test_server server;
        client c;
        error_code ec;
        http::file_source range(dir / "source.bin", 1000, 2000000, ec, 256 * 1024);
        REQUIRE_FALSE(ec);
        auto put = put_to(server, "/upload", range);
        http::response res;
        CHECK_FALSE(c.run(f, put, res));
        CHECK(server.last_request()->body_bytes == 2000000);
        CHECK(res.headers["X-Body-Crc32c"] == [&] {
            std::vector<unsigned char> expect(2000000);
            cloudstore::test::fill_pattern(1000, expect.data(), expect.size());
            char hex[9];
            std::snprintf(hex, sizeof hex, "%08x",
                          cloudstore::test::crc32c(0, expect.data(), expect.size()));
            return std::string(hex);
        }());

        http::file_sink sink(dir / "download.bin");
        auto download = get(server, "/bytes/2500000");
        http::response got{0, {}, &sink};
        CHECK_FALSE(c.run(f, download, got));
        CHECK(fs::file_size(dir / "download.bin") == 2500000);
    }
    error_code ec;
    http::file_source missing(dir / "nope.bin", 0, std::nullopt, ec);
    CHECK(ec == condition::not_found);
    http::file_source beyond(dir / "source.bin", 2999999, 10, ec);
    CHECK(ec == condition::invalid_argument);
    fs::remove_all(dir);
}

TEST_CASE("a reply with Connection: close leaves its connection out of the pool") {
    for (face f : both_faces) {
        INFO(name(f));
        test_server server;
        client c;
        auto closing = get(server, "/close");
        http::response res;
        CHECK_FALSE(c.run(f, closing, res));
        auto next = get(server, "/bytes/10");
        CHECK_FALSE(c.run(f, next, res));
        CHECK(res.status == 200);
        CHECK_FALSE(res.resent); // not sent first on the connection the server closed
        CHECK(c.t.stats().stale_retries == 0);
        CHECK(c.t.stats().connections_opened == 2);
        CHECK(c.t.stats().connections_reused == 0);
    }
}

TEST_CASE("async: the handler never runs inside async_exchange, even when nothing was sent") {
    test_server server;
    asio::io_context io;
    http::transport_options o = client::clear_proxy({});
    o.tls.ca_file = "/nonexistent/cloudstore-test-ca.pem"; // fails before any I/O
    http::transport t(http::serialized, io.get_executor(), o);
    auto req = get(server, "/");
    http::response res;
    error_code ec;
    bool returned = false, ran_after_return = false;
    // Started from a handler on the transport's own executor: the case where an inline
    // completion could happen.
    asio::post(io, [&] {
        t.async_exchange(req, res, [&](error_code e) {
            ec = e;
            ran_after_return = returned;
        });
        returned = true;
    });
    io.run();
    CHECK(ec == condition::invalid_configuration);
    CHECK(ran_after_return);
}

TEST_CASE("async: a cancellation while the connection is being opened sends nothing") {
    test_server server;
    asio::io_context io;
    http::transport t(io.get_executor(), client::clear_proxy({}));
    auto req = get(server, "/bytes/10");
    http::response res;
    error_code ec;
    asio::cancellation_signal signal;
    t.async_exchange(req, res,
                     asio::bind_cancellation_slot(signal.slot(), [&](error_code e) { ec = e; }));
    signal.emit(asio::cancellation_type::terminal);
    io.run();
    CHECK(ec == condition::cancelled);
    CHECK(server.requests() == 0);
}

TEST_CASE("a transport told its executor is serialized runs on it directly, without a strand") {
    test_server server;
    asio::io_context io;
    http::transport t(http::serialized, io.get_executor(), client::clear_proxy({}));
    auto req = get(server, "/");
    http::response res;
    error_code ec = asio::error::would_block;
    bool on_io_thread = false;
    t.async_exchange(req, res, [&](error_code e) {
        ec = e;
        on_io_thread = io.get_executor().running_in_this_thread();
    });
    CHECK(t.completion_executor() == asio::any_io_executor(io.get_executor()));
    io.run();
    CHECK_FALSE(ec);
    CHECK(res.status == 200);
    CHECK(on_io_thread);
}

TEST_CASE("async face: any completion token, and per-operation cancellation") {
    test_server server;
    asio::io_context io;
    http::transport t(io.get_executor(), client::clear_proxy({}));
    auto req = get(server, "/");

    // use_future, with the context running on another thread.
    {
        auto guard = asio::make_work_guard(io);
        std::thread runner([&] { io.run(); });
        http::response res;
        auto fut = t.async_exchange(req, res, asio::use_future);
        CHECK_NOTHROW(fut.get());
        CHECK(res.status == 200);
        guard.reset();
        runner.join();
    }
    // deferred, launched later with a callback.
    {
        http::response res;
        auto op = t.async_exchange(req, res, asio::deferred);
        error_code ec = asio::error::would_block;
        std::move(op)([&](error_code e) { ec = e; });
        io.restart();
        io.run();
        CHECK_FALSE(ec);
        CHECK(res.status == 200);
    }
    // use_awaitable inside a coroutine.
    {
        http::response res;
        bool done = false;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await t.async_exchange(req, res, asio::use_awaitable);
                done = true;
            },
            asio::detached);
        io.restart();
        io.run();
        CHECK(done);
        CHECK(res.status == 200);
    }
    // Cancellation: a slow reply, cancelled after 100 ms.
    {
        asio::cancellation_signal signal;
        auto slow = get(server, "/delay/5000");
        http::response res;
        error_code ec;
        t.async_exchange(
            slow, res, asio::bind_cancellation_slot(signal.slot(), [&](error_code e) { ec = e; }));
        asio::steady_timer timer(io, 100ms);
        timer.async_wait([&](error_code) { signal.emit(asio::cancellation_type::terminal); });
        const auto start = std::chrono::steady_clock::now();
        io.restart();
        io.run();
        CHECK(ec == condition::cancelled);
        CHECK(std::chrono::steady_clock::now() - start < 3s);
    }
}

TEST_CASE("bad input gets a clear error") {
    error_code ec;
    for (const char* bad : {"ftp://host", "http://", "https://host:0", "https://host:99999",
                            "https://[::1", "host:80"}) {
        INFO(bad);
        http::endpoint::parse(bad, ec);
        CHECK(ec == condition::invalid_argument);
    }
    auto e = http::endpoint::parse("https://[::1]:8443/path", ec);
    CHECK_FALSE(ec);
    CHECK(e.host == "::1");
    CHECK(e.host_header() == "[::1]:8443");
    CHECK(http::endpoint::parse("http://example.com", ec).host_header() == "example.com");

    // A CA file that does not exist: every exchange says the configuration is wrong.
    test_server server(server_mode::tls_trusted);
    http::transport_options o;
    o.tls.ca_file = "/nonexistent/ca.pem";
    client c(o);
    auto req = get(server, "/");
    http::response res;
    CHECK(c.run(face::blocking, req, res) == condition::invalid_configuration);
}

TEST_CASE("100-continue: a server that never answers 100 gets the body after the short wait") {
    // Over TLS too: TLS 1.3 servers send session tickets right after the handshake, which make
    // the socket readable without any answer to the Expect.
    for (const auto& run :
         {std::pair{face::blocking, server_mode::plain}, std::pair{face::async, server_mode::plain},
          std::pair{face::blocking, server_mode::tls_trusted},
          std::pair{face::async, server_mode::tls_trusted}}) {
        const face f = run.first;
        const server_mode mode = run.second;
        INFO(name(f));
        INFO((mode == server_mode::plain ? "plain" : "tls"));
        cloudstore::test::server_options so;
        so.never_continue = true;
        so.mode = mode;
        test_server server(so);
        http::transport_options o = trusting_test_ca();
        o.expect_continue_threshold = 1024;
        o.expect_continue_wait = 200ms;
        o.idle_timeout = 5s; // waiting for a 100 that never comes would end in this timeout
        client c(o);
        std::string body(100000, 'b');
        http::memory_source source(body);
        auto put = put_to(server, "/upload", source);
        http::response res;
        CHECK_FALSE(c.run(f, put, res));
        CHECK(res.status == 200);
        REQUIRE(server.last_request());
        CHECK(server.last_request()->header("Expect") == std::string("100-continue"));
        CHECK_FALSE(server.last_request()->continue_sent);
        CHECK(server.last_request()->body_bytes == body.size());
    }
}

TEST_CASE("interim replies after the body (a late 100, a 103) are passed over") {
    for (bool never_continue : {false, true}) {
        INFO(never_continue);
        cloudstore::test::server_options so;
        so.never_continue = never_continue; // true: the 100 comes after the wait, unasked
        test_server server(so);
        http::transport_options o;
        o.expect_continue_threshold = 1024;
        o.expect_continue_wait = 100ms;
        client c(o);
        std::string body(5000, 'i');
        http::memory_source source(body);
        auto put = put_to(server, "/interim", source);
        http::memory_sink sink;
        http::response res{0, {}, &sink};
        CHECK_FALSE(c.run(face::blocking, put, res));
        CHECK(res.status == 200);
        CHECK(sink.body().size() > 0);
        // The connection carries the next request's own reply, not a left-over one.
        auto next = get(server, "/status/201");
        http::response res2;
        CHECK_FALSE(c.run(face::blocking, next, res2));
        CHECK(res2.status == 201);
        CHECK(c.t.stats().connections_opened == 1);
    }
}

TEST_CASE("a header that could end its line is refused; Content-Length comes from the body") {
    for (face f : both_faces) {
        INFO(name(f));
        test_server server;
        client c;
        auto bad = get(server, "/");
        bad.headers.set("X-Note", "a\r\nX-Injected: 1");
        http::response res;
        CHECK(c.run(f, bad, res) == condition::invalid_argument);
        auto bad_target = get(server, "/a b");
        CHECK(c.run(f, bad_target, res) == condition::invalid_argument);
        CHECK(server.requests() == 0);

        std::string text = "12345";
        http::memory_source source(text);
        auto put = put_to(server, "/upload", source);
        put.headers.set("Content-Length", "999");
        CHECK_FALSE(c.run(f, put, res));
        CHECK(res.status == 200);
        CHECK(server.last_request()->header_count("Content-Length") == 1);
        CHECK(server.last_request()->header("Content-Length") == std::string("5"));
        CHECK(server.last_request()->body_bytes == 5);
        // The refused requests left their connection as it was: the PUT went on it.
        CHECK(c.t.stats().connections_opened == 1);
    }
}

TEST_CASE("a reply header larger than 64 KiB in all is refused") {
    for (face f : both_faces) {
        INFO(name(f));
        test_server server;
        client c;
        auto big = get(server, "/big-header/100000");
        http::response res;
        CHECK(c.run(f, big, res) == boost::beast::http::error::header_limit);
        auto small = get(server, "/big-header/1000");
        CHECK_FALSE(c.run(f, small, res));
        CHECK(res.status == 200);
    }
}

TEST_CASE("async: waiting for a pooled connection ends with the request's time") {
    test_server server;
    asio::io_context io;
    http::transport_options o = client::clear_proxy({});
    o.max_connections_per_host = 1;
    http::transport t(io.get_executor(), o);
    auto slow = get(server, "/delay/1500");
    http::response slow_res;
    error_code slow_ec = asio::error::would_block;
    t.async_exchange(slow, slow_res, [&](error_code e) { slow_ec = e; });
    auto quick = get(server, "/bytes/10");
    quick.timeout = 200ms;
    http::response quick_res;
    error_code quick_ec;
    std::chrono::steady_clock::duration waited{};
    const auto start = std::chrono::steady_clock::now();
    t.async_exchange(quick, quick_res, [&](error_code e) {
        quick_ec = e;
        waited = std::chrono::steady_clock::now() - start;
    });
    io.run();
    CHECK(quick_ec == condition::timeout);
    CHECK(waited < 1s); // not after the slow one released the connection
    CHECK_FALSE(slow_ec);
    CHECK(server.requests() == 1);
}

TEST_CASE("the pool: many async exchanges and blocking calls from several threads") {
    SUBCASE("async: 24 exchanges at once share at most max_connections_per_host") {
        test_server server;
        http::transport_options o;
        o.max_connections_per_host = 4;
        client c(o);
        std::vector<http::request> reqs;
        std::vector<http::memory_sink> sinks(24);
        std::vector<http::response> ress(24);
        for (int i = 0; i < 24; ++i)
            reqs.push_back(get(server, "/delay/20"));
        int ok = 0;
        for (int i = 0; i < 24; ++i) {
            ress[i].sink = &sinks[i];
            c.t.async_exchange(reqs[i], ress[i], [&ok, &ress, i](error_code ec) {
                if (!ec && ress[i].status == 200) ++ok;
            });
        }
        c.io.run();
        CHECK(ok == 24);
        CHECK(server.connections() == 4);
        CHECK(c.t.stats().connections_opened == 4);
        CHECK(c.t.stats().connections_reused == 20);
    }
    SUBCASE("blocking: four threads, one transport, each thread its own connection") {
        test_server server;
        client c;
        std::atomic<int> ok{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&] {
                for (int i = 0; i < 10; ++i) {
                    auto req = get(server, "/bytes/5000");
                    http::memory_sink sink;
                    http::response res{0, {}, &sink};
                    error_code ec;
                    c.t.exchange(req, res, ec);
                    if (!ec && res.status == 200 && sink.body().size() == 5000) ++ok;
                }
            });
        for (auto& t : threads)
            t.join();
        CHECK(ok == 40);
        CHECK(server.connections() == 4);
        CHECK(c.t.stats().connections_reused == 36);
    }
    SUBCASE("async: cancelling an exchange that waits for a pooled connection") {
        test_server server;
        http::transport_options o;
        o.max_connections_per_host = 1;
        client c(o);
        auto slow = get(server, "/delay/500");
        auto waiting = get(server, "/");
        http::response slow_res, waiting_res;
        error_code slow_ec, waiting_ec;
        std::chrono::steady_clock::time_point waiting_done{}, slow_done{};
        asio::cancellation_signal signal;
        c.t.async_exchange(slow, slow_res, [&](error_code e) {
            slow_ec = e;
            slow_done = std::chrono::steady_clock::now();
        });
        c.t.async_exchange(waiting, waiting_res,
                           asio::bind_cancellation_slot(signal.slot(), [&](error_code e) {
                               waiting_ec = e;
                               waiting_done = std::chrono::steady_clock::now();
                           }));
        asio::steady_timer timer(c.io, 50ms);
        timer.async_wait([&](error_code) { signal.emit(asio::cancellation_type::terminal); });
        c.io.run();
        CHECK(waiting_ec == condition::cancelled);
        CHECK_FALSE(slow_ec);
        CHECK(waiting_done < slow_done); // it did not wait for the connection to come free
        CHECK(server.requests() == 1);
    }
}

TEST_CASE("a proxy that asks for credentials gets them from the proxy URL") {
    for (face f : both_faces) {
        INFO(name(f));
        test_server server;
        cloudstore::test::proxy_options po;
        po.credentials = std::pair<std::string, std::string>{"proxy user", "p@ss:word"};
        cloudstore::test::connect_proxy proxy(po);
        const std::string at = proxy.url().substr(proxy.url().find("://") + 3);
        for (const bool with_credentials : {true, false}) {
            INFO(with_credentials);
            http::transport_options o;
            client c(o);
            http::transport_options with_proxy = client::clear_proxy({});
            with_proxy.proxy.http_proxy =
                with_credentials ? "http://proxy%20user:p%40ss%3Aword@" + at : "http://" + at;
            http::transport t(c.io.get_executor(), with_proxy);
            auto req = get(server, "/");
            http::response res;
            error_code ec;
            if (f == face::blocking) {
                t.exchange(req, res, ec);
            } else {
                t.async_exchange(req, res, [&](error_code e) { ec = e; });
                c.io.run();
            }
            if (with_credentials) {
                CHECK_FALSE(ec);
                CHECK(res.status == 200);
            } else {
                CHECK(ec); // 407 from the proxy
                CHECK(ec.message().find("p@ss") == std::string::npos);
            }
        }
        CHECK(proxy.connects() >= 1);
    }
}
