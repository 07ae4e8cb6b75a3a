#pragma once

#include <cloudstore/crypto/base64.hpp>
#include <cloudstore/http/transport.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/coroutine.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

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
using tls_stream = asio::ssl::stream<tcp::socket>;

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
        // Reads fill the room reserved here: over plain TCP a body arrives up to 128 KiB per
        // system call (over TLS, a record at a time).
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
        if (current != nullptr) { // open, or being opened: the connect is aborted
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

// A host as it stands in a Host header or a CONNECT target: an IPv6 literal in brackets.
inline std::string host_literal(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

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
    // `ex` never runs two handlers at once.
    state(boost::asio::any_io_executor ex, const transport_options& o)
        : executor(std::move(ex))
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
inline error_code write_head(std::string& out, const request& req, const transport_options& o,
                             bool expect_continue) {
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
    if (req.headers.find(bhttp::field::host) == req.headers.end())
        line("Host", req.to.host_header());
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

// The CONNECT request that opens a tunnel to `to` through a proxy.
inline void write_connect(std::string& out, const endpoint& to, const transport_options& o,
                          const std::string& authorization) {
    const std::string authority = host_literal(to.host) + ":" + std::to_string(to.port);
    out.assign("CONNECT ").append(authority).append(" HTTP/1.1\r\nHost: ").append(authority);
    out.append("\r\nUser-Agent: ").append(o.user_agent).append("\r\n");
    if (!authorization.empty())
        out.append("Proxy-Authorization: ").append(authorization).append("\r\n");
    out.append("\r\n");
}

// One exchange, from taking a connection out of the pool to the last byte of the reply, written
// out by hand as a stackless coroutine (asio::coroutine) over one object. Every I/O call of it
// (but the 100-continue wait's timer) completes into the same handler type (`resume`), and the
// plain and TLS streams share every line of it, so each of Asio's socket and TLS operations is
// compiled once. (C++20 coroutines with awaitable operators said the same in less text, at twice
// the program size and build time: see the minimal program of `benchmarks/run s3`.) Reads go
// straight into the connection's buffer and through Beast's parser here, rather than through
// Beast's composed reads, for the same reason. Everything runs on `executor_`.
class exchange_op : public std::enable_shared_from_this<exchange_op> {
public:
    exchange_op(std::shared_ptr<transport::state> s, connection_pool& p, asio::any_io_executor ex,
                request& q, response& r, std::shared_ptr<cancel_control> c,
                asio::any_completion_handler<exchange_signature> h)
        : state_(std::move(s))
        , pool_(p)
        , executor_(std::move(ex))
        , req_(q)
        , res_(r)
        , cancel_(std::move(c))
        , handler_(std::move(h))
        , handler_work_(asio::prefer(asio::get_associated_executor(handler_, executor_),
                                     asio::execution::outstanding_work.tracked)) {}

    // Runs the operation's next stretch; catches what a body source or sink (or an
    // allocation) may throw.
    void step(error_code ec = {}, std::size_t n = 0) {
        try {
            if (continue_io(ec, n)) return;
            advance(ec, n);
        } catch (...) {
            if (!handler_) throw; // thrown by the handler itself, run inline
            if (c_) release(false);
            complete(errc::malformed_response);
        }
    }

private:
    // The completion handler of every I/O call.
    struct resume {
        std::shared_ptr<exchange_op> op;
        void operator()(error_code ec, std::size_t n = 0) const { op->on_io(ec, n); }
        void operator()(error_code ec, const tcp::endpoint&) const { op->on_io(ec, 0); }
        void operator()(error_code ec, tcp::resolver::results_type found) const {
            op->endpoints_ = std::move(found);
            op->on_io(ec, 0);
        }
    };
    // What an I/O completion continues: the coroutine, or a loop of its own first.
    enum class pending { step, header, write };

    void on_io(error_code ec, std::size_t n) {
        went_async_ = true;
        step(ec, n);
    }
    // Goes on with a read or write loop of its own; false when the coroutine is next.
    bool continue_io(error_code& ec, std::size_t n) {
        if (cancel_->cancelled && !ec) ec = asio::error::operation_aborted;
        if (pending_ == pending::header) {
            // Reading until the parser has a whole header.
            ec = after_read(ec, n);
            if (!ec && !header_buffered(ec)) {
                if (arm()) return read_some(), true;
                ec = beast::error::timeout;
            }
        } else if (pending_ == pending::write) {
            // Writing until every buffer of out_ is gone.
            if (!ec && consume_out(n)) {
                if (arm()) return write_some(), true;
                ec = beast::error::timeout;
            }
        }
        pending_ = pending::step;
        return false;
    }

    void advance(error_code ec, std::size_t n) {
        BOOST_ASIO_CORO_REENTER(coro_) {
            if (state_->configuration_error) return complete(state_->configuration_error);
            if (cancel_->cancelled) return complete(asio::error::operation_aborted);
            {
                const auto& o = state_->options;
                const auto limit = req_.timeout.value_or(o.request_timeout);
                if (limit.count() > 0)
                    deadline_ = clock::now() + std::chrono::duration_cast<clock::duration>(limit);
                key_ = {req_.to.tls, req_.to.host, req_.to.port};
                size_ = req_.body != nullptr ? req_.body->size() : std::nullopt;
                chunked_ = req_.body != nullptr && !size_;
                expect_continue_ = req_.body != nullptr &&
                                   req_.headers.find(bhttp::field::expect) == req_.headers.end() &&
                                   (!size_ || *size_ >= o.expect_continue_threshold);
                res_.resent = false;
            }
            // At most twice: again on a new connection when a kept-alive one was found closed.
            for (;;) {
                // A connection: an idle one, a new one, or the next one another exchange frees.
                while (!take_connection()) {
                    if (cancel_->cancelled) return complete(asio::error::operation_aborted);
                    // Until a connection is released (which cancels this timer), or the
                    // request's time is up.
                    timer_.emplace(executor_, deadline_);
                    pool_.waiters[key_].push_back(&*timer_);
                    cancel_->waiting = &*timer_;
                    BOOST_ASIO_CORO_YIELD timer_->async_wait(resume{shared_from_this()});
                    cancel_->waiting = nullptr;
                    if (ec != asio::error::operation_aborted || cancel_->cancelled) {
                        // A wake-up that came with the cancellation goes to the next waiter.
                        if (std::erase(pool_.waiters[key_], &*timer_) == 0) pool_.wake_one(key_);
                        return complete(cancel_->cancelled
                                            ? error_code(asio::error::operation_aborted)
                                            : error_code(errc::timeout));
                    }
                }
                if (!c_->open) {
                    // Opening: DNS (from the cache when fresh), TCP, CONNECT, TLS.
                    if ((ec = prepare_open())) goto failed;
                    if (endpoints_.empty()) {
                        // Not cut short: the watchdog closes sockets, not resolvers (the connect
                        // deadline is checked once the lookup answers).
                        resolver_.emplace(executor_);
                        ++state_->dns.lookups;
                        BOOST_ASIO_CORO_YIELD resolver_->async_resolve(
                            dial_.host, std::to_string(dial_.port), resume{shared_from_this()});
                        if (ec) goto failed;
                        remember_dns();
                    }
                    if (connect_deadline_ <= clock::now()) {
                        ec = beast::error::timeout;
                        goto failed;
                    }
                    c_->watch->watch(connect_deadline_);
                    BOOST_ASIO_CORO_YIELD asio::async_connect(c_->socket(), endpoints_,
                                                              resume{shared_from_this()});
                    if (ec) goto failed;
                    c_->socket().set_option(tcp::no_delay(true), ec);
                    c_->open = true;
                    ++state_->opened;
                    if (proxy_) {
                        // The CONNECT goes over the socket itself, before any TLS.
                        tunnel_setup_ = true;
                        write_connect(c_->head, req_.to, state_->options, proxy_->authorization);
                        out_ = {asio::buffer(c_->head)};
                        if (!arm()) goto timed_out;
                        BOOST_ASIO_CORO_YIELD write_out();
                        if (ec) goto failed;
                        new_parser(true); // a CONNECT answer has no body
                        if (!header_buffered(ec) && !ec) {
                            if (!arm()) goto timed_out;
                            BOOST_ASIO_CORO_YIELD read_header();
                        }
                        if (ec) goto failed;
                        if (parser_->get().result_int() / 100 != 2) {
                            ec = make_http_status_error(parser_->get().result_int());
                            goto failed;
                        }
                        tunnel_setup_ = false;
                    }
                    if (c_->secure) {
                        if ((ec = prepare_tls())) goto failed;
                        if (!arm()) goto timed_out;
                        BOOST_ASIO_CORO_YIELD c_->secure->async_handshake(
                            asio::ssl::stream_base::client, resume{shared_from_this()});
                        if (ec) goto failed;
                    }
                }

                // The request: its header, alone first when there is no body or the server is
                // asked whether it wants it.
                if ((ec = write_head(c_->head, req_, state_->options, expect_continue_))) {
                    release(true); // nothing was sent: the connection is as good as it was
                    return complete(ec);
                }
                head_sent_ = false;
                reusable_ = true;
                send_body_ = req_.body != nullptr;
                new_parser(req_.method == "HEAD");
                if (req_.body == nullptr || expect_continue_) {
                    out_ = {asio::buffer(c_->head)};
                    if (!arm()) goto timed_out;
                    BOOST_ASIO_CORO_YIELD write_out();
                    if (ec) goto failed;
                    head_sent_ = true;
                }
                if (expect_continue_ && !answer_buffered()) {
                    // Waits a short while for the server's answer by reading it: a readable
                    // socket proves nothing over TLS, where TLS 1.3 session tickets come
                    // unasked. A read the wait's end cuts short has taken nothing (OpenSSL
                    // was waiting for bytes), and the body goes.
                    waiting_for_answer_ = true;
                    timer_.emplace(executor_);
                    timer_->expires_after(state_->options.expect_continue_wait);
                    timer_->async_wait([self = shared_from_this()](error_code e) {
                        if (!e && self->waiting_for_answer_) {
                            error_code ignored;
                            self->c_->socket().cancel(ignored);
                        }
                    });
                    BOOST_ASIO_CORO_YIELD read_some();
                    waiting_for_answer_ = false;
                    timer_->cancel();
                    if (ec == asio::error::operation_aborted && !cancel_->cancelled) {
                        ec = {};
                        answered_ = false;
                    } else {
                        if ((ec = after_read(ec, n))) goto failed;
                        answered_ = true;
                    }
                } else {
                    answered_ = expect_continue_;
                }
                if (answered_) {
                    awaiting_continue_ = true;
                    if (!header_buffered(ec) && !ec) {
                        if (!arm()) goto timed_out;
                        BOOST_ASIO_CORO_YIELD read_header();
                    }
                    awaiting_continue_ = false;
                    if (ec) goto failed;
                    response_started_ = true;
                    if (parser_->get().result() == bhttp::status::continue_) {
                        new_parser(req_.method == "HEAD");
                    } else {
                        send_body_ = false; // the server answered without wanting the body
                        reusable_ = false;
                    }
                }
                if (send_body_) {
                    sent_total_ = 0;
                    for (;;) {
                        if ((ec = next_piece())) goto failed;
                        if (piece_size_ == 0 && !chunked_ && head_sent_) break; // all sent
                        if (!arm()) goto timed_out;
                        BOOST_ASIO_CORO_YIELD write_out();
                        if (ec) goto failed;
                        head_sent_ = true;
                        if (piece_size_ == 0) break;
                        sent_ += piece_size_;
                        report_progress();
                    }
                }

                // The reply: its header, then its body into the sink.
                if (!header_buffered(ec) && !ec) {
                    if (!arm()) goto timed_out;
                    BOOST_ASIO_CORO_YIELD read_header();
                }
                if (ec) goto failed;
                response_started_ = true;
                res_.status = parser_->get().result_int();
                if ((ec = start_sink())) goto failed;
                parser_->eager(true);
                while (!parser_->is_done()) {
                    // What is buffered is parsed here and now: a small reply is whole after
                    // the header's read.
                    if (!parse_body(ec) && !ec) {
                        if (!arm()) goto timed_out;
                        BOOST_ASIO_CORO_YIELD read_some();
                        ec = after_read(ec, n);
                    }
                    if (ec) goto failed;
                }
                if ((ec = finish_sink())) goto failed;
                // The parser's own judgement (Connection, HTTP/1.0, a body that ran to the
                // close), taken before its fields move over whole (no copy of each header).
                reusable_ = reusable_ && parser_->keep_alive();
                res_.headers = std::move(static_cast<bhttp::fields&>(parser_->get()));
                release(reusable_);
                return complete({});

            timed_out:
                ec = beast::error::timeout;
            failed:
                if (c_->watch->timed_out) ec = beast::error::timeout;
                if (!may_send_again(ec)) {
                    release(false);
                    return complete(ec);
                }
                release(false);
                if (req_.body != nullptr) {
                    error_code rewind_ec;
                    req_.body->rewind(rewind_ec);
                    if (rewind_ec) return complete(ec);
                }
                ++state_->stale_retries;
                res_.resent = true;
                if (res_.sink != nullptr) res_.sink->reset();
                sent_ = received_ = 0;
                response_started_ = false;
                fresh_only_ = true;
            }
        }
    }

    // Takes an idle pooled connection or opens a new one within the per-host limit; false
    // when the exchange must wait for one.
    bool take_connection() {
        const auto& o = state_->options;
        const auto lifetime =
            std::chrono::duration_cast<clock::duration>(o.idle_connection_lifetime);
        auto& idle = pool_.idle[key_];
        while (!idle.empty() && !fresh_only_) {
            auto candidate = std::move(idle.back());
            idle.pop_back();
            if (clock::now() - candidate->idle_since < lifetime) {
                c_ = std::move(candidate);
                ++state_->reused;
                break;
            }
            pool_.discard(key_, *candidate); // too old: the server may have dropped it
        }
        if (!c_) {
            if (pool_.open_count[key_] >= std::max<std::size_t>(1, o.max_connections_per_host))
                return false;
            ++pool_.open_count[key_];
            c_ = std::make_unique<connection>(executor_, key_.tls, state_->ssl);
        }
        cancel_->current = c_.get();
        c_->watch->timed_out = false;
        was_used_ = c_->used;
        const std::size_t scratch_size = std::max<std::size_t>(4096, o.read_buffer_size);
        if (!c_->scratch) c_->scratch = std::make_unique_for_overwrite<std::byte[]>(scratch_size);
        scratch_ = {c_->scratch.get(), scratch_size};
        return true;
    }

    void release(bool reusable) {
        tunnel_setup_ = false;
        cancel_->current = nullptr;
        c_->watch->stop();
        pool_.release(key_, std::move(c_), reusable);
    }

    // A kept-alive connection the peer had closed: nothing of the reply arrived, so the
    // request may go again, once, on a new connection if its body can start over.
    bool may_send_again(const error_code& ec) const {
        return !fresh_only_ && !cancel_->cancelled && was_used_ && !response_started_ &&
               is_stale_connection_error(ec) && (req_.body == nullptr || req_.body->rewindable());
    }

    // Where to dial (the proxy, unless NO_PROXY names the host), and its addresses when the
    // DNS cache has them (endpoints_ stays empty otherwise).
    error_code prepare_open() {
        const auto& o = state_->options;
        const endpoint& to = req_.to;
        const std::string& proxy_url = to.tls ? o.proxy.https_proxy : o.proxy.http_proxy;
        proxy_.reset();
        if (!proxy_url.empty() && !no_proxy_matches(o.proxy.no_proxy, to.host)) {
            proxy_ = parse_proxy_url(proxy_url);
            if (!proxy_) return errc::invalid_configuration;
        }
        dial_ = proxy_ ? proxy_->at : to;
        const auto connect_budget = std::chrono::duration_cast<clock::duration>(o.connect_timeout);
        connect_deadline_ = std::min(deadline_, clock::now() + connect_budget);
        endpoints_ = {};
        std::lock_guard lock(state_->dns.mutex);
        auto it = state_->dns.entries.find(dns_key());
        if (it != state_->dns.entries.end() && it->second.second > clock::now())
            endpoints_ = it->second.first;
        return {};
    }
    std::string dns_key() const { return dial_.host + ":" + std::to_string(dial_.port); }
    void remember_dns() {
        const auto ttl = std::chrono::duration_cast<clock::duration>(state_->options.dns_ttl);
        std::lock_guard lock(state_->dns.mutex);
        state_->dns.entries[dns_key()] = {endpoints_, clock::now() + ttl};
    }

    // SNI and the host name check, before the handshake.
    error_code prepare_tls() {
        const endpoint& to = req_.to;
        if (!is_ip_literal(to.host) &&
            !SSL_set_tlsext_host_name(c_->secure->native_handle(), to.host.c_str()))
            return errc::invalid_argument;
        if (!state_->options.tls.insecure_skip_verification_for_testing_only)
            c_->secure->set_verify_callback(asio::ssl::host_name_verification(to.host));
        return {};
    }

    // Sets the connection's watchdog for the next operation: the idle timeout, or what remains
    // of the whole request's, whichever is sooner. False when the request's time is up.
    bool arm() {
        const auto idle = std::chrono::duration_cast<clock::duration>(state_->options.idle_timeout);
        const auto now = clock::now();
        if (deadline_ <= now) return false;
        c_->watch->watch(idle.count() > 0 ? std::min(deadline_, now + idle) : deadline_);
        return true;
    }

    static constexpr std::size_t header_limit = 64 * 1024;
    void new_parser(bool skip_body) {
        skip_body_ = skip_body;
        header_bytes_ = 0;
        parser_.emplace();
        parser_->body_limit(boost::none);
        parser_->header_limit(header_limit);
        if (skip_body) parser_->skip(true);
    }

    // Something of the answer to `Expect: 100-continue` is already here: in the buffer, or
    // decrypted and held by OpenSSL.
    bool answer_buffered() {
        return c_->buffer.size() != 0 ||
               (c_->secure && SSL_pending(c_->secure->native_handle()) > 0);
    }

    // Whether reads and writes go through TLS: not while a tunnel is being asked for.
    bool tls() const { return c_->secure && !tunnel_setup_; }

    // Reads what the socket has into the connection's buffer.
    void read_some() {
        const std::size_t room =
            std::max<std::size_t>(16 * 1024, c_->buffer.capacity() - c_->buffer.size());
        const auto space = c_->buffer.prepare(room);
        if (tls())
            c_->secure->async_read_some(space, resume{shared_from_this()});
        else
            c_->socket().async_read_some(space, resume{shared_from_this()});
    }
    void read_header() {
        pending_ = pending::header;
        read_some();
    }
    // Takes in what a read brought. The end of the stream ends a body that runs until it; before
    // any of the reply, it says the kept-alive connection was closed.
    error_code after_read(error_code ec, std::size_t n) {
        c_->buffer.commit(n);
        if (n != 0) response_started_ = true; // the request was read: it must not go again
        if (ec != asio::error::eof) return ec;
        if (!parser_->got_some()) return bhttp::error::end_of_stream;
        ec = {};
        parser_->put_eof(ec);
        return ec;
    }
    // Parses what is buffered; true when a header is whole (or `ec` is set). Interim replies
    // (1xx, but 101 and the 100 an `Expect` waits for) are passed over: a late 100 or a 103
    // taken for the answer would leave the real one to the connection's next request.
    bool header_buffered(error_code& ec) {
        for (;;) {
            if (!parser_->is_header_done() && c_->buffer.size() != 0) {
                const std::size_t used = parser_->put(c_->buffer.data(), ec);
                c_->buffer.consume(used);
                if (ec == bhttp::error::need_more) ec = {};
                // The parser takes whole fields as they come and checks its limit against
                // each piece only: the whole header is bounded here.
                header_bytes_ += used;
                if (!ec && header_bytes_ > header_limit) ec = bhttp::error::header_limit;
            }
            if (ec || !parser_->is_header_done()) return static_cast<bool>(ec);
            const unsigned status = parser_->get().result_int();
            if (status / 100 != 1 || status == 101 || (status == 100 && awaiting_continue_))
                return true;
            new_parser(skip_body_);
        }
    }
    // Parses buffered body bytes into the scratch space and hands them to the sink; false
    // when nothing buffered could be parsed (more must be read).
    bool parse_body(error_code& ec) {
        if (c_->buffer.size() == 0) return false;
        auto& body = parser_->get().body();
        body.data = scratch_.data();
        body.size = scratch_.size();
        const std::size_t used = parser_->put(c_->buffer.data(), ec);
        c_->buffer.consume(used);
        if (ec == bhttp::error::need_more || ec == bhttp::error::need_buffer) ec = {};
        if (ec) return true;
        const std::size_t got = scratch_.size() - body.size;
        if (got != 0) {
            received_ += got;
            if (res_.sink != nullptr) {
                res_.sink->write(std::span<const std::byte>(scratch_.data(), got), ec);
                if (ec) return true;
            }
            report_progress();
        }
        return used != 0 || parser_->is_done();
    }

    error_code start_sink() {
        error_code ec;
        if (res_.sink != nullptr) {
            const auto len = parser_->content_length();
            res_.sink->start(parser_->get().result_int(),
                             len ? std::optional<std::uint64_t>(*len) : std::nullopt, ec);
        }
        return ec;
    }
    error_code finish_sink() {
        error_code ec;
        if (res_.sink != nullptr) res_.sink->finish(ec);
        return ec;
    }

    // The next piece of the body into out_, after the header when that has not gone yet, in
    // chunked framing when the length is unknown.
    error_code next_piece() {
        error_code ec;
        const auto piece = req_.body->next(scratch_, ec);
        if (ec) return ec;
        sent_total_ += piece.size();
        if (size_ && sent_total_ > *size_) return errc::invalid_argument;
        if (size_ && piece.empty() && sent_total_ != *size_)
            return errc::invalid_argument; // body too short
        piece_size_ = piece.size();
        out_ = {};
        if (!head_sent_) out_[0] = asio::buffer(c_->head);
        if (chunked_) {
            const auto len = static_cast<std::size_t>(
                std::snprintf(chunk_size_, sizeof chunk_size_, "%zx\r\n", piece.size()));
            out_[1] = asio::buffer(chunk_size_, len);
            out_[3] = asio::buffer("\r\n", 2);
        }
        out_[2] = asio::buffer(piece.data(), piece.size());
        return {};
    }

    // Writes all of out_. (Over TLS, Asio joins the small pieces of one write into a record
    // of up to 8 KiB itself.)
    void write_out() {
        pending_ = pending::write;
        write_some();
    }
    void write_some() {
        if (tls())
            c_->secure->async_write_some(out_, resume{shared_from_this()});
        else
            c_->socket().async_write_some(out_, resume{shared_from_this()});
    }
    // Drops what a write took from the front of out_; true while something remains.
    bool consume_out(std::size_t n) {
        bool remains = false;
        for (auto& b : out_) {
            const std::size_t take = std::min(n, b.size());
            b += take;
            n -= take;
            remains = remains || b.size() != 0;
        }
        return remains;
    }

    void report_progress() {
        if (req_.progress) req_.progress(sent_, received_);
    }

    // Completes on the handler's executor, with its allocator. Never inside async_exchange:
    // an exchange that ends before any I/O (a refused header, a bad configuration) posts.
    void complete(error_code ec) {
        if (!went_async_) {
            went_async_ = true;
            asio::post(executor_, [self = shared_from_this(), ec] { self->complete(ec); });
            return;
        }
        if (cancel_->cancelled) ec = asio::error::operation_aborted;
        if (ec == beast::error::timeout) ec = errc::timeout;
        auto work = std::move(handler_work_);
        auto allocator = asio::get_associated_allocator(handler_);
        asio::dispatch(work,
                       asio::bind_allocator(allocator, [h = std::move(handler_), ec]() mutable {
                           auto slot = asio::get_associated_cancellation_slot(h);
                           if (slot.is_connected()) slot.clear();
                           std::move(h)(ec);
                       }));
    }

    std::shared_ptr<transport::state> state_;
    connection_pool& pool_;
    asio::any_io_executor executor_;
    request& req_;
    response& res_;
    std::shared_ptr<cancel_control> cancel_;
    asio::any_completion_handler<exchange_signature> handler_;
    asio::any_completion_executor
        handler_work_; // keeps the handler's executor from running out of work

    asio::coroutine coro_;
    pending pending_ = pending::step;
    clock::time_point deadline_ = clock::time_point::max();
    pool_key key_;
    std::unique_ptr<connection> c_;
    std::span<std::byte> scratch_;            // the connection's
    std::optional<asio::steady_timer> timer_; // waits for a pooled connection, or a 100
    // Opening a connection.
    std::optional<proxy_target> proxy_;
    endpoint dial_;
    clock::time_point connect_deadline_;
    std::optional<tcp::resolver> resolver_;
    tcp::resolver::results_type endpoints_;
    // The request and its reply.
    std::optional<std::uint64_t> size_;
    std::array<asio::const_buffer, 4> out_{};
    char chunk_size_[24] = {};
    std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
    std::uint64_t sent_ = 0, received_ = 0, sent_total_ = 0;
    std::size_t piece_size_ = 0, header_bytes_ = 0;
    bool chunked_ = false, expect_continue_ = false, head_sent_ = false, send_body_ = false;
    bool waiting_for_answer_ = false, answered_ = false, reusable_ = true;
    bool response_started_ = false, was_used_ = false, fresh_only_ = false;
    bool tunnel_setup_ = false, awaiting_continue_ = false, skip_body_ = false;
    bool went_async_ = false; // an I/O completed: no longer inside async_exchange
};

// Starts an exchange on `executor`. The handler's cancellation slot is served here: the
// signal may come from any thread, so it is posted to `executor`, where it closes the
// exchange's connection.
inline void start(std::shared_ptr<transport::state> state, connection_pool& pool,
                  asio::any_io_executor executor, request& req, response& res,
                  asio::any_completion_handler<exchange_signature> handler) {
    auto cancel = std::make_shared<cancel_control>();
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected())
        slot.assign([cancel, executor](asio::cancellation_type) {
            asio::post(executor, [cancel] { cancel->cancel(); });
        });
    auto op = std::make_shared<exchange_op>(std::move(state), pool, executor, req, res,
                                            std::move(cancel), std::move(handler));
    asio::dispatch(executor, [op = std::move(op)] { op->step(); });
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
    std::string out = detail::host_literal(host);
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
    : transport(serialized,
                options.serialized_executor ? executor : boost::asio::make_strand(executor),
                std::move(options)) {}

CLOUDSTORE_DECL transport::transport(serialized_t, boost::asio::any_io_executor executor,
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
