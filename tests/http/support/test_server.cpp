// The test servers of test_server.hpp, written with Beast over Asio C++20 coroutines. Each
// server owns an io_context run by one thread of its own: everything below runs on that thread,
// except the accessors (atomics and a mutex) and stop().
#include "test_server.hpp"
#include "test_certificates.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/evp.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <type_traits>

namespace cloudstore::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

namespace {

/// Completion token of every operation below: errors come back as values, never as exceptions.
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t chunk_size = 256 * 1024;
constexpr std::size_t read_buffer_size = 128 * 1024;
constexpr auto graceful_close_limit = 1s;
constexpr auto handshake_limit = 10s;
constexpr std::uint32_t header_limit = 64 * 1024;
constexpr const char* server_name = "cloudstore-test-server";

// ---- pattern and CRC32C ---------------------------------------------------------------------

/// chunk_size + 256 pattern bytes: the pattern from any offset, for up to chunk_size bytes, is
/// the slice starting at offset % 256 (the period).
const unsigned char* pattern_table() {
    static const auto table = [] {
        auto t = std::make_unique<unsigned char[]>(chunk_size + 256);
        for (std::size_t i = 0; i < chunk_size + 256; ++i)
            t[i] = pattern_byte(i);
        return t;
    }();
    return table.get();
}

constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    return table;
}
constexpr auto crc32c_table = make_crc32c_table();

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t
crc32c_sse42(std::uint32_t c, const unsigned char* p, std::size_t n) {
    std::uint64_t c64 = c;
    for (; n >= 8; n -= 8, p += 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        c64 = _mm_crc32_u64(c64, v);
    }
    c = static_cast<std::uint32_t>(c64);
    for (; n > 0; --n, ++p)
        c = _mm_crc32_u8(c, *p);
    return c;
}
#endif

std::string hex8(std::uint32_t v) {
    char text[16];
    std::snprintf(text, sizeof text, "%08x", static_cast<unsigned>(v));
    return text;
}

// ---- the io thread --------------------------------------------------------------------------

/// An io_context and the thread that runs it. stop() stops the context, joins the thread and
/// destroys the context, which destroys every pending operation and coroutine frame, and with
/// them every socket and timer: nothing outlives stop().
class io_thread {
public:
    io_thread()
        : context_(std::make_unique<asio::io_context>(1)) {}
    ~io_thread() { stop(); }
    io_thread(const io_thread&) = delete;
    io_thread& operator=(const io_thread&) = delete;

    asio::io_context& context() { return *context_; }

    void start() {
        thread_ = std::thread([context = context_.get()] {
            for (;;) {
                try {
                    context->run();
                    return;
                } catch (...) {
                    // A handler threw (none should: every operation completes with as_tuple);
                    // keep serving.
                }
            }
        });
    }

    void stop() noexcept {
        if (!context_) return;
        context_->stop();
        if (thread_.joinable()) thread_.join();
        context_.reset();
    }

private:
    std::unique_ptr<asio::io_context> context_;
    std::thread thread_;
};

/// Completion handler of co_spawn: a coroutine that ends with an exception (it should not) just
/// ends; its connection is closed by its destructors.
struct ignore_exception {
    void operator()(const std::exception_ptr&) const noexcept {}
};

struct counter_guard {
    explicit counter_guard(std::atomic<std::size_t>& n)
        : n_(n) {
        ++n_;
    }
    ~counter_guard() { --n_; }
    counter_guard(const counter_guard&) = delete;
    counter_guard& operator=(const counter_guard&) = delete;

private:
    std::atomic<std::size_t>& n_;
};

tcp::acceptor make_loopback_acceptor(asio::io_context& context) {
    // Opens, binds 127.0.0.1:0 (SO_REUSEADDR) and listens.
    return tcp::acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
}

/// The path of a target (before any '?').
std::string_view target_path(std::string_view target) {
    return target.substr(0, target.find('?'));
}

/// The number after `prefix` in `path`, when path is exactly prefix followed by decimal digits.
std::optional<std::uint64_t> number_after(std::string_view path, std::string_view prefix) {
    if (!path.starts_with(prefix)) return std::nullopt;
    std::string_view digits = path.substr(prefix.size());
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
        return std::nullopt;
    return value;
}

