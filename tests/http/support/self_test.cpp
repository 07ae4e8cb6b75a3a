// Tests of the test servers themselves (test_server, blackhole_listener, connect_proxy) and of
// the throwaway certificates, with plain Beast/Asio clients: cloudstore's transport is not used
// here, so a failure in the transport's tests can be told apart from a broken server.
#include "test_certificates.hpp"
#include "test_server.hpp"

#include <doctest/doctest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;
using namespace cloudstore::test;

namespace {

constexpr std::uint64_t mib = 1024 * 1024;

tcp::endpoint loopback(std::uint16_t port) {
    return {asio::ip::address_v4::loopback(), port};
}

/// Polls `condition` until it holds or `limit` passes; returns its last value.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > end) return condition();
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

/// A Beast client on a private io_context: every operation is started asynchronously and run to
/// completion with a deadline (Beast's blocking calls have none), so no test can hang.
template <class Stream>
struct client {
    template <class... Args>
    explicit client(Args&... args)
        : stream(context, args...) {}

    beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream); }

    /// Starts `initiate(handler)` and runs the context until the handler ran.
    template <class Initiate>
    error_code run(Initiate initiate, std::chrono::milliseconds limit = 20s) {
        error_code result = asio::error::would_block;
        tcp().expires_after(limit);
        initiate([&result](const error_code& ec, auto&&...) { result = ec; });
        context.restart();
        context.run();
        return result;
    }

    error_code connect(std::uint16_t port, std::chrono::milliseconds limit = 20s) {
        return run([&](auto handler) { tcp().async_connect(loopback(port), handler); }, limit);
    }

    error_code handshake() { return handshake_within(20s); }

    error_code handshake_within(std::chrono::milliseconds limit) {
        return run([&](auto handler) { stream.async_handshake(ssl::stream_base::client, handler); },
                   limit);
    }

    template <class Message>
    error_code write(Message& message) {
        return run([&](auto handler) { http::async_write(stream, message, handler); });
    }

    template <class Message>
    error_code read(Message& message, std::chrono::milliseconds limit = 20s) {
        return run([&](auto handler) { http::async_read(stream, buffer, message, handler); },
                   limit);
    }

    /// One request with a string body, its response read whole.
    http::response<http::string_body> exchange(http::verb method, std::string_view target,
                                               std::string body = {},
                                               std::string_view host = "127.0.0.1") {
        http::request<http::string_body> request(method, target, 11);
        request.set(http::field::host, host);
        request.set(http::field::user_agent, "cloudstore-self-test");
        request.body() = std::move(body);
        request.prepare_payload();
        REQUIRE_FALSE(write(request));
        http::response<http::string_body> response;
        REQUIRE_FALSE(read(response));
        return response;
    }

    asio::io_context context;
    Stream stream;
    beast::flat_buffer buffer;
};

using plain_client = client<beast::tcp_stream>;
using tls_client = client<beast::ssl_stream<beast::tcp_stream>>;

/// A TLS client context that trusts the test CA and nothing else.
ssl::context trusting_context() {
    ssl::context context(ssl::context::tls_client);
    context.add_certificate_authority(asio::buffer(test_certificates().ca.certificate));
    context.set_verify_mode(ssl::verify_peer);
    return context;
}

struct x509_deleter {
    void operator()(X509* x) const { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_deleter>;

x509_ptr parse_certificate(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    REQUIRE(bio != nullptr);
    x509_ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    REQUIRE(cert != nullptr);
    return cert;
}

/// X509_verify_cert of `leaf` against a store holding only the test CA.
int verify_against_ca(X509* leaf) {
    x509_ptr ca = parse_certificate(test_certificates().ca.certificate);
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, ca.get());
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, nullptr);
    X509_verify_cert(ctx);
    const int result = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return result;
}

std::size_t count_entries(const char* directory) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(directory))
        ++n;
    return n;
}

} // namespace

