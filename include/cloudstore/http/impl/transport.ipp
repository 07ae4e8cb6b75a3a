#pragma once

#include <cloudstore/crypto/base64.hpp>
#include <cloudstore/http/transport.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/throw_exception.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace cloudstore::http {

namespace detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
using tls_stream = beast::ssl_stream<tcp::socket>;
inline constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct pool_key {
    bool tls;
    std::string host;
    std::uint16_t port;
    friend bool operator<(const pool_key& a, const pool_key& b) {
        return std::tie(a.tls, a.host, a.port) < std::tie(b.tls, b.host, b.port);
    }
};

// The timeouts of the exchange in progress on one connection: one timer for all of its
// operations, instead of a timer armed and cancelled around each read and write (what Beast's
// tcp_stream does, at about a microsecond and a scheduler round trip per operation). Each
// operation moves `limit`; the timer, once armed, sleeps until its expiry and then either
// finds the limit moved on and sleeps again, or closes the socket. Runs on the exchange's
// executor, like everything that touches the connection.
struct watchdog : std::enable_shared_from_this<watchdog> {
    watchdog(const asio::any_io_executor& ex, tcp::socket& s)
        : timer(ex)
        , socket(s) {}

    // A new limit for what comes next; arms the timer when it is not or would wake too late.
    void watch(clock::time_point new_limit) {
        active = true;
        limit = new_limit;
        if (limit == clock::time_point::max() || (armed && timer.expiry() <= limit)) return;
        armed = true;
        timer.expires_at(limit); // cancels a later wait, if any
        timer.async_wait([self = shared_from_this()](error_code ec) {
            if (ec) return; // re-armed or stopped
            self->armed = false;
            if (!self->active) return;
            if (clock::now() < self->limit) return self->watch(self->limit);
            self->timed_out = true;
            error_code ignored;
            self->socket.cancel(ignored);
            self->socket.close(ignored);
        });
    }
    // The exchange is over: no pending wait may keep the executor's run() alive.
    void stop() {
        active = false;
        if (armed) {
            armed = false;
            timer.cancel();
        }
    }

    asio::steady_timer timer;
    tcp::socket& socket;
    clock::time_point limit = clock::time_point::max();
    bool active = false;
    bool armed = false;
    bool timed_out = false;
};

struct connection {
    explicit connection(const asio::any_io_executor& ex, bool tls, asio::ssl::context& ctx)
        : plain(tls ? nullptr : std::make_unique<tcp::socket>(ex))
        , secure(tls ? std::make_unique<tls_stream>(ex, ctx) : nullptr)
        , watch(std::make_shared<watchdog>(ex, socket())) {
        // Beast reads only into space already reserved here: without it a body arrives a few
        // hundred bytes per system call.
        buffer.reserve(128 * 1024);
    }
    ~connection() { watch->stop(); }
    tcp::socket& socket() { return secure ? secure->next_layer() : *plain; }
    void close() {
        beast::error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
    }

    std::unique_ptr<tcp::socket> plain;
    std::unique_ptr<tls_stream> secure;
    std::shared_ptr<watchdog> watch;
    std::string head; // the request line and header being sent
    beast::flat_buffer buffer;
    // Request and response body pieces pass through here. Made once per connection and never
    // zeroed: a small exchange touches (and so makes resident) only its first page.
    std::unique_ptr<std::byte[]> scratch;
    clock::time_point idle_since{};
    bool open = false;
    bool used = false;
};

// Connections of one executor (the async strand, or one thread's private io_context): only
// ever touched from that executor, so it needs no lock.
struct connection_pool {
    std::map<pool_key, std::vector<std::unique_ptr<connection>>> idle;
    std::map<pool_key, std::size_t> open_count;
    std::map<pool_key, std::deque<asio::steady_timer*>> waiters;

    void wake_one(const pool_key& key) {
        auto it = waiters.find(key);
        if (it == waiters.end() || it->second.empty()) return;
        it->second.front()->cancel();
        it->second.pop_front();
    }
    void release(const pool_key& key, std::unique_ptr<connection> c, bool reusable) {
        if (reusable && c->open) {
            c->idle_since = clock::now();
            c->used = true;
            idle[key].push_back(std::move(c));
        } else {
            if (c->open) c->close();
            --open_count[key];
        }
        wake_one(key);
    }
    void discard(const pool_key& key, connection& c) {
        if (c.open) c.close();
        c.open = false;
        --open_count[key];
        wake_one(key);
    }
};