bool has_token(std::string_view list, std::string_view token) {
    // A comma-separated header value contains `token` (case-insensitive, spaces trimmed).
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
            item.remove_suffix(1);
        if (beast::iequals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

template <class Fields>
recorded_request make_record(std::size_t connection, const http::header<true, Fields>& header) {
    recorded_request r;
    r.connection = connection;
    r.method = std::string(header.method_string());
    r.target = std::string(header.target());
    r.version = header.version();
    for (const auto& field : header)
        r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    return r;
}

} // namespace

// ---- helpers of the header ------------------------------------------------------------------

void fill_pattern(std::uint64_t offset, void* out, std::size_t size) noexcept {
    auto* dst = static_cast<unsigned char*>(out);
    const unsigned char* table = pattern_table();
    while (size > 0) {
        std::size_t n = std::min(size, chunk_size);
        std::memcpy(dst, table + offset % 256, n);
        dst += n;
        offset += n;
        size -= n;
    }
}

std::size_t pattern_mismatch(std::uint64_t offset, const void* data, std::size_t size) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    const unsigned char* table = pattern_table();
    std::size_t done = 0;
    while (done < size) {
        std::size_t n = std::min(size - done, chunk_size);
        const unsigned char* expected = table + (offset + done) % 256;
        if (std::memcmp(p + done, expected, n) != 0) {
            for (std::size_t i = 0; i < n; ++i)
                if (p[done + i] != expected[i]) return done + i;
        }
        done += n;
    }
    return std::string_view::npos;
}

std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint32_t c = ~crc;
#if defined(__x86_64__)
    static const bool hardware = __builtin_cpu_supports("sse4.2");
    if (hardware) return ~crc32c_sse42(c, p, size);
#endif
    for (; size > 0; --size, ++p)
        c = crc32c_table[(c ^ *p) & 0xFFu] ^ (c >> 8);
    return ~c;
}

std::optional<std::string> recorded_request::header(std::string_view name) const {
    for (const auto& [n, v] : headers)
        if (beast::iequals(n, name)) return v;
    return std::nullopt;
}

std::size_t recorded_request::header_count(std::string_view name) const {
    return static_cast<std::size_t>(
        std::count_if(headers.begin(), headers.end(),
                      [&](const auto& h) { return beast::iequals(h.first, name); }));
}

// =============================================================================================
// test_server

namespace {

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

enum class route_kind {
    echo,
    interim,
    big_header,
    bytes,
    chunked,
    delay,
    stall_body,
    stall_upload,
    truncate_body,
    close,
    drop,
    reset,
    status,
    reject_expect
};

struct route {
    route_kind kind = route_kind::echo;
    std::uint64_t number = 0;
};

route parse_route(http::verb method, std::string_view target) {
    const std::string_view path = target_path(target);
    const bool get_or_head = method == http::verb::get || method == http::verb::head;
    if (get_or_head) {
        if (auto n = number_after(path, "/bytes/")) return {route_kind::bytes, *n};
        if (auto n = number_after(path, "/chunked/")) return {route_kind::chunked, *n};
    }
    if (auto n = number_after(path, "/delay/")) return {route_kind::delay, *n};
    if (auto n = number_after(path, "/stall-body/")) return {route_kind::stall_body, *n};
    if (auto n = number_after(path, "/truncate-body/")) return {route_kind::truncate_body, *n};
    if (auto n = number_after(path, "/status/")) return {route_kind::status, *n};
    if (auto n = number_after(path, "/big-header/")) return {route_kind::big_header, *n};
    if (auto n = number_after(path, "/stall-upload/")) return {route_kind::stall_upload, *n};
    if (path == "/stall-upload") return {route_kind::stall_upload, 0};
    if (path == "/close") return {route_kind::close, 0};
    if (path == "/drop") return {route_kind::drop, 0};
    if (path == "/reset") return {route_kind::reset, 0};
    if (path == "/reject-expect") return {route_kind::reject_expect, 0};
    if (path == "/interim") return {route_kind::interim, 0};
    return {};
}

} // namespace

struct test_server::impl {
    explicit impl(const server_options& o);
    ~impl() { io.stop(); }

    std::size_t record(recorded_request r) {
        std::lock_guard lock(mutex);
        ++requests;
        if (!options.record_requests) return static_cast<std::size_t>(-1);
        records.push_back(std::move(r));
        return records.size() - 1;
    }

    void complete_record(std::size_t index, std::uint64_t bytes, std::uint32_t crc, bool complete) {
        std::lock_guard lock(mutex);
        if (index >= records.size()) return;
        records[index].body_bytes = bytes;
        records[index].body_crc32c = crc;
        records[index].body_complete = complete;
    }

    void mark_continue(std::size_t index) {
        std::lock_guard lock(mutex);
        if (index < records.size()) records[index].continue_sent = true;
    }

