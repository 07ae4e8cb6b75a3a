#pragma once

#include <cloudstore/http/transport.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/compose.hpp>
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
#include <boost/beast/http/serializer.hpp>
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
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
inline constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct pool_key {
    bool tls;
    std::string host;
    std::uint16_t port;
    friend bool operator<(const pool_key& a, const pool_key& b) {
        return std::tie(a.tls, a.host, a.port) < std::tie(b.tls, b.host, b.port);
    }
};

struct connection {
    explicit connection(const asio::any_io_executor& ex, bool tls, asio::ssl::context& ctx)
        : plain(tls ? nullptr : std::make_unique<beast::tcp_stream>(ex))
        , secure(tls ? std::make_unique<tls_stream>(ex, ctx) : nullptr) {
        // Beast reads only into space already reserved here: without it a body arrives a few
        // hundred bytes per system call.
        buffer.reserve(128 * 1024);
    }
    beast::tcp_stream& tcp() { return secure ? secure->next_layer() : *plain; }
    void close() {
        beast::error_code ignored;
        tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
        tcp().socket().close(ignored);
    }

    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<tls_stream> secure;
    beast::flat_buffer buffer;
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

// Closes the socket of the exchange in progress when the caller cancels.
struct cancel_control {
    bool cancelled = false;
    connection* current = nullptr;
    void cancel() {
        cancelled = true;
        if (current != nullptr && current->open) {
            beast::error_code ignored;
            current->tcp().socket().cancel(ignored);
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
        : strand(boost::asio::make_strand(ex))
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

    boost::asio::strand<boost::asio::any_io_executor> strand;
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
    std::vector<std::byte> scratch; // request pieces and response body pieces
    std::uint64_t sent = 0, received = 0;
    bool response_started = false;
};

// Arms the stream's timer for the next operation: the idle timeout, or what remains of the
// whole request's, whichever is sooner. False when the request's time is already up.
inline bool arm(beast::tcp_stream& s, const exchange_context& x) {
    const auto idle = std::chrono::duration_cast<clock::duration>(x.state->options.idle_timeout);
    const auto now = clock::now();
    if (x.deadline <= now) return false;
    s.expires_after(std::min(idle, x.deadline - now));
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

// Sends CONNECT host:port through an open connection to a proxy and reads its answer.
inline asio::awaitable<error_code> proxy_connect(beast::tcp_stream& s, connection& c,
                                                 exchange_context& x) {
    const std::string authority = x.req.to.host + ":" + std::to_string(x.req.to.port);
    bhttp::request<bhttp::empty_body> connect{bhttp::verb::connect, authority, 11};
    connect.set(bhttp::field::host, authority);
    connect.set(bhttp::field::user_agent, x.state->options.user_agent);
    if (!arm(s, x)) co_return error_code(beast::error::timeout);
    auto [wec, wn] = co_await bhttp::async_write(s, connect, tuple_awaitable);
    if (wec) co_return wec;
    bhttp::response_parser<bhttp::empty_body> answer;
    answer.skip(true); // a CONNECT answer has no body
    if (!arm(s, x)) co_return error_code(beast::error::timeout);
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
    std::optional<endpoint> proxy;
    if (!proxy_url.empty() && !no_proxy_matches(o.proxy.no_proxy, to.host)) {
        error_code pec;
        proxy = endpoint::parse(
            proxy_url.find("://") == std::string::npos ? "http://" + proxy_url : proxy_url, pec);
        if (pec) co_return error_code(errc::invalid_configuration);
    }
    const std::string& host = proxy ? proxy->host : to.host;
    const std::uint16_t port = proxy ? proxy->port : to.port;

    auto& s = c.tcp();
    const auto connect_budget = std::chrono::duration_cast<clock::duration>(o.connect_timeout);
    const auto connect_deadline = std::min(x.deadline, clock::now() + connect_budget);
    tcp::resolver::results_type endpoints;
    // DNS has its own wait: the resolver cannot be cancelled through the stream's timer.
    if (auto ec = co_await resolve(x, host, port, endpoints)) co_return ec;
    if (connect_deadline <= clock::now()) co_return error_code(beast::error::timeout);
    s.expires_at(connect_deadline);
    auto [cec, ep] = co_await s.async_connect(endpoints, tuple_awaitable);
    if (cec) co_return cec;
    s.socket().set_option(tcp::no_delay(true));
    c.open = true;
    ++x.state->opened;
    if (proxy) {
        if (auto ec = co_await proxy_connect(s, c, x)) co_return ec;
    }
    if (c.secure) {
        if (!is_ip_literal(to.host) &&
            !SSL_set_tlsext_host_name(c.secure->native_handle(), to.host.c_str()))
            co_return error_code(errc::invalid_argument);
        if (!o.tls.insecure_skip_verification_for_testing_only)
            c.secure->set_verify_callback(asio::ssl::host_name_verification(to.host));
        if (!arm(s, x)) co_return error_code(beast::error::timeout);
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
    auto& s = beast::get_lowest_layer(stream);
    if (x.res.sink) {
        const auto len = p.content_length();
        error_code ec;
        x.res.sink->start(p.get().result_int(),
                          len ? std::optional<std::uint64_t>(*len) : std::nullopt, ec);
        if (ec) co_return ec;
    }
    while (!p.is_done()) {
        p.get().body().data = x.scratch.data();
        p.get().body().size = x.scratch.size();
        if (!arm(s, x)) co_return error_code(beast::error::timeout);
        auto [ec, n] = co_await bhttp::async_read(stream, c.buffer, p, tuple_awaitable);
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

template <class Stream>
asio::awaitable<error_code> run_exchange(Stream& stream, connection& c, exchange_context& x,
                                         bool& reusable) {
    auto& s = beast::get_lowest_layer(stream);
    const auto& o = x.state->options;
    request& req = x.req;
    bhttp::request<bhttp::buffer_body> msg;
    msg.version(11);
    msg.method_string(req.method);
    msg.target(req.target);
    for (const auto& f : req.headers)
        msg.insert(f.name_string(), f.value());
    if (msg.find(bhttp::field::host) == msg.end())
        msg.set(bhttp::field::host, req.to.host_header());
    if (msg.find(bhttp::field::user_agent) == msg.end())
        msg.set(bhttp::field::user_agent, o.user_agent);
    bool expect_continue = false;
    if (req.body != nullptr) {
        const auto size = req.body->size();
        if (size)
            msg.content_length(*size);
        else
            msg.chunked(true);
        expect_continue = msg.find(bhttp::field::expect) == msg.end() &&
                          (!size || *size >= o.expect_continue_threshold);
        if (expect_continue) msg.set(bhttp::field::expect, "100-continue");
    } else if (req.method == "PUT" || req.method == "POST") {
        msg.content_length(0);
    }
    msg.body().data = nullptr;
    msg.body().more = req.body != nullptr;
    bhttp::request_serializer<bhttp::buffer_body> sr{msg};
    if (!arm(s, x)) co_return error_code(beast::error::timeout);
    if (auto [ec, n] = co_await bhttp::async_write_header(stream, sr, tuple_awaitable); ec)
        co_return ec;

    std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
    parser.emplace();
    parser->body_limit(boost::none);
    parser->header_limit(64 * 1024);
    if (req.method == "HEAD") parser->skip(true);
    bool send_body = req.body != nullptr;
    if (expect_continue) {
        if (!arm(s, x)) co_return error_code(beast::error::timeout);
        auto [ec, n] =
            co_await bhttp::async_read_header(stream, c.buffer, *parser, tuple_awaitable);
        if (ec) co_return ec;
        x.response_started = true;
        if (parser->get().result() == bhttp::status::continue_) {
            parser.emplace();
            parser->body_limit(boost::none);
            parser->header_limit(64 * 1024);
            if (req.method == "HEAD") parser->skip(true);
        } else {
            send_body = false; // the server answered without wanting the body
            reusable = false;
        }
    }
    if (send_body) {
        const auto size = req.body->size();
        std::uint64_t total = 0;
        while (true) {
            error_code bec;
            const auto piece = req.body->next(x.scratch, bec);
            if (bec) co_return bec;
            total += piece.size();
            if (size && total > *size) co_return error_code(errc::invalid_argument);
            msg.body().data = piece.empty() ? nullptr : const_cast<std::byte*>(piece.data());
            msg.body().size = piece.size();
            msg.body().more = !piece.empty();
            if (!arm(s, x)) co_return error_code(beast::error::timeout);
            auto [ec, n] = co_await bhttp::async_write(stream, sr, tuple_awaitable);
            if (ec == bhttp::error::need_buffer) ec = {};
            if (ec) co_return ec;
            if (piece.empty()) break;
            x.sent += piece.size();
            report_progress(x);
        }
        if (size && total != *size) co_return error_code(errc::invalid_argument); // body too short
    }
    auto& p = *parser;
    if (!p.is_header_done()) {
        if (!arm(s, x)) co_return error_code(beast::error::timeout);
        auto [ec, n] = co_await bhttp::async_read_header(stream, c.buffer, p, tuple_awaitable);
        if (ec) co_return ec;
    }
    x.response_started = true;
    x.res.status = p.get().result_int();
    x.res.headers = {};
    for (const auto& f : p.get().base())
        x.res.headers.insert(f.name_string(), f.value());
    bool keep_alive = false;
    if (auto ec = co_await read_response(stream, c, x, p, keep_alive)) co_return ec;
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
        asio::steady_timer wait(x.executor, clock::time_point::max());
        pool.waiters[key].push_back(&wait);
        co_await wait.async_wait(tuple_awaitable);
        if (x.cancel->cancelled) {
            std::erase(pool.waiters[key], &wait);
            co_return error_code(asio::error::operation_aborted);
        }
    }
    x.cancel->current = c.get();
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
    x.scratch.resize(std::max<std::size_t>(4096, x.state->options.read_buffer_size));
    bool retry = false;
    error_code ec = co_await exchange_once(x, false, retry);
    if (ec && retry && !x.cancel->cancelled) {
        ++x.state->stale_retries;
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

// Runs the exchange coroutine on `executor`, completing `handler` through async_compose (which
// honours the handler's executor, allocator and cancellation slot).
inline void start(std::shared_ptr<transport::state> state, connection_pool& pool,
                  asio::any_io_executor executor, request& req, response& res,
                  asio::any_completion_handler<exchange_signature> handler) {
    auto cancel = std::make_shared<cancel_control>();
    auto initiation = [state, &pool, executor, &req, &res, cancel,
                       started = false](auto& self, error_code ec = {}) mutable {
        if (started) {
            self.complete(ec);
            return;
        }
        started = true;
        auto slot = self.get_cancellation_state().slot();
        if (slot.is_connected())
            slot.assign([cancel, executor](asio::cancellation_type) {
                asio::post(executor, [cancel] { cancel->cancel(); });
            });
        // Everything `self` owns is read before `self` moves into the completion.
        auto ex = executor;
        auto work = exchange(exchange_context{state, pool, ex, req, res, cancel});
        asio::co_spawn(ex, std::move(work),
                       [self = std::move(self)](std::exception_ptr e, error_code result) mutable {
                           if (e) result = errc::malformed_response;
                           self(result);
                       });
    };
    asio::async_compose<asio::any_completion_handler<exchange_signature>, exchange_signature>(
        std::move(initiation), handler, executor);
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

CLOUDSTORE_DECL void
transport::start_async(request& req, response& res,
                       boost::asio::any_completion_handler<exchange_signature> handler) {
    detail::start(state_, state_->async_pool, state_->strand, req, res, std::move(handler));
}

CLOUDSTORE_DECL void transport::exchange(request& req, response& res, error_code& ec) {
    detail::blocking_face* face = nullptr;
    {
        std::lock_guard lock(state_->blocking_mutex);
        auto& slot = state_->blocking[std::this_thread::get_id()];
        if (!slot) slot = std::make_unique<detail::blocking_face>();
        face = slot.get();
    }
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

CLOUDSTORE_DECL transport_stats transport::stats() const {
    return {state_->opened.load(), state_->reused.load(), state_->dns.lookups.load(),
            state_->stale_retries.load()};
}

} // namespace cloudstore::http