struct dns_cache {
    std::mutex mutex;
    std::map<std::string, std::pair<tcp::resolver::results_type, clock::time_point>> entries;
    std::atomic<std::uint64_t> lookups{0};
};

// Closes the socket of the exchange in progress when the caller cancels, or ends its wait for
// a pooled connection.
struct cancel_control {
    bool cancelled = false;
    connection* current = nullptr;
    asio::steady_timer* waiting = nullptr;
    void cancel() {
        cancelled = true;
        if (waiting != nullptr) waiting->cancel();
        if (current != nullptr && current->open) {
            beast::error_code ignored;
            current->socket().cancel(ignored);
            current->close();
        }
    }
};

struct blocking_face {
    asio::io_context context{1};
    connection_pool pool;
};

inline bool is_ip_literal(std::string_view host) {
    beast::error_code ec;
    asio::ip::make_address(std::string(host), ec);
    return !ec;
}

inline bool no_proxy_matches(std::string_view no_proxy, std::string_view host) {
    while (!no_proxy.empty()) {
        const auto comma = no_proxy.find(',');
        std::string_view entry = no_proxy.substr(0, comma);
        while (!entry.empty() && entry.front() == ' ')
            entry.remove_prefix(1);
        while (!entry.empty() && entry.back() == ' ')
            entry.remove_suffix(1);
        if (entry == "*") return true;
        if (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
        if (!entry.empty() &&
            (host == entry || (host.size() > entry.size() && host.ends_with(entry) &&
                               host[host.size() - entry.size() - 1] == '.')))
            return true;
        if (comma == std::string_view::npos) break;
        no_proxy.remove_prefix(comma + 1);
    }
    return false;
}

inline std::string getenv_either(const char* upper, const char* lower) {
    if (const char* v = std::getenv(lower); v != nullptr && *v != '\0') return v;
    if (const char* v = std::getenv(upper); v != nullptr && *v != '\0') return v;
    return {};
}

inline bool is_stale_connection_error(const error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == bhttp::error::partial_message;
}

} // namespace detail

struct transport::state {
    state(boost::asio::any_io_executor ex, const transport_options& o)
        : executor(o.serialized_executor ? ex : boost::asio::make_strand(ex))
        , options(o)
        , ssl(boost::asio::ssl::context::tls_client) {
        boost::system::error_code ec;
        ssl.set_options(
            boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                boost::asio::ssl::context::no_tlsv1_1,
            ec);
        if (o.tls.insecure_skip_verification_for_testing_only) {
            ssl.set_verify_mode(boost::asio::ssl::verify_none, ec);
        } else {
            ssl.set_verify_mode(boost::asio::ssl::verify_peer, ec);
            if (!o.tls.ca_file.empty()) ssl.load_verify_file(o.tls.ca_file, ec);
            if (!ec && !o.tls.ca_directory.empty()) ssl.add_verify_path(o.tls.ca_directory, ec);
            if (!ec && o.tls.ca_file.empty() && o.tls.ca_directory.empty())
                ssl.set_default_verify_paths(ec);
        }
        if (ec) configuration_error = errc::invalid_configuration;
    }

    // Where async exchanges and the async pool run: a strand over the caller's executor,
    // unless the caller says that executor never runs two handlers at once.
    boost::asio::any_io_executor executor;
    transport_options options;
    boost::asio::ssl::context ssl;
    error_code configuration_error;
    detail::dns_cache dns;
    detail::connection_pool async_pool;
    std::mutex blocking_mutex;
    std::map<std::thread::id, std::unique_ptr<detail::blocking_face>> blocking;
    std::atomic<std::uint64_t> opened{0}, reused{0}, stale_retries{0};
};

namespace detail {

struct exchange_context {
    exchange_context(std::shared_ptr<transport::state> s, connection_pool& p,
                     asio::any_io_executor ex, request& q, response& r,
                     std::shared_ptr<cancel_control> c)
        : state(std::move(s))
        , pool(p)
        , executor(std::move(ex))
        , req(q)
        , res(r)
        , cancel(std::move(c)) {}

