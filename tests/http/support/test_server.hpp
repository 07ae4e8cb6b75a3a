// Servers that the HTTP transport tests start on 127.0.0.1: an HTTP/1.1 server (plain or TLS)
// whose behaviour is chosen by the request target, a listener whose connects never complete, and
// an HTTP CONNECT proxy. Each runs on a thread and an io_context of its own, so the code under
// test may run its own io_context (async face) or block (blocking face) on the test's thread.
//
// This header includes neither Asio nor Beast (the servers are compiled once, in
// test_server.cpp); a test talks to them only over sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloudstore::test {

// ---------------------------------------------------------------------------------------------
// Helpers shared by the servers and the tests that check what they sent or received.

/// Byte `i` of the deterministic pattern that `/bytes/N`, `/chunked/N` and `/stall-body/N`
/// serve: (i * 31 + 7) mod 256. Its period is 256.
constexpr std::uint8_t pattern_byte(std::uint64_t i) noexcept {
    return static_cast<std::uint8_t>(i * 31 + 7);
}

/// Writes pattern bytes [offset, offset + size) into `out`.
void fill_pattern(std::uint64_t offset, void* out, std::size_t size) noexcept;

/// Index (relative to `data`) of the first byte of `data` that differs from pattern bytes
/// [offset, offset + size), or `std::string_view::npos` if all match.
std::size_t pattern_mismatch(std::uint64_t offset, const void* data, std::size_t size) noexcept;

/// CRC32C (Castagnoli, reflected, as in RFC 3720 and S3's x-amz-checksum-crc32c), computed
/// incrementally: start with `crc = 0`, pass each result back in for the next piece. The value of
/// "123456789" is 0xE3069283. Uses SSE4.2 when the CPU has it.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) noexcept;

// ---------------------------------------------------------------------------------------------
// test_server

/// How the server speaks.
enum class server_mode {
    plain,          ///< HTTP/1.1 over TCP
    tls_trusted,    ///< TLS with test_certificates().server (CA-signed, IP:127.0.0.1, localhost)
    tls_wrong_host, ///< TLS with test_certificates().wrong_host (CA-signed, DNS:wrong.example)
    tls_untrusted,  ///< TLS with test_certificates().untrusted (self-signed, 127.0.0.1, localhost)
};

struct server_options {
    server_mode mode = server_mode::plain;
    /// When positive, a connection that has waited this long for the next request's header is
    /// closed by the server (plain: FIN; TLS: close_notify, then FIN): the server-side keep-alive
    /// timeout of real servers. Zero: connections stay open until the client closes them.
    std::chrono::milliseconds idle_timeout{0};
    /// Never answer "100 Continue": read the body as if no Expect had come, as servers that
    /// ignore the expectation do (the client must send the body after a short wait).
    bool never_continue = false;
    /// Accept connections and hold them open without reading or writing a byte (no TLS
    /// handshake either) until the server stops: for handshake and first-byte timeouts.
    bool silent = false;
    /// Keep a recorded_request per request (about 300 bytes each, never trimmed: turn off for
    /// request floods; the counters still count).
    bool record_requests = true;
};

/// What the server saw of one request. Filled when the request's header has been read, that is
/// before the server sends any byte of its answer; the body fields are completed once the body
/// has been read (before the final answer too). So a client that has the response in hand reads
/// a complete record, with no race.
struct recorded_request {
    std::size_t connection = 0; ///< 1-based number of the connection it came on (in accept order)
    std::string method;         ///< as sent, e.g. "PUT"
    std::string target;         ///< as sent, e.g. "/bucket/key?x=1"
    unsigned version = 11;      ///< 10 or 11
    std::vector<std::pair<std::string, std::string>> headers; ///< in order, names as sent
    std::uint64_t body_bytes = 0;  ///< body bytes received (after removing chunked framing)
    std::uint32_t body_crc32c = 0; ///< CRC32C of those bytes
    bool body_complete = false;    ///< the whole body was received
    bool continue_sent = false;    ///< the server answered "100 Continue" before the body

    /// The value of the first header named `name` (case-insensitive), if any.
    std::optional<std::string> header(std::string_view name) const;
    /// Number of headers named `name` (case-insensitive).
    std::size_t header_count(std::string_view name) const;
};