    // Everything the coroutines touch is declared before `io`, so it outlives them.
    server_options options;
    std::optional<asio::ssl::context> tls;
    std::atomic<std::size_t> connections{0};
    std::atomic<std::size_t> open{0};
    std::atomic<std::size_t> requests{0};
    std::atomic<std::size_t> handshake_failures{0};
    std::atomic<std::uint64_t> body_bytes{0};
    mutable std::mutex mutex;
    std::vector<recorded_request> records;
    std::uint16_t port = 0;
    io_thread io;
};

namespace {

using server_impl = test_server::impl;

/// One accepted connection: its stream, buffers and the idle timer. Shared between the
/// coroutine serving it and the idle timer's handler.
template <class Stream>
struct connection {
    template <class... Args>
    connection(server_impl& s, std::size_t number, Args&&... args)
        : server(s)
        , id(number)
        , stream(std::forward<Args>(args)...)
        , idle_timer(beast::get_lowest_layer(stream).get_executor()) {
        // Beast's HTTP read reads at most capacity() - size() bytes at a time (and 64 KiB at
        // most): without room reserved, a body arrives a few hundred bytes per system call.
        buffer.reserve(read_buffer_size);
    }

    beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream); }

    server_impl& server;
    std::size_t id;
    Stream stream;
    asio::steady_timer idle_timer;
    std::uint64_t idle_generation = 0;
    bool waiting_for_request = false;
    bool idle_expired = false;
    beast::flat_buffer buffer;
    std::vector<unsigned char> chunk = std::vector<unsigned char>(chunk_size);
};

template <class Stream>
void arm_idle_timer(const std::shared_ptr<connection<Stream>>& c) {
    c->waiting_for_request = true;
    c->idle_expired = false;
    const auto timeout = c->server.options.idle_timeout;
    if (timeout.count() <= 0) return;
    const std::uint64_t generation = ++c->idle_generation;
    c->idle_timer.expires_after(timeout);
    c->idle_timer.async_wait(
        [weak = std::weak_ptr<connection<Stream>>(c), generation](const error_code& ec) {
            if (ec) return;
            auto self = weak.lock();
            if (!self || !self->waiting_for_request || self->idle_generation != generation) return;
            self->idle_expired = true;
            self->tcp().cancel(); // the pending header read completes with operation_aborted
        });
}

/// Stops waiting; returns whether the idle timeout fired meanwhile.
template <class Stream>
bool disarm_idle_timer(connection<Stream>& c) {
    c.waiting_for_request = false;
    ++c.idle_generation;
    c.idle_timer.cancel();
    return c.idle_expired;
}

/// Plain: shutdown(send) then read until the client closes; TLS: close_notify and wait for the
/// client's. Either for at most graceful_close_limit; then the socket is closed.
template <class Stream>
asio::awaitable<void> graceful_close(connection<Stream>& c) {
    c.tcp().expires_after(graceful_close_limit);
    if constexpr (is_tls<Stream>) {
        co_await c.stream.async_shutdown(nothrow);
    } else {
        error_code ignored;
        c.tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
        for (;;) {
            auto [ec, n] = co_await c.tcp().async_read_some(asio::buffer(c.chunk), nothrow);
            if (ec) break;
        }
    }
    c.tcp().close();
}

/// Closes the TCP connection at once: a FIN (or an RST if unread data is pending), no TLS
/// close_notify.
template <class Stream>
void abrupt_close(connection<Stream>& c, bool reset) {
    error_code ignored;
    auto& socket = c.tcp().socket();
    if (reset) {
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
    } else {
        socket.shutdown(tcp::socket::shutdown_both, ignored);
    }
    c.tcp().close();
}

template <class Stream, class Body>
asio::awaitable<bool> send_response(connection<Stream>& c, http::response<Body>& response,
                                    bool head) {
    if (head) {
        http::response_serializer<Body> serializer(response);
        auto [ec, n] = co_await http::async_write_header(c.stream, serializer, nothrow);
        co_return !ec;
    }
    auto [ec, n] = co_await http::async_write(c.stream, response, nothrow);
    co_return !ec;
}

template <class Stream>
asio::awaitable<bool> send_text(connection<Stream>& c, unsigned version, http::status status,
                                bool keep_alive, std::string body, bool head) {
    http::response<http::string_body> response(status, version);
    response.set(http::field::server, server_name);
    response.set(http::field::content_type, "text/plain");
    response.keep_alive(keep_alive);
    response.body() = std::move(body);
    response.prepare_payload();
    co_return co_await send_response(c, response, head);
}