    std::shared_ptr<transport::state> state;
    connection_pool& pool;
    asio::any_io_executor executor;
    request& req;
    response& res;
    std::shared_ptr<cancel_control> cancel;
    clock::time_point deadline = clock::time_point::max();
    std::span<std::byte> scratch; // the connection's, once it has one
    std::uint64_t sent = 0, received = 0;
    bool response_started = false;
};

// Sets the connection's watchdog for the next operation: the idle timeout, or what remains of
// the whole request's, whichever is sooner. False when the request's time is already up.
inline bool arm(connection& c, const exchange_context& x) {
    const auto idle = std::chrono::duration_cast<clock::duration>(x.state->options.idle_timeout);
    const auto now = clock::now();
    if (x.deadline <= now) return false;
    c.watch->watch(idle.count() > 0 ? std::min(x.deadline, now + idle) : x.deadline);
    return true;
}

inline asio::awaitable<error_code> resolve(exchange_context& x, const std::string& host,
                                           std::uint16_t port, tcp::resolver::results_type& out) {
    const std::string key = host + ":" + std::to_string(port);
    const auto ttl = std::chrono::duration_cast<clock::duration>(x.state->options.dns_ttl);
    {
        std::lock_guard lock(x.state->dns.mutex);
        auto it = x.state->dns.entries.find(key);
        if (it != x.state->dns.entries.end() && it->second.second > clock::now()) {
            out = it->second.first;
            co_return error_code{};
        }
    }
    tcp::resolver resolver(x.executor);
    ++x.state->dns.lookups;
    auto [ec, results] =
        co_await resolver.async_resolve(host, std::to_string(port), tuple_awaitable);
    if (ec) co_return ec;
    out = results;
    std::lock_guard lock(x.state->dns.mutex);
    x.state->dns.entries[key] = {results, clock::now() + ttl};
    co_return error_code{};
}

// A proxy URL split into the proxy's endpoint and the Proxy-Authorization value of the
// `user:password@` it may carry (percent-decoded, then base64 as Basic auth wants).
struct proxy_target {
    endpoint at;
    std::string authorization; // "Basic ...", empty when the URL names no user
};

inline int hex_value(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

inline std::optional<proxy_target> parse_proxy_url(std::string url) {
    if (url.find("://") == std::string::npos) url.insert(0, "http://");
    const auto authority = url.find("://") + 3;
    const auto end = url.find_first_of("/?#", authority);
    const auto at = url.rfind('@', end == std::string::npos ? url.size() : end);
    proxy_target out;
    if (at != std::string::npos && at >= authority) {
        std::string userinfo;
        for (std::size_t i = authority; i < at; ++i) {
            if (url[i] != '%') {
                userinfo += url[i];
                continue;
            }
            const int hi = i + 2 < at ? hex_value(url[i + 1]) : -1;
            const int lo = hi >= 0 ? hex_value(url[i + 2]) : -1;
            if (lo < 0) return std::nullopt;
            userinfo += static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (userinfo.find(':') == std::string::npos) userinfo += ':';
        out.authorization = "Basic " + crypto::base64_encode(crypto::as_bytes(userinfo));
        url.erase(authority, at + 1 - authority);
    }
    error_code ec;
    out.at = endpoint::parse(url, ec);
    if (ec) return std::nullopt;
    return out;
}

// Sends CONNECT host:port through an open connection to a proxy and reads its answer.
inline asio::awaitable<error_code> proxy_connect(connection& c, exchange_context& x,
                                                 const std::string& authorization) {
    auto& s = c.socket();
    const std::string authority = x.req.to.host + ":" + std::to_string(x.req.to.port);
    bhttp::request<bhttp::empty_body> connect{bhttp::verb::connect, authority, 11};
    connect.set(bhttp::field::host, authority);
    connect.set(bhttp::field::user_agent, x.state->options.user_agent);
    if (!authorization.empty()) connect.set(bhttp::field::proxy_authorization, authorization);
    if (!arm(c, x)) co_return error_code(beast::error::timeout);
    auto [wec, wn] = co_await bhttp::async_write(s, connect, tuple_awaitable);
    if (wec) co_return wec;
    bhttp::response_parser<bhttp::empty_body> answer;
    answer.skip(true); // a CONNECT answer has no body
    if (!arm(c, x)) co_return error_code(beast::error::timeout);
    auto [rec, rn] = co_await bhttp::async_read_header(s, c.buffer, answer, tuple_awaitable);
    if (rec) co_return rec;
    if (answer.get().result_int() / 100 != 2)
        co_return make_http_status_error(answer.get().result_int());
    co_return error_code{};
}

inline asio::awaitable<error_code> open_connection(connection& c, exchange_context& x) {
    const auto& o = x.state->options;
    const endpoint& to = x.req.to;
    // A proxy, unless NO_PROXY names the host.
    const std::string& proxy_url = to.tls ? o.proxy.https_proxy : o.proxy.http_proxy;
    std::optional<proxy_target> proxy;
    if (!proxy_url.empty() && !no_proxy_matches(o.proxy.no_proxy, to.host)) {
        proxy = parse_proxy_url(proxy_url);
        if (!proxy) co_return error_code(errc::invalid_configuration);
    }
    const std::string& host = proxy ? proxy->at.host : to.host;
    const std::uint16_t port = proxy ? proxy->at.port : to.port;

    auto& s = c.socket();
    const auto connect_budget = std::chrono::duration_cast<clock::duration>(o.connect_timeout);
    const auto connect_deadline = std::min(x.deadline, clock::now() + connect_budget);
    tcp::resolver::results_type endpoints;
    // DNS has its own wait: the resolver cannot be cancelled through the stream's timer.
    if (auto ec = co_await resolve(x, host, port, endpoints)) co_return ec;
    if (connect_deadline <= clock::now()) co_return error_code(beast::error::timeout);
    c.watch->watch(connect_deadline);
    auto [cec, ep] = co_await asio::async_connect(s, endpoints, tuple_awaitable);
    if (cec) co_return cec;
    s.set_option(tcp::no_delay(true), cec);
    c.open = true;
    ++x.state->opened;
    if (proxy) {
        if (auto ec = co_await proxy_connect(c, x, proxy->authorization)) co_return ec;
    }
    if (c.secure) {
        if (!is_ip_literal(to.host) &&
            !SSL_set_tlsext_host_name(c.secure->native_handle(), to.host.c_str()))
            co_return error_code(errc::invalid_argument);
        if (!o.tls.insecure_skip_verification_for_testing_only)
            c.secure->set_verify_callback(asio::ssl::host_name_verification(to.host));
        if (!arm(c, x)) co_return error_code(beast::error::timeout);
        auto [hec] =
            co_await c.secure->async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
        if (hec) co_return hec;
    }
    co_return error_code{};
}

inline void report_progress(exchange_context& x) {
    if (x.req.progress) x.req.progress(x.sent, x.received);
}

template <class Stream>
asio::awaitable<error_code> read_response(Stream& stream, connection& c, exchange_context& x,
                                          bhttp::response_parser<bhttp::buffer_body>& p,
                                          bool& keep_alive) {
    if (x.res.sink) {
        const auto len = p.content_length();
        error_code ec;
        x.res.sink->start(p.get().result_int(),
                          len ? std::optional<std::uint64_t>(*len) : std::nullopt, ec);
        if (ec) co_return ec;
    }
    p.eager(true);
    while (!p.is_done()) {
        p.get().body().data = x.scratch.data();
        p.get().body().size = x.scratch.size();
        error_code ec;
        std::size_t used = 0;
        // What the header read already buffered is parsed here and now: a small reply is
        // whole after the header read, and an async read of it would still cost a post.
        if (c.buffer.size() != 0) {
            used = p.put(c.buffer.data(), ec);
            c.buffer.consume(used);
            if (ec == bhttp::error::need_more) ec = {};
        }
        if (used == 0 && !ec) {
            if (!arm(c, x)) co_return error_code(beast::error::timeout);
            std::tie(ec, std::ignore) =
                co_await bhttp::async_read(stream, c.buffer, p, tuple_awaitable);
        }
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) co_return ec;
        const std::size_t got = x.scratch.size() - p.get().body().size;
        if (got != 0) {
            x.received += got;
            if (x.res.sink) {
                error_code sec;
                x.res.sink->write(std::span<const std::byte>(x.scratch.data(), got), sec);
                if (sec) co_return sec;
            }
            report_progress(x);
        }
    }
    if (x.res.sink) {
        error_code ec;
        x.res.sink->finish(ec);
        if (ec) co_return ec;
    }
    keep_alive = p.get().keep_alive();
    co_return error_code{};
}

// A header line's name and value: no byte that could end the line or the header early.
inline bool valid_field(std::string_view name, std::string_view value) {
    if (name.empty()) return false;
    for (char ch : name)
        if (ch <= ' ' || ch == ':' || ch == 0x7f) return false;
    for (char ch : value)
        if (ch == '\r' || ch == '\n' || ch == '\0') return false;
    return true;
}

// Writes the request line and header into `out` (reused: its capacity stays with the
// connection). Host and User-Agent are the caller's when given; Content-Length or
// Transfer-Encoding always come from the body, so no caller's header can contradict it.
inline error_code write_head(std::string& out, const exchange_context& x, bool expect_continue) {
    const request& req = x.req;
    const auto& o = x.state->options;
    out.clear();
    if (!valid_field(req.method, "") ||
        req.target.find_first_of(std::string_view(" \r\n\0", 4)) != std::string::npos ||
        req.target.empty())
        return errc::invalid_argument;
    out.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\n");
    const auto line = [&out](std::string_view name, std::string_view value) {
        out.append(name).append(": ").append(value).append("\r\n");
    };
    for (const auto& f : req.headers) {
        const auto name = f.name_string();
        if (!valid_field(name, f.value())) return errc::invalid_argument;
        if (f.name() == bhttp::field::content_length || f.name() == bhttp::field::transfer_encoding)
            continue;
        line(name, f.value());
    }
    if (req.headers.find(bhttp::field::host) == req.headers.end()) {
        out.append("Host: ").append(req.to.host);
        if (req.to.port != (req.to.tls ? 443 : 80))
            out.append(":").append(std::to_string(req.to.port));
        out.append("\r\n");
    }
    if (req.headers.find(bhttp::field::user_agent) == req.headers.end())
        line("User-Agent", o.user_agent);
    if (req.body != nullptr) {
        if (const auto size = req.body->size())
            line("Content-Length", std::to_string(*size));
        else
            line("Transfer-Encoding", "chunked");
        if (expect_continue) line("Expect", "100-continue");
    } else if (req.method == "PUT" || req.method == "POST") {
        line("Content-Length", "0");
    }
    out.append("\r\n");
    return {};
}

// Waits for the server's answer to `Expect: 100-continue` for at most the configured wait.
// True when something arrived (a 100, or a final answer to read), false when the wait ran
// out and the body should go anyway.
template <class Stream>
asio::awaitable<bool> wait_for_answer(Stream& stream, connection& c, exchange_context& x) {
    using namespace asio::experimental::awaitable_operators;
    if (c.buffer.size() != 0) co_return true;
    if constexpr (!std::is_same_v<Stream, tcp::socket>) {
        // Bytes already decrypted and held by OpenSSL count as an answer.
        if (SSL_pending(stream.native_handle()) > 0) co_return true;
    }
    asio::steady_timer wait(x.executor);
    wait.expires_after(x.state->options.expect_continue_wait);
    auto result = co_await (c.socket().async_wait(tcp::socket::wait_read, tuple_awaitable) ||
                            wait.async_wait(tuple_awaitable));
    co_return result.index() == 0;
}

template <class Stream>
asio::awaitable<error_code> run_exchange(Stream& stream, connection& c, exchange_context& x,
                                         bool& reusable) {
    const auto& o = x.state->options;
    request& req = x.req;
    const auto size = req.body != nullptr ? req.body->size() : std::nullopt;
    const bool chunked = req.body != nullptr && !size;
    const bool expect_continue = req.body != nullptr &&
                                 req.headers.find(bhttp::field::expect) == req.headers.end() &&
                                 (!size || *size >= o.expect_continue_threshold);
    if (auto ec = write_head(c.head, x, expect_continue)) co_return ec;
    bool head_sent = false;

    std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
    const auto new_parser = [&parser, &req] {
        parser.emplace();
        parser->body_limit(boost::none);
        parser->header_limit(64 * 1024);
        if (req.method == "HEAD") parser->skip(true);
    };
    new_parser();
    bool send_body = req.body != nullptr;
    if (req.body == nullptr || expect_continue) {
        if (!arm(c, x)) co_return error_code(beast::error::timeout);
        auto [ec, n] = co_await asio::async_write(stream, asio::buffer(c.head), tuple_awaitable);
        if (ec) co_return ec;
        head_sent = true;
    }
    if (expect_continue && co_await wait_for_answer(stream, c, x)) {
        if (!arm(c, x)) co_return error_code(beast::error::timeout);
        auto [ec, n] =
            co_await bhttp::async_read_header(stream, c.buffer, *parser, tuple_awaitable);
        if (ec) co_return ec;
        x.response_started = true;
        if (parser->get().result() == bhttp::status::continue_) {
            new_parser();
        } else {
            send_body = false; // the server answered without wanting the body
            reusable = false;
        }
    }
    if (send_body) {
        std::uint64_t total = 0;
        char chunk_size[24];
        while (true) {
            error_code bec;
            const auto piece = req.body->next(x.scratch, bec);
            if (bec) co_return bec;
            total += piece.size();
            if (size && total > *size) co_return error_code(errc::invalid_argument);
            if (size && piece.empty() && total != *size)
                co_return error_code(errc::invalid_argument); // body too short
            // The header goes with the first piece; chunked framing around each piece.
            std::array<asio::const_buffer, 4> out{};
            if (!head_sent) out[0] = asio::buffer(c.head);
            if (chunked) {
                const auto len = static_cast<std::size_t>(
                    std::snprintf(chunk_size, sizeof chunk_size, "%zx\r\n", piece.size()));
                out[1] = asio::buffer(chunk_size, len);
                out[3] = asio::buffer("\r\n", 2);
            }
            out[2] = asio::buffer(piece.data(), piece.size());
            if (!arm(c, x)) co_return error_code(beast::error::timeout);
            auto [ec, n] = co_await asio::async_write(stream, out, tuple_awaitable);
            if (ec) co_return ec;
            head_sent = true;
            if (piece.empty()) break;
            x.sent += piece.size();
            report_progress(x);
        }
    }
    auto& p = *parser;
    if (!p.is_header_done()) {
        if (!arm(c, x)) co_return error_code(beast::error::timeout);
        auto [ec, n] = co_await bhttp::async_read_header(stream, c.buffer, p, tuple_awaitable);
        if (ec) co_return ec;
    }
    x.response_started = true;
    x.res.status = p.get().result_int();
    bool keep_alive = false;
    if (auto ec = co_await read_response(stream, c, x, p, keep_alive)) co_return ec;
    // The parser's fields move over whole: no copy of each header.
    x.res.headers = std::move(static_cast<bhttp::fields&>(p.get()));
    reusable = reusable && keep_alive;
    co_return error_code{};
}

inline asio::awaitable<error_code> exchange_once(exchange_context& x, bool fresh_only,
                                                 bool& retry_on_fresh) {
    auto& pool = x.pool;
    const pool_key key{x.req.to.tls, x.req.to.host, x.req.to.port};
    const auto& o = x.state->options;
    const auto lifetime = std::chrono::duration_cast<clock::duration>(o.idle_connection_lifetime);
    std::unique_ptr<connection> c;
    while (!c) {
        auto& idle = pool.idle[key];
        while (!idle.empty() && !fresh_only) {
            auto candidate = std::move(idle.back());
            idle.pop_back();
            if (clock::now() - candidate->idle_since < lifetime) {
                c = std::move(candidate);
                ++x.state->reused;
                break;
            }
            pool.discard(key, *candidate); // too old: the server may have dropped it
        }
        if (c) break;
        if (pool.open_count[key] < std::max<std::size_t>(1, o.max_connections_per_host)) {
            ++pool.open_count[key];
            c = std::make_unique<connection>(x.executor, key.tls, x.state->ssl);
            break;
        }
        if (x.cancel->cancelled) co_return error_code(asio::error::operation_aborted);
        asio::steady_timer wait(x.executor, clock::time_point::max());
        pool.waiters[key].push_back(&wait);
        x.cancel->waiting = &wait;
        co_await wait.async_wait(tuple_awaitable);
        x.cancel->waiting = nullptr;
        if (x.cancel->cancelled) {
            std::erase(pool.waiters[key], &wait);
            co_return error_code(asio::error::operation_aborted);
        }
    }
    x.cancel->current = c.get();
    c->watch->timed_out = false;
    const std::size_t scratch_size = std::max<std::size_t>(4096, o.read_buffer_size);
    if (!c->scratch) c->scratch = std::make_unique_for_overwrite<std::byte[]>(scratch_size);
    x.scratch = {c->scratch.get(), scratch_size};
    error_code ec;
    const bool was_used = c->used;
    if (!c->open) ec = co_await open_connection(*c, x);
    bool reusable = true;
    if (!ec) {
        if (c->secure)
            ec = co_await run_exchange(*c->secure, *c, x, reusable);
        else
            ec = co_await run_exchange(*c->plain, *c, x, reusable);
    }
    x.cancel->current = nullptr;
    c->watch->stop();
    if (ec && c->watch->timed_out) ec = beast::error::timeout;
    if (ec) {
        // A kept-alive connection the peer had closed: nothing of the reply arrived, so the
        // request may go again on a new connection if its body can start over.
        retry_on_fresh = was_used && !x.response_started && is_stale_connection_error(ec) &&
                         (x.req.body == nullptr || x.req.body->rewindable());
        pool.release(key, std::move(c), false);
        co_return ec;
    }
    pool.release(key, std::move(c), reusable);
    co_return error_code{};
}

inline asio::awaitable<error_code> exchange(exchange_context x) {
    if (x.state->configuration_error) co_return x.state->configuration_error;
    const auto limit = x.req.timeout.value_or(x.state->options.request_timeout);
    if (limit.count() > 0)
        x.deadline = clock::now() + std::chrono::duration_cast<clock::duration>(limit);
    bool retry = false;
    x.res.resent = false;
    error_code ec = co_await exchange_once(x, false, retry);
    if (ec && retry && !x.cancel->cancelled) {
        ++x.state->stale_retries;
        x.res.resent = true;
        error_code rewind_ec;
        if (x.req.body != nullptr) x.req.body->rewind(rewind_ec);
        if (x.res.sink != nullptr) x.res.sink->reset();
        x.sent = x.received = 0;
        x.response_started = false;
        bool again = false;
        if (!rewind_ec) ec = co_await exchange_once(x, true, again);
    }
    if (x.cancel->cancelled) co_return error_code(asio::error::operation_aborted);
    if (ec == beast::error::timeout) co_return error_code(errc::timeout);
    co_return ec;
}

// Runs the exchange coroutine on `executor` and completes `handler` on the handler's own
// executor (co_spawn dispatches there), with its allocator. The handler's cancellation slot is
// served here rather than by co_spawn: the signal may come from any thread, so it is posted to
// `executor`, where it closes the exchange's connection. (No async_compose around co_spawn: its
// work guards and extra hop cost a tenth of a small exchange.)
inline void start(std::shared_ptr<transport::state> state, connection_pool& pool,
                  asio::any_io_executor executor, request& req, response& res,
                  asio::any_completion_handler<exchange_signature> handler) {
    auto cancel = std::make_shared<cancel_control>();
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected())
        slot.assign([cancel, executor](asio::cancellation_type) {
            asio::post(executor, [cancel] { cancel->cancel(); });
        });
    auto handler_executor = asio::get_associated_executor(handler, executor);
    auto allocator = asio::get_associated_allocator(handler);
    auto work = exchange(exchange_context{std::move(state), pool, executor, req, res, cancel});
    asio::co_spawn(
        executor, std::move(work),
        asio::bind_allocator(
            allocator, asio::bind_executor(handler_executor,
                                           [h = std::move(handler)](std::exception_ptr e,
                                                                    error_code result) mutable {
                                               if (e) result = errc::malformed_response;
                                               auto s = asio::get_associated_cancellation_slot(h);
                                               if (s.is_connected()) s.clear();
                                               std::move(h)(result);
                                           })));
}

} // namespace detail