// =============================================================================================
TEST_SUITE("http.support") {

    TEST_CASE("crc32c and the pattern helpers") {
        CHECK(crc32c(0, "123456789", 9) == 0xE3069283u);
        const std::uint32_t first = crc32c(0, "1234", 4);
        CHECK(crc32c(first, "56789", 5) == 0xE3069283u);
        CHECK(crc32c(0, "", 0) == 0u);

        std::vector<unsigned char> data(1000);
        fill_pattern(300, data.data(), data.size());
        for (std::size_t i = 0; i < data.size(); ++i)
            REQUIRE(data[i] == (((300 + i) * 31 + 7) % 256));
        CHECK(pattern_mismatch(300, data.data(), data.size()) == std::string_view::npos);
        data[17] ^= 1;
        CHECK(pattern_mismatch(300, data.data(), data.size()) == 17);
        CHECK(pattern_byte(0) == 7);
        CHECK(pattern_byte(1) == 38);
    }

    TEST_CASE("certificates: chains, names and the CA files") {
        const certificate_set& certs = test_certificates();
        CHECK(&certs == &test_certificates()); // cached
        x509_ptr ca = parse_certificate(certs.ca.certificate);
        x509_ptr server = parse_certificate(certs.server.certificate);
        x509_ptr wrong = parse_certificate(certs.wrong_host.certificate);
        x509_ptr untrusted = parse_certificate(certs.untrusted.certificate);

        CHECK(X509_check_ca(ca.get()) == 1);
        CHECK(X509_check_ca(server.get()) == 0);
        CHECK(verify_against_ca(ca.get()) == X509_V_OK);
        CHECK(verify_against_ca(server.get()) == X509_V_OK);
        CHECK(verify_against_ca(wrong.get()) == X509_V_OK);
        CHECK(verify_against_ca(untrusted.get()) == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);

        CHECK(X509_check_ip_asc(server.get(), "127.0.0.1", 0) == 1);
        CHECK(X509_check_host(server.get(), "localhost", 0, 0, nullptr) == 1);
        CHECK(X509_check_host(server.get(), "wrong.example", 0, 0, nullptr) == 0);
        CHECK(X509_check_ip_asc(wrong.get(), "127.0.0.1", 0) == 0);
        CHECK(X509_check_host(wrong.get(), "localhost", 0, 0, nullptr) == 0);
        CHECK(X509_check_host(wrong.get(), "wrong.example", 0, 0, nullptr) == 1);
        CHECK(X509_check_ip_asc(untrusted.get(), "127.0.0.1", 0) == 1);
        CHECK(X509_check_host(untrusted.get(), "localhost", 0, 0, nullptr) == 1);
        CHECK(certs.server.private_key.starts_with("-----BEGIN PRIVATE KEY-----"));

        std::filesystem::path root;
        {
            temporary_ca_files files;
            root = files.file().parent_path();
            CHECK(std::filesystem::is_regular_file(files.file()));
            CHECK(std::filesystem::is_directory(files.directory()));
            CHECK(files.hashed_name().size() == 10);
            CHECK(files.hashed_name().ends_with(".0"));
            CHECK(std::filesystem::is_regular_file(files.directory() / files.hashed_name()));

            // OpenSSL finds the CA through each form.
            for (int form = 0; form < 2; ++form) {
                X509_STORE* store = X509_STORE_new();
                const std::string file = files.file().string();
                const std::string dir = files.directory().string();
                REQUIRE(X509_STORE_load_locations(store, form == 0 ? file.c_str() : nullptr,
                                                  form == 1 ? dir.c_str() : nullptr) == 1);
                X509_STORE_CTX* ctx = X509_STORE_CTX_new();
                X509_STORE_CTX_init(ctx, store, server.get(), nullptr);
                CHECK_MESSAGE(X509_verify_cert(ctx) == 1, "form " << form);
                X509_STORE_CTX_free(ctx);
                X509_STORE_free(store);
            }
        }
        CHECK_FALSE(std::filesystem::exists(root));
    }

    TEST_CASE("test_server: default echo, keep-alive reuse and the request records") {
        test_server server;
        CHECK(server.port() != 0);
        CHECK(server.authority() == "127.0.0.1:" + std::to_string(server.port()));
        CHECK(server.url("/x") == "http://127.0.0.1:" + std::to_string(server.port()) + "/x");
        CHECK_FALSE(server.tls());

        plain_client c;
        REQUIRE_FALSE(c.connect(server.port()));
        auto first = c.exchange(http::verb::get, "/hello?a=b");
        CHECK(first.result() == http::status::ok);
        CHECK(first.keep_alive());
        CHECK(first.body() == "GET /hello?a=b 0 00000000\n");
        CHECK(first[http::field::content_length] == std::to_string(first.body().size()));
        CHECK(first["X-Connection-Id"] == "1");

        auto second = c.exchange(http::verb::post, "/upload", "hello");
        CHECK(second.body() == test_server::echo_body("POST", "/upload", 5, crc32c(0, "hello", 5)));
        CHECK(second["X-Body-Length"] == "5");
        CHECK(second["X-Connection-Id"] == "1");

        CHECK(server.connections() == 1);
        CHECK(server.requests() == 2);
        CHECK(server.body_bytes() == 5);
        CHECK(server.open_connections() == 1);

        const auto records = server.recorded();
        REQUIRE(records.size() == 2);
        CHECK(records[0].method == "GET");
        CHECK(records[0].target == "/hello?a=b");
        CHECK(records[0].version == 11);
        CHECK(records[0].connection == 1);
        CHECK(records[0].header("host") == "127.0.0.1");
        CHECK(records[0].header("USER-AGENT") == "cloudstore-self-test");
        CHECK_FALSE(records[0].header("Expect").has_value());
        CHECK(records[1].method == "POST");
        CHECK(records[1].body_bytes == 5);
        CHECK(records[1].body_complete);
        CHECK(records[1].header_count("content-length") == 1);
        CHECK(server.last_request()->target == "/upload");

        // A second client gets a second connection.
        plain_client other;
        REQUIRE_FALSE(other.connect(server.port()));
        CHECK(other.exchange(http::verb::get, "/")["X-Connection-Id"] == "2");
        CHECK(server.connections() == 2);

        // When the client closes, the server notices.
        c.tcp().close();
        other.tcp().close();
        CHECK(eventually([&] { return server.open_connections() == 0; }));
    }

    TEST_CASE("test_server: /bytes/N and /chunked/N, HEAD, /status/CODE") {
        test_server server;
        plain_client c;
        REQUIRE_FALSE(c.connect(server.port()));

        auto bytes = c.exchange(http::verb::get, "/bytes/1000");
        CHECK(bytes.result() == http::status::ok);
        CHECK(bytes[http::field::content_length] == "1000");
        CHECK(bytes.count(http::field::transfer_encoding) == 0);
        REQUIRE(bytes.body().size() == 1000);
        CHECK(pattern_mismatch(0, bytes.body().data(), 1000) == std::string_view::npos);

        auto chunked = c.exchange(http::verb::get, "/chunked/300000");
        CHECK(chunked.chunked());
        CHECK(chunked.count(http::field::content_length) == 0);
        REQUIRE(chunked.body().size() == 300000);
        CHECK(pattern_mismatch(0, chunked.body().data(), 300000) == std::string_view::npos);

        auto empty = c.exchange(http::verb::get, "/bytes/0");
        CHECK(empty[http::field::content_length] == "0");
        CHECK(empty.body().empty());

        {
            http::request<http::empty_body> head(http::verb::head, "/bytes/5000", 11);
            head.set(http::field::host, "127.0.0.1");
            REQUIRE_FALSE(c.write(head));
            http::response_parser<http::empty_body> parser;
            parser.skip(true); // a response to HEAD has no body whatever its Content-Length says
            REQUIRE_FALSE(c.read(parser));
            CHECK(parser.get()[http::field::content_length] == "5000");
        }

        auto unavailable = c.exchange(http::verb::get, "/status/503");
        CHECK(unavailable.result() == http::status::service_unavailable);
        CHECK(unavailable.body() == "status 503\n");
        CHECK(unavailable.keep_alive());
        auto no_content = c.exchange(http::verb::delete_, "/status/204");
        CHECK(no_content.result_int() == 204);
        CHECK(no_content.body().empty());
        CHECK(c.exchange(http::verb::get, "/status/42").result_int() == 400);
        CHECK(c.exchange(http::verb::get, "/status/404?x=1").result_int() == 404);
        // Everything above went over one connection.
        CHECK(server.connections() == 1);
        CHECK(server.requests() == 8);
    }

    TEST_CASE("test_server: a 64 MiB download, streamed (plain and TLS)") {
        for (server_mode mode : {server_mode::plain, server_mode::tls_trusted}) {
            CAPTURE(static_cast<int>(mode));
            test_server server(mode);
            ssl::context tls_context = trusting_context();
            std::unique_ptr<plain_client> plain;
            std::unique_ptr<tls_client> tls;
            const std::uint64_t size = 64 * mib;
            std::uint64_t received = 0;
            std::size_t mismatch = std::string_view::npos;
            auto download = [&](auto& c) {
                http::request<http::empty_body> request(http::verb::get,
                                                        "/bytes/" + std::to_string(size), 11);
                request.set(http::field::host, "127.0.0.1");
                REQUIRE_FALSE(c.write(request));
                http::response_parser<http::buffer_body> parser;
                parser.body_limit(boost::none);
                REQUIRE_FALSE(
                    c.run([&](auto h) { http::async_read_header(c.stream, c.buffer, parser, h); }));
                CHECK(parser.get()[http::field::content_length] == std::to_string(size));
                std::vector<unsigned char> chunk(256 * 1024);
                while (!parser.is_done()) {
                    parser.get().body().data = chunk.data();
                    parser.get().body().size = chunk.size();
                    error_code ec = c.read(parser);
                    if (ec == http::error::need_buffer) ec = {};
                    REQUIRE_FALSE(ec);
                    const std::size_t got = chunk.size() - parser.get().body().size;
                    if (mismatch == std::string_view::npos) {
                        const std::size_t at = pattern_mismatch(received, chunk.data(), got);
                        if (at != std::string_view::npos) mismatch = received + at;
                    }
                    received += got;
                }
            };
            if (mode == server_mode::plain) {
                plain = std::make_unique<plain_client>();
                REQUIRE_FALSE(plain->connect(server.port()));
                download(*plain);
            } else {
                tls = std::make_unique<tls_client>(tls_context);
                REQUIRE_FALSE(tls->connect(server.port()));
                REQUIRE_FALSE(tls->handshake());
                download(*tls);
            }
            CHECK(received == size);
            CHECK(mismatch == std::string_view::npos);
        }
    }

    TEST_CASE("test_server: a 64 MiB upload with Content-Length and a chunked upload, streamed") {
        test_server server;
        plain_client c;
        REQUIRE_FALSE(c.connect(server.port()));
        std::vector<unsigned char> chunk(1 * mib);

        auto upload = [&](std::uint64_t size, bool chunked) {
            http::request<http::buffer_body> request(http::verb::put, "/bucket/object", 11);
            request.set(http::field::host, "127.0.0.1");
            if (chunked)
                request.chunked(true);
            else
                request.content_length(size);
            request.body().data = nullptr;
            request.body().more = true;
            http::request_serializer<http::buffer_body> serializer(request);
            REQUIRE_FALSE(
                c.run([&](auto h) { http::async_write_header(c.stream, serializer, h); }));
            std::uint64_t sent = 0;
            std::uint32_t crc = 0;
            while (sent < size) {
                const auto n =
                    static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - sent));
                fill_pattern(sent, chunk.data(), n);
                crc = crc32c(crc, chunk.data(), n);
                request.body().data = chunk.data();
                request.body().size = n;
                request.body().more = true;
                error_code ec = c.run([&](auto h) { http::async_write(c.stream, serializer, h); });
                if (ec == http::error::need_buffer) ec = {};
                REQUIRE_FALSE(ec);
                sent += n;
            }
            request.body().data = nullptr;
            request.body().size = 0;
            request.body().more = false;
            REQUIRE_FALSE(c.run([&](auto h) { http::async_write(c.stream, serializer, h); }));
            http::response<http::string_body> response;
            REQUIRE_FALSE(c.read(response));
            CHECK(response.result() == http::status::ok);
            CHECK(response["X-Body-Length"] == std::to_string(size));
            CHECK(response.body() == test_server::echo_body("PUT", "/bucket/object", size, crc));
            const auto record = server.last_request();
            REQUIRE(record.has_value());
            CHECK(record->body_bytes == size);
            CHECK(record->body_crc32c == crc);
            CHECK(record->body_complete);
            return record;
        };

        const auto fixed = upload(64 * mib, false);
        CHECK(fixed->header("Content-Length") == std::to_string(64 * mib));
        CHECK_FALSE(fixed->header("Transfer-Encoding").has_value());
        const auto chunked = upload(3 * mib + 17, true);
        CHECK(chunked->header("Transfer-Encoding") == "chunked");
        CHECK_FALSE(chunked->header("Content-Length").has_value());
        CHECK(server.body_bytes() == 67 * mib + 17);
        CHECK(server.connections() == 1);
    }

    TEST_CASE("test_server: Expect: 100-continue, and /reject-expect") {
        test_server server;

        SUBCASE("100 Continue before the body") {
            plain_client c;
            REQUIRE_FALSE(c.connect(server.port()));
            http::request<http::string_body> request(http::verb::put, "/object", 11);
            request.set(http::field::host, "127.0.0.1");
            request.set(http::field::expect, "100-continue");
            request.body() = std::string(100000, 'x');
            request.prepare_payload();
            http::request_serializer<http::string_body> serializer(request);
            REQUIRE_FALSE(
                c.run([&](auto h) { http::async_write_header(c.stream, serializer, h); }));
            http::response<http::empty_body> interim;
            REQUIRE_FALSE(c.read(interim));
            CHECK(interim.result() == http::status::continue_);
            CHECK(server.last_request()->body_bytes == 0); // nothing sent yet
            REQUIRE_FALSE(c.run([&](auto h) { http::async_write(c.stream, serializer, h); }));
            http::response<http::string_body> response;
            REQUIRE_FALSE(c.read(response));
            CHECK(response.result() == http::status::ok);
            CHECK(response["X-Body-Length"] == "100000");
            const auto record = server.last_request();
            CHECK(record->continue_sent);
            CHECK(record->header("Expect") == "100-continue");
            CHECK(record->body_bytes == 100000);
        }

        SUBCASE("no 100 Continue without Expect") {
            plain_client c;
            REQUIRE_FALSE(c.connect(server.port()));
            CHECK(c.exchange(http::verb::put, "/object", "abc").result() == http::status::ok);
            CHECK_FALSE(server.last_request()->continue_sent);
        }

        SUBCASE("/reject-expect answers 417 at once and closes") {
            plain_client c;
            REQUIRE_FALSE(c.connect(server.port()));
            http::request<http::empty_body> request(http::verb::put, "/reject-expect", 11);
            request.set(http::field::host, "127.0.0.1");
            request.set(http::field::expect, "100-continue");
            request.content_length(1 * mib); // never sent
            REQUIRE_FALSE(c.write(request));
            http::response<http::string_body> response;
            REQUIRE_FALSE(c.read(response));
            CHECK(response.result() == http::status::expectation_failed);
            CHECK_FALSE(response.keep_alive());
            const auto record = server.last_request();
            CHECK_FALSE(record->continue_sent);
            CHECK(record->body_bytes == 0);
            http::response<http::string_body> next;
            CHECK(c.read(next) == http::error::end_of_stream);
        }
    }

    TEST_CASE("test_server: /delay/MS waits without blocking other connections") {
        test_server server;
        plain_client slow;
        REQUIRE_FALSE(slow.connect(server.port()));
        http::request<http::empty_body> request(http::verb::get, "/delay/500", 11);
        request.set(http::field::host, "127.0.0.1");
        const auto start = std::chrono::steady_clock::now();
        REQUIRE_FALSE(slow.write(request));

        plain_client fast; // served while the first waits
        REQUIRE_FALSE(fast.connect(server.port()));
        CHECK(fast.exchange(http::verb::get, "/").result() == http::status::ok);
        CHECK(std::chrono::steady_clock::now() - start < 500ms);

        http::response<http::string_body> response;
        REQUIRE_FALSE(slow.read(response));
        CHECK(std::chrono::steady_clock::now() - start >= 500ms);
        CHECK(response.body() == "GET /delay/500 0 00000000\n");
    }

    TEST_CASE("test_server: /stall-body/N and /truncate-body/N") {
        test_server server;
        auto read_partial = [](plain_client& c, std::string_view target, error_code& ec,
                               std::chrono::milliseconds limit) {
            http::request<http::empty_body> request(http::verb::get, target, 11);
            request.set(http::field::host, "127.0.0.1");
            REQUIRE_FALSE(c.write(request));
            http::response_parser<http::string_body> parser;
            REQUIRE_FALSE(
                c.run([&](auto h) { http::async_read_header(c.stream, c.buffer, parser, h); }));
            CHECK(parser.get()[http::field::content_length] == "1000");
            ec = c.read(parser, limit);
            return parser.get().body();
        };

        plain_client stalled;
        REQUIRE_FALSE(stalled.connect(server.port()));
        error_code ec;
        std::string body = read_partial(stalled, "/stall-body/1000", ec, 300ms);
        CHECK(ec == beast::error::timeout);
        CHECK(body.size() == 500);
        CHECK(pattern_mismatch(0, body.data(), body.size()) == std::string_view::npos);

        plain_client truncated;
        REQUIRE_FALSE(truncated.connect(server.port()));
        body = read_partial(truncated, "/truncate-body/1000", ec, 5s);
        CHECK(ec == http::error::partial_message);
        CHECK(body.size() == 500);

        // The stalled connection stays open (the timeout above closed the client's side).
        CHECK(eventually([&] { return server.open_connections() == 0; }));
    }

    TEST_CASE("test_server: /stall-upload/N stops reading; a silent server never speaks") {
        test_server server;
        plain_client c;
        REQUIRE_FALSE(c.connect(server.port()));
        http::request<http::buffer_body> request(http::verb::put, "/stall-upload/1000", 11);
        request.set(http::field::host, "127.0.0.1");
        request.content_length(1024 * mib);
        request.body().data = nullptr;
        request.body().more = true;
        http::request_serializer<http::buffer_body> serializer(request);
        REQUIRE_FALSE(c.run([&](auto h) { http::async_write_header(c.stream, serializer, h); }));
        std::vector<unsigned char> chunk(1 * mib, 'u');
        error_code ec;
        std::uint64_t sent = 0;
        while (!ec && sent < 1024 * mib) { // the socket buffers fill up, then a write times out
            request.body().data = chunk.data();
            request.body().size = chunk.size();
            ec = c.run([&](auto h) { http::async_write(c.stream, serializer, h); }, 300ms);
            if (ec == http::error::need_buffer) ec = {};
            if (!ec) sent += chunk.size();
        }
        CHECK(ec == beast::error::timeout);
        CHECK(sent < 256 * mib);
        CHECK(eventually([&] {
            const auto record = server.last_request();
            return record && record->body_bytes == 1000 && !record->body_complete;
        }));

        for (server_mode mode : {server_mode::plain, server_mode::tls_trusted}) {
            test_server silent(server_options{.mode = mode, .silent = true});
            ssl::context context = trusting_context();
            tls_client t(context);
            REQUIRE_FALSE(t.connect(silent.port()));
            CHECK(t.handshake_within(200ms) == beast::error::timeout);
            CHECK(silent.connections() == 1);
            CHECK(silent.requests() == 0);
        }
    }

    TEST_CASE("test_server: /close, /drop and /reset") {
        test_server server;

        SUBCASE("/close: Connection: close, then the server closes") {
            plain_client c;
            REQUIRE_FALSE(c.connect(server.port()));
            auto response = c.exchange(http::verb::get, "/close");
            CHECK_FALSE(response.keep_alive());
            CHECK(response[http::field::connection] == "close");
            http::response<http::string_body> next;
            CHECK(c.read(next) == http::error::end_of_stream);
        }

        SUBCASE("/drop: a keep-alive answer, then the connection is gone") {
            plain_client c;
            REQUIRE_FALSE(c.connect(server.port()));
            auto response = c.exchange(http::verb::get, "/drop");
            CHECK(response.keep_alive());
            CHECK(response.count(http::field::connection) == 0);
            CHECK(eventually([&] { return server.open_connections() == 0; }));
            // The next request on it fails (EOF or reset, depending on timing); a new connection
            // works.
            http::request<http::empty_body> request(http::verb::get, "/", 11);
            request.set(http::field::host, "127.0.0.1");
            error_code ec = c.write(request);
            http::response<http::string_body> next;
            if (!ec) ec = c.read(next);
            CHECK(ec);
            plain_client fresh;
            REQUIRE_FALSE(fresh.connect(server.port()));
            CHECK(fresh.exchange(http::verb::get, "/").result() == http::status::ok);
            CHECK(server.connections() == 2);
        }

        SUBCASE("/reset: no answer, a reset") {
            plain_client c;
            REQUIRE_FALSE(c.connect(server.port()));
            http::request<http::empty_body> request(http::verb::get, "/reset", 11);
            request.set(http::field::host, "127.0.0.1");
            REQUIRE_FALSE(c.write(request));
            http::response<http::string_body> response;
            CHECK(c.read(response) == asio::error::connection_reset);
        }

        SUBCASE("Connection: close from the client") {
            plain_client c;
            REQUIRE_FALSE(c.connect(server.port()));
            http::request<http::empty_body> request(http::verb::get, "/", 11);
            request.set(http::field::host, "127.0.0.1");
            request.keep_alive(false);
            REQUIRE_FALSE(c.write(request));
            http::response<http::string_body> response;
            REQUIRE_FALSE(c.read(response));
            CHECK_FALSE(response.keep_alive());
            http::response<http::string_body> next;
            CHECK(c.read(next) == http::error::end_of_stream);
        }
    }

    TEST_CASE("test_server: the idle timeout closes idle keep-alive connections (plain and TLS)") {
        for (server_mode mode : {server_mode::plain, server_mode::tls_trusted}) {
            CAPTURE(static_cast<int>(mode));
            test_server server(server_options{.mode = mode, .idle_timeout = 200ms});
            ssl::context tls_context = trusting_context();
            auto check_closed = [&](auto& c) {
                CHECK(c.exchange(http::verb::get, "/").result() == http::status::ok);
                const auto start = std::chrono::steady_clock::now();
                http::response<http::string_body> next;
                CHECK(c.read(next, 5s) == http::error::end_of_stream);
                CHECK(std::chrono::steady_clock::now() - start >= 150ms);
            };
            if (mode == server_mode::plain) {
                plain_client c;
                REQUIRE_FALSE(c.connect(server.port()));
                check_closed(c);
            } else {
                tls_client c(tls_context);
                REQUIRE_FALSE(c.connect(server.port()));
                REQUIRE_FALSE(c.handshake());
                check_closed(c);
            }
            CHECK(eventually([&] { return server.open_connections() == 0; }));
            CHECK(server.requests() == 1);
        }
    }

    TEST_CASE("test_server: requests from several threads at once") {
        test_server server;
        std::atomic<int> ok{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&, t] {
                plain_client c;
                if (c.connect(server.port())) return;
                for (int i = 0; i < 25; ++i) {
                    const std::string target = "/t" + std::to_string(t) + "/" + std::to_string(i);
                    http::request<http::string_body> request(http::verb::post, target, 11);
                    request.set(http::field::host, "127.0.0.1");
                    request.body() = target;
                    request.prepare_payload();
                    http::response<http::string_body> response;
                    if (c.write(request) || c.read(response)) return;
                    if (response.body() ==
                        test_server::echo_body("POST", target, target.size(),
                                               crc32c(0, target.data(), target.size())))
                        ++ok;
                }
            });
        }
        for (auto& t : threads)
            t.join();
        CHECK(ok.load() == 200);
        CHECK(server.requests() == 200);
        CHECK(server.connections() == 8);
        CHECK(server.recorded().size() == 200);
    }

    TEST_CASE("test_server: TLS verification against the test CA") {
        SUBCASE("tls_trusted: verified for 127.0.0.1 and localhost, CA from memory, file or dir") {
            test_server server(server_mode::tls_trusted);
            CHECK(server.tls());
            CHECK(server.url().starts_with("https://127.0.0.1:"));
            temporary_ca_files files;
            for (int source = 0; source < 3; ++source) {
                for (const char* host : {"127.0.0.1", "localhost"}) {
                    CAPTURE(source);
                    CAPTURE(host);
                    ssl::context context(ssl::context::tls_client);
                    if (source == 0)
                        context.add_certificate_authority(
                            asio::buffer(test_certificates().ca.certificate));
                    if (source == 1) context.load_verify_file(files.file().string());
                    if (source == 2) context.add_verify_path(files.directory().string());
                    context.set_verify_mode(ssl::verify_peer);
                    tls_client c(context);
                    c.stream.set_verify_callback(ssl::host_name_verification(host));
                    if (std::string_view(host) == "localhost")
                        REQUIRE(SSL_set_tlsext_host_name(c.stream.native_handle(), host) == 1);
                    REQUIRE_FALSE(c.connect(server.port()));
                    error_code ec = c.handshake();
                    CHECK_FALSE(ec);
                    if (!ec)
                        CHECK(c.exchange(http::verb::get, "/tls", {}, host).body() ==
                              "GET /tls 0 00000000\n");
                }
            }
            CHECK(server.tls_handshake_failures() == 0);
        }

        SUBCASE("tls_trusted: refused by a client that does not trust the CA") {
            test_server server(server_mode::tls_trusted);
            ssl::context context(ssl::context::tls_client); // empty trust store
            context.set_verify_mode(ssl::verify_peer);
            tls_client c(context);
            REQUIRE_FALSE(c.connect(server.port()));
            error_code ec = c.handshake();
            CHECK(ec.category() == asio::error::get_ssl_category());
            CHECK(SSL_get_verify_result(c.stream.native_handle()) ==
                  X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
        }

        SUBCASE("tls_untrusted: the self-signed certificate is refused") {
            test_server server(server_mode::tls_untrusted);
            ssl::context context = trusting_context();
            tls_client c(context);
            c.stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
            REQUIRE_FALSE(c.connect(server.port()));
            error_code ec = c.handshake();
            CHECK(ec);
            CHECK(ec.category() == asio::error::get_ssl_category());
            CHECK(SSL_get_verify_result(c.stream.native_handle()) ==
                  X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
            CHECK(eventually([&] { return server.tls_handshake_failures() == 1; }));
            CHECK(server.requests() == 0);
        }

        SUBCASE("tls_wrong_host: a valid chain, refused for 127.0.0.1 and localhost") {
            test_server server(server_mode::tls_wrong_host);
            ssl::context context = trusting_context();
            for (const char* host : {"127.0.0.1", "localhost", "wrong.example"}) {
                CAPTURE(host);
                tls_client c(context);
                c.stream.set_verify_callback(ssl::host_name_verification(host));
                REQUIRE_FALSE(c.connect(server.port()));
                error_code ec = c.handshake();
                if (std::string_view(host) == "wrong.example") {
                    CHECK_FALSE(ec); // the chain is fine: only the name is wrong
                } else {
                    CHECK(ec);
                    CHECK(ec.category() == asio::error::get_ssl_category());
                }
            }
        }
    }

    TEST_CASE("blackhole_listener: a connect never completes") {
        blackhole_listener blackhole;
        REQUIRE(blackhole.verified());
        CHECK(blackhole.port() != 0);
        CHECK(blackhole.authority() == "127.0.0.1:" + std::to_string(blackhole.port()));
        plain_client c;
        CHECK(c.connect(blackhole.port(), 300ms) == beast::error::timeout);
        plain_client again; // and again: the queue stays full
        CHECK(again.connect(blackhole.port(), 200ms) == beast::error::timeout);
    }

    TEST_CASE("connect_proxy: tunnels plain HTTP and TLS, records authorities, refuses the rest") {
        test_server origin;
        test_server tls_origin(server_mode::tls_trusted);
        connect_proxy proxy;
        CHECK(proxy.url() == "http://127.0.0.1:" + std::to_string(proxy.port()));

        auto send_connect = [&](plain_client& c, const std::string& authority,
                                std::string_view authorization = {}) {
            http::request<http::empty_body> request(http::verb::connect, authority, 11);
            request.set(http::field::host, authority);
            if (!authorization.empty())
                request.set(http::field::proxy_authorization, authorization);
            REQUIRE_FALSE(c.write(request));
            // Only the header of a 2xx answer to CONNECT is read: the tunnel follows it. A refusal
            // has a body (with Content-Length): read it too.
            http::response_parser<http::string_body> parser;
            REQUIRE_FALSE(
                c.run([&](auto h) { http::async_read_header(c.stream, c.buffer, parser, h); }));
            if (parser.get().result() != http::status::ok)
                CHECK_FALSE(
                    c.run([&](auto h) { http::async_read(c.stream, c.buffer, parser, h); }));
            return parser.release();
        };

        SUBCASE("plain HTTP through the tunnel") {
            plain_client c;
            REQUIRE_FALSE(c.connect(proxy.port()));
            auto established = send_connect(c, origin.authority());
            CHECK(established.result() == http::status::ok);
            CHECK(c.exchange(http::verb::get, "/through").body() == "GET /through 0 00000000\n");
            CHECK(c.exchange(http::verb::put, "/through", "abc")["X-Body-Length"] == "3");
            CHECK(proxy.connects() == 1);
            CHECK(proxy.tunnels() == 1);
            CHECK(proxy.authorities() == std::vector<std::string>{origin.authority()});
            CHECK(proxy.recorded().at(0).method == "CONNECT");
            CHECK(origin.connections() == 1);
            CHECK(origin.requests() == 2);
            // The client's close travels through: the origin sees its connection end.
            c.tcp().close();
            CHECK(eventually([&] { return origin.open_connections() == 0; }));
        }

        SUBCASE("TLS through the tunnel, verified against the CA") {
            ssl::context context = trusting_context();
            tls_client c(context);
            c.stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
            REQUIRE_FALSE(c.connect(proxy.port()));
            http::request<http::empty_body> request(http::verb::connect, tls_origin.authority(),
                                                    11);
            request.set(http::field::host, tls_origin.authority());
            REQUIRE_FALSE(c.run([&](auto h) { http::async_write(c.tcp(), request, h); }));
            http::response_parser<http::empty_body> parser;
            parser.skip(true);
            REQUIRE_FALSE(
                c.run([&](auto h) { http::async_read_header(c.tcp(), c.buffer, parser, h); }));
            CHECK(parser.get().result() == http::status::ok);
            CHECK(c.buffer.size() == 0);
            REQUIRE_FALSE(c.handshake());
            CHECK(c.exchange(http::verb::get, "/secret").body() == "GET /secret 0 00000000\n");
            CHECK(proxy.authorities() == std::vector<std::string>{tls_origin.authority()});
            CHECK(tls_origin.connections() == 1);
        }

        SUBCASE("non-CONNECT methods get 405") {
            plain_client c;
            REQUIRE_FALSE(c.connect(proxy.port()));
            auto response = c.exchange(http::verb::get, origin.url("/"));
            CHECK(response.result() == http::status::method_not_allowed);
            CHECK(response[http::field::allow] == "CONNECT");
            CHECK(proxy.refused() == 1);
            CHECK(proxy.connects() == 0);
            CHECK(origin.connections() == 0);
        }

        SUBCASE("non-loopback targets get 403, unreachable ones 502, malformed ones 400") {
            for (const auto& expected :
                 {std::pair{std::string("10.255.255.1:80"), http::status::forbidden},
                  std::pair{std::string("127.0.0.1:1"), http::status::bad_gateway},
                  std::pair{std::string("no-port"), http::status::bad_request}}) {
                CAPTURE(expected.first);
                plain_client c;
                REQUIRE_FALSE(c.connect(proxy.port()));
                CHECK(send_connect(c, expected.first).result() == expected.second);
            }
            CHECK(proxy.refused() == 3);
            CHECK(proxy.tunnels() == 0);
            CHECK(proxy.authorities().size() == 3);
        }
    }

    TEST_CASE("connect_proxy: Proxy-Authorization when configured") {
        test_server origin;
        connect_proxy proxy(
            proxy_options{std::pair{std::string("user"), std::string("pa:ss")}, false});
        auto connect_with = [&](std::string_view authorization) {
            plain_client c;
            REQUIRE_FALSE(c.connect(proxy.port()));
            http::request<http::empty_body> request(http::verb::connect, origin.authority(), 11);
            request.set(http::field::host, origin.authority());
            if (!authorization.empty())
                request.set(http::field::proxy_authorization, authorization);
            REQUIRE_FALSE(c.write(request));
            http::response_parser<http::string_body> parser;
            parser.skip(true);
            REQUIRE_FALSE(
                c.run([&](auto h) { http::async_read_header(c.stream, c.buffer, parser, h); }));
            return parser.release();
        };
        auto refused = connect_with({});
        CHECK(refused.result() == http::status::proxy_authentication_required);
        CHECK(refused[http::field::proxy_authenticate] == "Basic realm=\"cloudstore-test\"");
        CHECK(connect_with("Basic dXNlcjp3cm9uZw==").result_int() == 407); // user:wrong
        CHECK(connect_with("basic dXNlcjpwYTpzcw==").result_int() == 200); // user:pa:ss
        CHECK(proxy.connects() == 3);
        CHECK(proxy.tunnels() == 1);
        CHECK(proxy.refused() == 2);
        CHECK(proxy.recorded().at(2).header("Proxy-Authorization") == "basic dXNlcjpwYTpzcw==");
    }

    TEST_CASE("servers leave no thread, socket or port behind") {
        { // OpenSSL and the certificates initialised before counting
            test_server warm_up(server_mode::tls_trusted);
        }
        const std::size_t threads_before = count_entries("/proc/self/task");
        const std::size_t fds_before = count_entries("/proc/self/fd");
        std::uint16_t server_port = 0;
        std::uint16_t proxy_port = 0;
        {
            auto server = std::make_unique<test_server>(server_mode::tls_trusted);
            auto plain = std::make_unique<test_server>(server_options{.idle_timeout = 100ms});
            auto proxy = std::make_unique<connect_proxy>();
            blackhole_listener blackhole;
            server_port = plain->port();
            proxy_port = proxy->port();
            CHECK(count_entries("/proc/self/task") == threads_before + 3);

            // Leave connections open in every state: stalled, idle, mid-handshake, tunnelled.
            plain_client stalled;
            REQUIRE_FALSE(stalled.connect(plain->port()));
            http::request<http::empty_body> request(http::verb::get, "/stall-body/100000", 11);
            request.set(http::field::host, "127.0.0.1");
            REQUIRE_FALSE(stalled.write(request));
            plain_client raw_tls; // connected, never handshakes
            REQUIRE_FALSE(raw_tls.connect(server->port()));
            plain_client tunnel;
            REQUIRE_FALSE(tunnel.connect(proxy->port()));
            http::request<http::empty_body> connect(http::verb::connect, plain->authority(), 11);
            REQUIRE_FALSE(tunnel.write(connect));
            http::response_parser<http::empty_body> established;
            established.skip(true);
            REQUIRE_FALSE(tunnel.read(established));
            CHECK(established.get().result() == http::status::ok);
            CHECK(eventually(
                [&] { return proxy->tunnels() == 1 && server->open_connections() == 1; }));

            const auto start = std::chrono::steady_clock::now();
            server.reset();
            plain.reset();
            proxy.reset();
            CHECK(std::chrono::steady_clock::now() - start < 2s); // stop does not wait for clients

            // The clients see their connections end.
            std::array<char, 64> scratch{};
            CHECK(raw_tls.run(
                [&](auto h) { raw_tls.stream.async_read_some(asio::buffer(scratch), h); }));
            CHECK(tunnel.run(
                [&](auto h) { tunnel.stream.async_read_some(asio::buffer(scratch), h); }));
        }
        CHECK(count_entries("/proc/self/task") == threads_before);
        CHECK(count_entries("/proc/self/fd") == fds_before);
        plain_client late;
        CHECK(late.connect(server_port) == asio::error::connection_refused);
        plain_client late_proxy;
        CHECK(late_proxy.connect(proxy_port) == asio::error::connection_refused);
    }

} // TEST_SUITE