/// An HTTP/1.1 server on 127.0.0.1 with a port chosen by the OS, started by the constructor and
/// stopped by the destructor (or stop()): all its connections are closed and its thread joined,
/// nothing is left behind. Thread-safe accessors. Not copyable or movable.
///
/// Every request's header is recorded (recorded()) and its body is read (streamed through a
/// 256 KiB buffer, never kept: any size, Content-Length or chunked) and counted (body_bytes()),
/// then answered by target (the path before any '?'); every answer has a Content-Length (or is
/// chunked), and keeps the connection open unless the request asked to close it or the target
/// says otherwise:
///
///   GET|HEAD /bytes/N      200, Content-Length N, N pattern bytes (pattern_byte), written
///                          incrementally (N may be many GiB). HEAD: the header only.
///   GET|HEAD /chunked/N    the same with Transfer-Encoding: chunked.
///   /delay/MS              waits MS milliseconds (a timer; the server stays responsive), then
///                          answers as the default does.
///   /stall-body/N          200, Content-Length N, the first N/2 pattern bytes, then nothing: the
///                          connection stays open until the client closes it or the server stops.
///   /stall-upload[/N]      reads the header (answers "100 Continue" if asked) and the first N
///                          body bytes (default 0), then reads nothing more and never answers:
///                          the client's writes stall once the socket buffers are full (the
///                          write-timeout test). The connection is held until the server stops.
///   /truncate-body/N       200, Content-Length N, the first N/2 pattern bytes, then the TCP
///                          connection is closed (no TLS close_notify).
///   /close                 the default answer with "Connection: close", then a graceful close.
///   /drop                  the default answer WITHOUT "Connection: close" (a keep-alive answer),
///                          then the TCP connection is closed at once (no TLS close_notify): a
///                          pooled connection the server dropped; the client finds out on the
///                          next request.
///   /reset                 no answer: the connection is reset (RST, SO_LINGER 0).
///   /status/CODE           status CODE (200..599; anything else gives 400) with body
///                          "status CODE\n" (empty for 204 and 304).
///   /big-header/N          200 with X-Big-0, X-Big-1, ... header fields of N bytes in all (at
///                          most 1 MiB), 1,000 to a field
///   /interim               reads the body, then sends a 100 Continue and a 103 Early Hints
///                          before the echo (interim replies a client must pass over)
///   /reject-expect         417 Expectation Failed with "Connection: close", sent as soon as the
///                          header is read, without reading the body and without 100 Continue;
///                          then a graceful close.
///   anything else          200 with body "<method> <target> <body bytes> <crc32c>\n" (crc32c:
///                          8 lowercase hex digits; see echo_body()), and headers
///                          X-Body-Length, X-Body-Crc32c, X-Connection-Id (the recorded
///                          connection number). This is also the answer to uploads (PUT/POST).
///
/// "Expect: 100-continue" on a request with a body: the server writes "100 Continue" before it
/// reads the body (except for /reject-expect). A graceful close is: plain, shutdown(send) and
/// read until the client closes (at most 1 s); TLS, close_notify and wait (at most 1 s) for the
/// client's.
class test_server {
public:
    explicit test_server(server_mode mode = server_mode::plain);
    explicit test_server(const server_options& options);
    ~test_server();
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    std::uint16_t port() const noexcept;
    /// "127.0.0.1".
    std::string host() const;
    /// "127.0.0.1:<port>".
    std::string authority() const;
    /// "http://127.0.0.1:<port><target>" (https for the TLS modes).
    std::string url(std::string_view target = "/") const;
    server_mode mode() const noexcept;
    bool tls() const noexcept;

    /// Connections accepted so far (including ones whose TLS handshake failed).
    std::size_t connections() const noexcept;
    /// Connections open now: accepted and not yet closed by the server (a connection the client
    /// closed counts until the server notices, at once unless it is held: silent, /stall-upload).
    std::size_t open_connections() const noexcept;
    /// Requests whose header was read.
    std::size_t requests() const noexcept;
    /// Request body bytes received, over all requests.
    std::uint64_t body_bytes() const noexcept;
    /// TLS handshakes that failed (for example because the client refused the certificate). The
    /// server sees the failure slightly after the client does: poll if you check it.
    std::size_t tls_handshake_failures() const noexcept;