CLOUDSTORE_DECL endpoint endpoint::parse(std::string_view url, error_code& ec) {
    ec = {};
    endpoint out;
    std::string_view rest;
    if (url.starts_with("https://")) {
        out.tls = true;
        out.port = 443;
        rest = url.substr(8);
    } else if (url.starts_with("http://")) {
        out.tls = false;
        out.port = 80;
        rest = url.substr(7);
    } else {
        ec = errc::invalid_argument;
        return out;
    }
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
    std::string_view host = rest;
    std::string_view port;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) {
            ec = errc::invalid_argument;
            return out;
        }
        host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') {
                ec = errc::invalid_argument;
                return out;
            }
            port = rest.substr(close + 2);
        }
    } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    if (host.empty()) {
        ec = errc::invalid_argument;
        return out;
    }
    if (!port.empty()) {
        unsigned value = 0;
        for (char ch : port) {
            if (ch < '0' || ch > '9' || value > 65535) {
                ec = errc::invalid_argument;
                return out;
            }
            value = value * 10 + static_cast<unsigned>(ch - '0');
        }
        if (value == 0 || value > 65535) {
            ec = errc::invalid_argument;
            return out;
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    out.host = std::string(host);
    return out;
}

CLOUDSTORE_DECL std::string endpoint::host_header() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    std::string out = ipv6 ? "[" + host + "]" : host;
    if (port != (tls ? 443 : 80)) out += ":" + std::to_string(port);
    return out;
}