/// 200 with `length` pattern bytes (Content-Length or chunked), written chunk by chunk from the
/// pattern table; stops after `stop_after` bytes (a partial body) when that is less.
template <class Stream>
asio::awaitable<bool> send_pattern(connection<Stream>& c, unsigned version, bool keep_alive,
                                   std::uint64_t length, bool chunked, bool head,
                                   std::uint64_t stop_after) {
    http::response<http::buffer_body> response(http::status::ok, version);
    response.set(http::field::server, server_name);
    response.set(http::field::content_type, "application/octet-stream");
    if (chunked)
        response.chunked(true);
    else
        response.content_length(length);
    response.keep_alive(keep_alive);
    response.body().data = nullptr;
    response.body().size = 0;
    response.body().more = true;

    http::response_serializer<http::buffer_body> serializer(response);
    {
        auto [ec, n] = co_await http::async_write_header(c.stream, serializer, nothrow);
        if (ec) co_return false;
    }
    if (head) co_return true;

    const unsigned char* table = pattern_table();
    const std::uint64_t limit = std::min(length, stop_after);
    std::uint64_t sent = 0;
    while (sent < limit) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, limit - sent));
        response.body().data = const_cast<unsigned char*>(table + sent % 256);
        response.body().size = n;
        response.body().more = true;
        auto [ec, written] = co_await http::async_write(c.stream, serializer, nothrow);
        if (ec && ec != http::error::need_buffer) co_return false;
        sent += n;
    }
    if (limit < length) co_return true;
    response.body().data = nullptr;
    response.body().size = 0;
    response.body().more = false;
    auto [ec, written] = co_await http::async_write(c.stream, serializer, nothrow);
    co_return !ec;
}

/// Keeps the connection open, reading nothing and writing nothing, until the server stops.
asio::awaitable<void> hold_until_stopped() {
    asio::steady_timer forever(co_await asio::this_coro::executor);
    forever.expires_at(asio::steady_timer::time_point::max());
    co_await forever.async_wait(nothrow);
}