    /// Copies of the recorded requests, in arrival order.
    std::vector<recorded_request> recorded() const;
    /// The most recent recorded request, if any.
    std::optional<recorded_request> last_request() const;

    /// Stops the server: closes the listener and every connection, joins the thread. Idempotent;
    /// the destructor calls it. The counters and records stay readable.
    void stop() noexcept;

    /// The body of the default answer: "<method> <target> <body_bytes> <crc32c, %08x>\n".
    static std::string echo_body(std::string_view method, std::string_view target,
                                 std::uint64_t body_bytes, std::uint32_t body_crc32c);

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// blackhole_listener

/// A listening socket on 127.0.0.1 whose accept queue is full, so that a new connect() to it
/// never completes (Linux drops SYNs to a listener whose accept queue is full when
/// net.ipv4.tcp_abort_on_overflow is 0, the default; the client retransmits its SYN for minutes).
/// Listens with backlog 0, fills the queue with connections of its own, never accepts. The
/// constructor checks that a connection it made stays pending for 100 ms (verified()). Closes
/// everything in its destructor. Not copyable or movable. Throws std::system_error on failure.
class blackhole_listener {
public:
    blackhole_listener();
    ~blackhole_listener();
    blackhole_listener(const blackhole_listener&) = delete;
    blackhole_listener& operator=(const blackhole_listener&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// "127.0.0.1:<port>".
    std::string authority() const;
    /// True when the constructor saw a connect to this listener stay pending (the queue is
    /// full). A connect-timeout test should REQUIRE it.
    bool verified() const noexcept { return verified_; }

private:
    int listener_ = -1;
    std::vector<int> fillers_;
    std::uint16_t port_ = 0;
    bool verified_ = false;
};

// ---------------------------------------------------------------------------------------------
// connect_proxy

struct proxy_options {
    /// When set, every CONNECT must carry "Proxy-Authorization: Basic base64(user:password)";
    /// otherwise the proxy answers 407 with "Proxy-Authenticate: Basic realm=\"cloudstore-test\""
    /// and closes.
    std::optional<std::pair<std::string, std::string>> credentials;
    /// By default the proxy only tunnels to loopback addresses (127.0.0.0/8, ::1) and answers 403
    /// for anything else, so a test cannot reach the network by mistake.
    bool allow_remote = false;
};

/// An HTTP CONNECT proxy on 127.0.0.1 (port chosen by the OS), on a thread of its own. For
/// `CONNECT host:port HTTP/1.1` it resolves and connects to host:port, answers
/// "HTTP/1.1 200 Connection established" and copies bytes both ways until both sides have closed
/// (a half-close is passed on). Refuses other methods with 405 (Allow: CONNECT), a malformed
/// authority with 400, a target it cannot reach with 502; each refusal closes the connection.
/// Stopped by its destructor (or stop()). Not copyable or movable.
class connect_proxy {
public:
    connect_proxy();
    explicit connect_proxy(const proxy_options& options);
    ~connect_proxy();
    connect_proxy(const connect_proxy&) = delete;
    connect_proxy& operator=(const connect_proxy&) = delete;

    std::uint16_t port() const noexcept;
    /// "127.0.0.1:<port>".
    std::string authority() const;
    /// "http://127.0.0.1:<port>" (what HTTPS_PROXY / HTTP_PROXY hold).
    std::string url() const;

    /// Client connections accepted.
    std::size_t connections() const noexcept;
    /// CONNECT requests received (whether tunnelled or refused).
    std::size_t connects() const noexcept;
    /// Tunnels established (counted just before the 200 is sent, so a client that read the 200
    /// sees it counted).
    std::size_t tunnels() const noexcept;
    /// Requests refused (405, 407, 400, 403, 502).
    std::size_t refused() const noexcept;
    /// The authority (request target) of every CONNECT, in order, e.g. "127.0.0.1:8443".
    std::vector<std::string> authorities() const;
    /// Every request the proxy read (CONNECT or not), in order; body fields stay empty.
    std::vector<recorded_request> recorded() const;

    /// Closes the listener, every connection and tunnel, joins the thread. Idempotent.
    void stop() noexcept;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

} // namespace cloudstore::test