CLOUDSTORE_DECL proxy_options proxy_options::from_environment() {
    return {detail::getenv_either("HTTPS_PROXY", "https_proxy"),
            detail::getenv_either("HTTP_PROXY", "http_proxy"),
            detail::getenv_either("NO_PROXY", "no_proxy")};
}

CLOUDSTORE_DECL transport::transport(boost::asio::any_io_executor executor,
                                     transport_options options)
    : options_(std::move(options))
    , state_(std::make_shared<state>(std::move(executor), options_)) {}

CLOUDSTORE_DECL transport::~transport() = default;

namespace detail {
// The transport whose run_here scope this thread is in, and that scope's face.
struct here_marker {
    const transport::state* owner = nullptr;
    blocking_face* face = nullptr;
};
inline here_marker& this_thread_here() {
    thread_local here_marker marker;
    return marker;
}
inline blocking_face& this_thread_face(transport::state& state) {
    std::lock_guard lock(state.blocking_mutex);
    auto& slot = state.blocking[std::this_thread::get_id()];
    if (!slot) slot = std::make_unique<blocking_face>();
    return *slot;
}
} // namespace detail

CLOUDSTORE_DECL void
transport::start_async(request& req, response& res,
                       boost::asio::any_completion_handler<exchange_signature> handler) {
    const auto& here = detail::this_thread_here();
    if (here.owner == state_.get()) {
        // Inside run_here on this thread: its private context and pool.
        detail::start(state_, here.face->pool, here.face->context.get_executor(), req, res,
                      std::move(handler));
        return;
    }
    detail::start(state_, state_->async_pool, state_->executor, req, res, std::move(handler));
}