template <class Stream>
asio::awaitable<void> serve(std::shared_ptr<connection<Stream>> c) {
    server_impl& server = c->server;
    counter_guard open_guard(server.open);

    if (server.options.silent) {
        co_await hold_until_stopped();
        co_return;
    }

    if constexpr (is_tls<Stream>) {
        c->tcp().expires_after(handshake_limit);
        auto [ec] = co_await c->stream.async_handshake(asio::ssl::stream_base::server, nothrow);
        c->tcp().expires_never();
        if (ec) {
            ++server.handshake_failures;
            co_return;
        }
    }

    for (;;) {
        http::request_parser<http::buffer_body> parser;
        parser.header_limit(header_limit);
        parser.body_limit(boost::none);

        arm_idle_timer(c);
        auto [read_ec, header_bytes] =
            co_await http::async_read_header(c->stream, c->buffer, parser, nothrow);
        const bool idle_expired = disarm_idle_timer(*c);
        if (read_ec) {
            if (idle_expired) co_await graceful_close(*c);
            co_return; // the client closed, or sent garbage: the destructor closes the socket
        }

        auto& request = parser.get();
        const std::size_t index = server.record(make_record(c->id, request.base()));
        const unsigned version = request.version();
        const bool head = request.method() == http::verb::head;
        const bool keep_alive = request.keep_alive();
        const route r = parse_route(request.method(), request.target());
        const std::string method(request.method_string());
        const std::string target(request.target());

        if (r.kind == route_kind::reject_expect) {
            co_await send_text(*c, version, http::status::expectation_failed, false,
                               "expectation failed\n", head);
            co_await graceful_close(*c);
            co_return;
        }

        if (!parser.is_done() && !server.options.never_continue &&
            has_token(request[http::field::expect], "100-continue")) {
            server.mark_continue(index); // before the client can see it: no race for a test
            http::response<http::empty_body> proceed(http::status::continue_, version);
            auto [ec, n] = co_await http::async_write(c->stream, proceed, nothrow);
            if (ec) co_return;
        }

        // The body, streamed through c->chunk and discarded (/stall-upload/N: its first N bytes).
        const bool stall_upload = r.kind == route_kind::stall_upload;
        std::uint64_t body_bytes = 0;
        std::uint32_t body_crc = 0;
        while (!parser.is_done() && !(stall_upload && body_bytes >= r.number)) {
            request.body().data = c->chunk.data();
            request.body().size = stall_upload ? static_cast<std::size_t>(std::min<std::uint64_t>(
                                                     c->chunk.size(), r.number - body_bytes))
                                               : c->chunk.size();
            const std::size_t offered = request.body().size;
            auto [ec, n] = co_await http::async_read(c->stream, c->buffer, parser, nothrow);
            const std::size_t got = offered - request.body().size;
            body_bytes += got;
            body_crc = crc32c(body_crc, c->chunk.data(), got);
            server.body_bytes += got;
            if (ec && ec != http::error::need_buffer) {
                server.complete_record(index, body_bytes, body_crc, false);
                co_return;
            }
        }
        server.complete_record(index, body_bytes, body_crc, parser.is_done());
        if (stall_upload) {
            co_await hold_until_stopped();
            co_return;
        }

        const std::string echo = test_server::echo_body(method, target, body_bytes, body_crc);
        auto send_echo = [&](bool keep) -> asio::awaitable<bool> {
            http::response<http::string_body> response(http::status::ok, version);
            response.set(http::field::server, server_name);
            response.set(http::field::content_type, "text/plain");
            response.set("X-Body-Length", std::to_string(body_bytes));
            response.set("X-Body-Crc32c", hex8(body_crc));
            response.set("X-Connection-Id", std::to_string(c->id));
            response.keep_alive(keep);
            response.body() = echo;
            response.prepare_payload();
            co_return co_await send_response(*c, response, head);
        };

        bool ok = true;
        bool keep = keep_alive;
        switch (r.kind) {
        case route_kind::bytes:
        case route_kind::chunked:
            ok = co_await send_pattern(*c, version, keep, r.number, r.kind == route_kind::chunked,
                                       head, r.number);
            break;
        case route_kind::delay: {
            asio::steady_timer timer(co_await asio::this_coro::executor);
            timer.expires_after(
                std::chrono::milliseconds(std::min<std::uint64_t>(r.number, 600'000)));
            co_await timer.async_wait(nothrow);
            ok = co_await send_echo(keep);
            break;
        }
        case route_kind::stall_body:
            if (co_await send_pattern(*c, version, keep, r.number, false, head, r.number / 2)) {
                // Hold the connection: read (and discard) until the client closes it or the
                // server stops.
                for (;;) {
                    auto [ec, n] =
                        co_await c->stream.async_read_some(asio::buffer(c->chunk), nothrow);
                    if (ec) break;
                }
            }
            co_return;
        case route_kind::truncate_body:
            if (co_await send_pattern(*c, version, keep, r.number, false, head, r.number / 2))
                abrupt_close(*c, false);
            co_return;
        case route_kind::close:
            if (co_await send_echo(false)) co_await graceful_close(*c);
            co_return;
        case route_kind::drop:
            if (co_await send_echo(keep)) abrupt_close(*c, false);
            co_return;
        case route_kind::reset:
            abrupt_close(*c, true);
            co_return;
        case route_kind::interim:
            // After the body: a late 100 Continue and a 103 Early Hints, then the echo.
            for (const unsigned code : {100u, 103u}) {
                http::response<http::empty_body> interim(static_cast<http::status>(code), version);
                auto [ec, n] = co_await http::async_write(c->stream, interim, nothrow);
                if (ec) co_return;
            }
            ok = co_await send_echo(keep);
            break;
        case route_kind::big_header: {
            http::response<http::string_body> response(http::status::ok, version);
            // Fields of 1,000 bytes each (Beast keeps a field in at most 64 KiB).
            for (std::uint64_t left = std::min<std::uint64_t>(r.number, 1 << 20), i = 0; left > 0;
                 ++i) {
                const auto piece = std::min<std::uint64_t>(left, 1000);
                response.insert("X-Big-" + std::to_string(i), std::string(piece, 'h'));
                left -= piece;
            }
            response.keep_alive(keep);
            response.body() = "big header\n";
            response.prepare_payload();
            ok = co_await send_response(*c, response, head);
            break;
        }
        case route_kind::status: {
            const auto code =
                static_cast<unsigned>(r.number >= 200 && r.number <= 599 ? r.number : 400);
            const auto status = static_cast<http::status>(code);
            std::string body;
            if (code != 204 && code != 304) body = "status " + std::to_string(code) + "\n";
            ok = co_await send_text(*c, version, status, keep, std::move(body), head);
            break;
        }
        case route_kind::echo:
        case route_kind::stall_upload:
        case route_kind::reject_expect:
            ok = co_await send_echo(keep);
            break;
        }
        if (!ok) co_return;
        if (!keep) {
            co_await graceful_close(*c);
            co_return;
        }
    }
}

asio::awaitable<void> accept_loop(server_impl& server, tcp::acceptor acceptor) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(nothrow);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            // Out of descriptors or similar: try again shortly instead of spinning.
            asio::steady_timer pause(acceptor.get_executor(), 10ms);
            co_await pause.async_wait(nothrow);
            continue;
        }
        const std::size_t id = ++server.connections;
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if (server.tls) {
            auto c = std::make_shared<connection<tls_stream>>(server, id, std::move(socket),
                                                              *server.tls);
            asio::co_spawn(acceptor.get_executor(), serve(std::move(c)), ignore_exception{});
        } else {
            auto c = std::make_shared<connection<plain_stream>>(server, id, std::move(socket));
            asio::co_spawn(acceptor.get_executor(), serve(std::move(c)), ignore_exception{});
        }
    }
}

} // namespace