CLOUDSTORE_DECL transport::here_scope::here_scope(transport& t) {
    auto& face = detail::this_thread_face(*t.state_);
    detail::this_thread_here() = {t.state_.get(), &face};
    face_ = &face;
    face.context.restart();
}

CLOUDSTORE_DECL transport::here_scope::~here_scope() {
    detail::this_thread_here() = {};
}

CLOUDSTORE_DECL boost::asio::any_io_executor transport::here_scope::executor() const {
    return static_cast<detail::blocking_face*>(face_)->context.get_executor();
}

CLOUDSTORE_DECL void transport::here_scope::run() {
    static_cast<detail::blocking_face*>(face_)->context.run();
}

CLOUDSTORE_DECL void transport::exchange(request& req, response& res, error_code& ec) {
    detail::blocking_face* face = &detail::this_thread_face(*state_);
    ec = {};
    bool done = false;
    face->context.restart();
    detail::start(state_, face->pool, face->context.get_executor(), req, res,
                  [&ec, &done](error_code result) {
                      ec = result;
                      done = true;
                  });
    face->context.run();
    if (!done) ec = errc::cancelled;
}

CLOUDSTORE_DECL void transport::exchange(request& req, response& res) {
    error_code ec;
    exchange(req, res, ec);
    if (ec) {
        storage_failure failure;
        failure.code = ec;
        failure.http_status = static_cast<int>(res.status);
        throw_storage_error(failure);
    }
}

CLOUDSTORE_DECL boost::asio::any_io_executor transport::completion_executor() const {
    const auto& here = detail::this_thread_here();
    if (here.owner == state_.get()) return here.face->context.get_executor();
    return state_->executor;
}

CLOUDSTORE_DECL transport_stats transport::stats() const {
    return {state_->opened.load(), state_->reused.load(), state_->dns.lookups.load(),
            state_->stale_retries.load()};
}

} // namespace cloudstore::http