test_server::impl::impl(const server_options& o)
    : options(o) {
    if (options.mode != server_mode::plain) {
        const certificate_set& certs = test_certificates();
        const pem_credentials& credentials = options.mode == server_mode::tls_trusted ? certs.server
                                             : options.mode == server_mode::tls_wrong_host
                                                 ? certs.wrong_host
                                                 : certs.untrusted;
        tls.emplace(asio::ssl::context::tls_server);
        tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
        tls->use_certificate_chain(asio::buffer(credentials.certificate));
        tls->use_private_key(asio::buffer(credentials.private_key), asio::ssl::context::pem);
    }
    tcp::acceptor acceptor = make_loopback_acceptor(io.context());
    port = acceptor.local_endpoint().port();
    asio::co_spawn(io.context(), accept_loop(*this, std::move(acceptor)), ignore_exception{});
    io.start();
}

test_server::test_server(server_mode mode)
    : test_server(server_options{.mode = mode}) {}

test_server::test_server(const server_options& options)
    : impl_(std::make_unique<impl>(options)) {}

test_server::~test_server() = default;

std::uint16_t test_server::port() const noexcept {
    return impl_->port;
}
std::string test_server::host() const {
    return "127.0.0.1";
}
std::string test_server::authority() const {
    return host() + ":" + std::to_string(port());
}
std::string test_server::url(std::string_view target) const {
    return (tls() ? "https://" : "http://") + authority() + std::string(target);
}
server_mode test_server::mode() const noexcept {
    return impl_->options.mode;
}
bool test_server::tls() const noexcept {
    return impl_->options.mode != server_mode::plain;
}
std::size_t test_server::connections() const noexcept {
    return impl_->connections.load();
}
std::size_t test_server::open_connections() const noexcept {
    return impl_->open.load();
}
std::size_t test_server::requests() const noexcept {
    return impl_->requests.load();
}
std::uint64_t test_server::body_bytes() const noexcept {
    return impl_->body_bytes.load();
}
std::size_t test_server::tls_handshake_failures() const noexcept {
    return impl_->handshake_failures.load();
}

std::vector<recorded_request> test_server::recorded() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->records;
}

std::optional<recorded_request> test_server::last_request() const {
    std::lock_guard lock(impl_->mutex);
    if (impl_->records.empty()) return std::nullopt;
    return impl_->records.back();
}

void test_server::stop() noexcept {
    impl_->io.stop();
}

std::string test_server::echo_body(std::string_view method, std::string_view target,
                                   std::uint64_t body_bytes, std::uint32_t body_crc32c) {
    std::string body;
    body.reserve(method.size() + target.size() + 32);
    body.append(method).append(" ").append(target).append(" ");
    body.append(std::to_string(body_bytes)).append(" ").append(hex8(body_crc32c)).append("\n");
    return body;
}

// =============================================================================================
// blackhole_listener

namespace {

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(),
                            std::string("blackhole_listener: ") + what);
}

sockaddr_in loopback_address(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

} // namespace

blackhole_listener::blackhole_listener() {
    try {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listener_ < 0) throw_errno("socket");
        sockaddr_in address = loopback_address(0);
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw_errno("bind");
        if (::listen(listener_, 0) != 0) throw_errno("listen");
        socklen_t length = sizeof address;
        if (::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
            throw_errno("getsockname");
        port_ = ntohs(address.sin_port);

        // Connect until one connect stays pending: from then on the queue is full (with backlog
        // 0, Linux queues one connection) and every new SYN is dropped.
        for (int attempt = 0; attempt < 16 && !verified_; ++attempt) {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) throw_errno("socket");
            fillers_.push_back(fd);
            sockaddr_in target = loopback_address(port_);
            if (::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0) continue;
            if (errno != EINPROGRESS) throw_errno("connect");
            pollfd p{fd, POLLOUT, 0};
            int ready = ::poll(&p, 1, 100);
            if (ready < 0) throw_errno("poll");
            if (ready == 0) verified_ = true; // still connecting after 100 ms: the SYN was dropped
        }
    } catch (...) {
        for (int fd : fillers_)
            ::close(fd);
        if (listener_ >= 0) ::close(listener_);
        throw;
    }
}

blackhole_listener::~blackhole_listener() {
    for (int fd : fillers_)
        ::close(fd);
    if (listener_ >= 0) ::close(listener_);
}

std::string blackhole_listener::authority() const {
    return "127.0.0.1:" + std::to_string(port_);
}

// =============================================================================================
// connect_proxy

struct connect_proxy::impl {
    explicit impl(const proxy_options& o);
    ~impl() { io.stop(); }

    proxy_options options;
    std::string expected_authorization; // "Basic <base64>", empty when not required
    std::atomic<std::size_t> connections{0};
    std::atomic<std::size_t> connects{0};
    std::atomic<std::size_t> tunnels{0};
    std::atomic<std::size_t> refused{0};
    mutable std::mutex mutex;
    std::vector<std::string> authorities;
    std::vector<recorded_request> records;
    std::uint16_t port = 0;
    io_thread io;
};

namespace {

using proxy_impl = connect_proxy::impl;
using namespace asio::experimental::awaitable_operators;

std::string base64(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

bool authorization_matches(std::string_view value, std::string_view expected) {
    // "Basic" is case-insensitive; the credentials are compared exactly.
    if (value.size() != expected.size() || value.size() < 6) return false;
    return beast::iequals(value.substr(0, 6), expected.substr(0, 6)) &&
           value.substr(6) == expected.substr(6);
}

/// "host:port" or "[v6]:port" into (host, port); nullopt when malformed.
std::optional<std::pair<std::string, std::string>> split_authority(std::string_view authority) {
    const std::size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    std::string_view host = authority.substr(0, colon);
    std::string_view port = authority.substr(colon + 1);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') return std::nullopt;
        host = host.substr(1, host.size() - 2);
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
        value > 65535)
        return std::nullopt;
    return std::pair{std::string(host), std::string(port)};
}

asio::awaitable<void> refuse(proxy_impl& proxy, beast::tcp_stream& client, unsigned version,
                             http::status status, std::string_view extra_name = {},
                             std::string_view extra_value = {}) {
    ++proxy.refused;
    http::response<http::string_body> response(status, version);
    response.set(http::field::server, server_name);
    response.set(http::field::content_type, "text/plain");
    if (!extra_name.empty()) response.set(extra_name, extra_value);
    response.keep_alive(false);
    response.body() = std::string(http::obsolete_reason(status)) + "\n";
    response.prepare_payload();
    client.expires_after(graceful_close_limit);
    auto [ec, n] = co_await http::async_write(client, response, nothrow);
    if (!ec) {
        error_code ignored;
        client.socket().shutdown(tcp::socket::shutdown_send, ignored);
        std::array<char, 4096> scratch;
        for (;;) {
            auto [rec, rn] = co_await client.async_read_some(asio::buffer(scratch), nothrow);
            if (rec) break;
        }
    }
    client.close();
}

/// Copies `from` to `to` until `from` ends: a clean end (EOF) is passed on as a half-close, an
/// error closes both sides (which ends the other direction too).
asio::awaitable<void> pump(beast::tcp_stream& from, beast::tcp_stream& to) {
    std::vector<unsigned char> buffer(64 * 1024);
    error_code ignored;
    for (;;) {
        auto [ec, n] = co_await from.async_read_some(asio::buffer(buffer), nothrow);
        if (ec) {
            if (ec == asio::error::eof) {
                to.socket().shutdown(tcp::socket::shutdown_send, ignored);
            } else {
                from.close();
                to.close();
            }
            co_return;
        }
        auto [wec, written] =
            co_await asio::async_write(to, asio::buffer(buffer.data(), n), nothrow);
        if (wec) {
            from.close();
            to.close();
            co_return;
        }
    }
}

asio::awaitable<void> proxy_session(proxy_impl& proxy, tcp::socket socket, std::size_t id) {
    beast::tcp_stream client(std::move(socket));
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(header_limit);
    auto [read_ec, header_bytes] =
        co_await http::async_read_header(client, buffer, parser, nothrow);
    if (read_ec) co_return;
    const auto& request = parser.get();
    const unsigned version = request.version();
    {
        std::lock_guard lock(proxy.mutex);
        proxy.records.push_back(make_record(id, request.base()));
    }

    if (request.method() != http::verb::connect) {
        co_await refuse(proxy, client, version, http::status::method_not_allowed, "Allow",
                        "CONNECT");
        co_return;
    }
    ++proxy.connects;
    const std::string authority(request.target());
    {
        std::lock_guard lock(proxy.mutex);
        proxy.authorities.push_back(authority);
    }
    if (!proxy.expected_authorization.empty() &&
        !authorization_matches(request[http::field::proxy_authorization],
                               proxy.expected_authorization)) {
        co_await refuse(proxy, client, version, http::status::proxy_authentication_required,
                        "Proxy-Authenticate", "Basic realm=\"cloudstore-test\"");
        co_return;
    }
    const auto host_port = split_authority(authority);
    if (!host_port) {
        co_await refuse(proxy, client, version, http::status::bad_request);
        co_return;
    }

    const auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    auto [resolve_ec, results] =
        co_await resolver.async_resolve(host_port->first, host_port->second, nothrow);
    if (resolve_ec || results.empty()) {
        co_await refuse(proxy, client, version, http::status::bad_gateway);
        co_return;
    }
    if (!proxy.options.allow_remote) {
        for (const auto& entry : results) {
            if (!entry.endpoint().address().is_loopback()) {
                co_await refuse(proxy, client, version, http::status::forbidden);
                co_return;
            }
        }
    }
    beast::tcp_stream upstream(executor);
    upstream.expires_after(handshake_limit);
    auto [connect_ec, endpoint] = co_await upstream.async_connect(results, nothrow);
    upstream.expires_never();
    if (connect_ec) {
        co_await refuse(proxy, client, version, http::status::bad_gateway);
        co_return;
    }
    error_code ignored;
    upstream.socket().set_option(tcp::no_delay(true), ignored);
    client.socket().set_option(tcp::no_delay(true), ignored);

    static constexpr std::string_view established = "HTTP/1.1 200 Connection established\r\n\r\n";
    ++proxy.tunnels; // before the client can see the answer: no race for a test
    {
        auto [ec, n] = co_await asio::async_write(client, asio::buffer(established), nothrow);
        if (ec) co_return;
    }
    if (buffer.size() > 0) { // bytes the client sent after the CONNECT header
        auto [ec, n] = co_await asio::async_write(upstream, buffer.data(), nothrow);
        if (ec) co_return;
        buffer.consume(buffer.size());
    }
    co_await (pump(client, upstream) && pump(upstream, client));
}

asio::awaitable<void> proxy_accept_loop(proxy_impl& proxy, tcp::acceptor acceptor) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(nothrow);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            asio::steady_timer pause(acceptor.get_executor(), 10ms);
            co_await pause.async_wait(nothrow);
            continue;
        }
        const std::size_t id = ++proxy.connections;
        asio::co_spawn(acceptor.get_executor(), proxy_session(proxy, std::move(socket), id),
                       ignore_exception{});
    }
}

} // namespace

connect_proxy::impl::impl(const proxy_options& o)
    : options(o) {
    if (options.credentials)
        expected_authorization =
            "Basic " + base64(options.credentials->first + ":" + options.credentials->second);
    tcp::acceptor acceptor = make_loopback_acceptor(io.context());
    port = acceptor.local_endpoint().port();
    asio::co_spawn(io.context(), proxy_accept_loop(*this, std::move(acceptor)), ignore_exception{});
    io.start();
}

connect_proxy::connect_proxy()
    : connect_proxy(proxy_options{}) {}
connect_proxy::connect_proxy(const proxy_options& options)
    : impl_(std::make_unique<impl>(options)) {}
connect_proxy::~connect_proxy() = default;

std::uint16_t connect_proxy::port() const noexcept {
    return impl_->port;
}
std::string connect_proxy::authority() const {
    return "127.0.0.1:" + std::to_string(port());
}
std::string connect_proxy::url() const {
    return "http://" + authority();
}
std::size_t connect_proxy::connections() const noexcept {
    return impl_->connections.load();
}
std::size_t connect_proxy::connects() const noexcept {
    return impl_->connects.load();
}
std::size_t connect_proxy::tunnels() const noexcept {
    return impl_->tunnels.load();
}
std::size_t connect_proxy::refused() const noexcept {
    return impl_->refused.load();
}

std::vector<std::string> connect_proxy::authorities() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->authorities;
}

std::vector<recorded_request> connect_proxy::recorded() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->records;
}

void connect_proxy::stop() noexcept {
    impl_->io.stop();
}

} // namespace cloudstore::test
