// The HTTP transport: one request/response exchange over Beast, in two faces.
//  - async_exchange: an Asio asynchronous operation taking any completion token (callbacks,
//    use_future, use_awaitable, deferred), with per-operation cancellation; the handler is
//    erased here (any_completion_handler) so Asio's socket and TLS operations are compiled
//    once.
//  - exchange: the same code run to completion on a private io_context owned by the calling
//    thread, with that thread's own connection pool; so timeouts and cancellation behave the
//    same in both faces.
// Keep-alive connections are pooled per (scheme, host, port); TLS verifies peers against the
// system store (or a given CA) with SNI and host name checks; DNS answers are cached for a
// bounded time; HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured through CONNECT.
#pragma once

#include <cloudstore/detail/config.hpp>
#include <cloudstore/error.hpp>
#include <cloudstore/http/body.hpp>
#include <cloudstore/version.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/beast/http/fields.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cloudstore::http {

/// Where requests go: scheme, host and port.
struct endpoint {
    bool tls = true;
    std::string host;
    std::uint16_t port = 443;

    /// Parses `http://host[:port]` or `https://host[:port]` (a path after it is ignored; IPv6
    /// literals in brackets). Anything else sets `ec` to errc::invalid_argument.
    CLOUDSTORE_DECL static endpoint parse(std::string_view url, error_code& ec);
    /// The Host header: the host, with `:port` when not the scheme's default.
    CLOUDSTORE_DECL std::string host_header() const;
    friend bool operator==(const endpoint&, const endpoint&) = default;
};

/// TLS settings. Verification is on by default, against the system's trust store.
struct tls_options {
    /// A PEM file of trusted CAs, used instead of the system store when set.
    std::string ca_file;
    /// A directory of trusted CAs in OpenSSL's hashed layout, used instead of the system store.
    std::string ca_directory;
    /// Turns certificate and host name verification off. Only for test servers: a connection
    /// made with this is open to anyone between the client and the server.
    bool insecure_skip_verification_for_testing_only = false;
};

/// Proxy settings; by default read from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case).
struct proxy_options {
    /// URL of the proxy for https endpoints, empty for none. A `user:password@` in it (each
    /// percent-encoded) is sent as Basic Proxy-Authorization on CONNECT.
    std::string https_proxy;
    std::string http_proxy; ///< URL of the proxy for http endpoints, empty for none.
    std::string no_proxy;   ///< Comma-separated hosts (or .suffixes, or *) to reach directly.
    /// The environment's settings.
    CLOUDSTORE_DECL static proxy_options from_environment();
};

struct transport_options {
    tls_options tls;
    proxy_options proxy = proxy_options::from_environment();
    /// Connecting: TCP, a proxy's CONNECT and TLS. A DNS lookup is not cut short; one that
    /// outlasts this fails the connect when it answers.
    std::chrono::milliseconds connect_timeout{10'000};
    /// The whole exchange, from the first byte sent to the last received; 0 for none.
    std::chrono::milliseconds request_timeout{0};
    /// Any one read or write that makes no progress.
    std::chrono::milliseconds idle_timeout{30'000};
    /// At most this many connections per (scheme, host, port); further requests wait.
    std::size_t max_connections_per_host = 64;
    /// Idle pooled connections older than this are closed instead of reused.
    std::chrono::milliseconds idle_connection_lifetime{50'000};
    /// How long a DNS answer is reused.
    std::chrono::milliseconds dns_ttl{30'000};
    /// Bodies at least this large (or of unknown length) are sent after `Expect: 100-continue`.
    std::uint64_t expect_continue_threshold = 1024 * 1024;
    /// How long to wait for `100 Continue` before sending the body anyway.
    std::chrono::milliseconds expect_continue_wait{1000};
    /// Size of the buffer that each exchange reads the response body into.
    std::size_t read_buffer_size = 256 * 1024;
    std::string user_agent = cloudstore::user_agent;
    /// Set when the transport's executor never runs two handlers at once (an io_context run
    /// by one thread, or a strand): async exchanges then run on it directly instead of on a
    /// strand of the transport's own, which costs about a quarter of a small exchange's time.
    /// Set wrongly, connections are shared between threads unsynchronized.
    bool serialized_executor = false;
};

/// Bytes sent and received so far in one exchange (headers excluded).
using progress_callback = std::function<void(std::uint64_t sent, std::uint64_t received)>;

/// One request. The fields and the body must outlive the exchange.
struct request {
    std::string method = "GET";
    endpoint to;
    /// The request target: `/path?query`, already percent-encoded.
    std::string target = "/";
    /// Extra headers. Host and User-Agent are set by the transport unless present here;
    /// Content-Length / Transfer-Encoding always come from the body (any given here are
    /// dropped). A name or value that could end a header line is refused (invalid_argument).
    boost::beast::http::fields headers;
    /// The body, or null for none.
    body_source* body = nullptr;
    /// Overrides transport_options::request_timeout for this request when set.
    std::optional<std::chrono::milliseconds> timeout;
    progress_callback progress;
};

/// One response: status and headers, the body streamed to `sink` (or discarded when null).
struct response {
    unsigned status = 0;
    boost::beast::http::fields headers;
    body_sink* sink = nullptr;
    /// Set when the request went out twice: a kept-alive connection was found closed before
    /// any of the reply arrived, and the request was sent again on a new one. The first copy
    /// may have been acted on (a POST's caller may want to know).
    bool resent = false;
};

/// Counters for tests and metrics.
struct transport_stats {
    std::uint64_t connections_opened = 0;
    std::uint64_t connections_reused = 0;
    std::uint64_t dns_lookups = 0;
    std::uint64_t stale_retries = 0; ///< requests re-sent because a kept-alive peer had closed
};

/// Completion signature of an exchange: the error is a transport failure (connect, TLS,
/// timeout, cancelled, a malformed reply); any HTTP status is a success here.
using exchange_signature = void(error_code);

/// Says an executor never runs two handlers at once (see transport's constructors).
struct serialized_t {
    explicit serialized_t() = default;
};
inline constexpr serialized_t serialized{};

class transport {
public:
    /// Async exchanges run on `executor` (made a strand internally unless
    /// `options.serialized_executor`). Thread-safe: exchanges
    /// may start from any thread, in either face.
    CLOUDSTORE_DECL explicit transport(boost::asio::any_io_executor executor,
                                       transport_options options = {});
    /// As above, on an executor that never runs two handlers at once (an io_context run by one
    /// thread, or a strand), whatever `options.serialized_executor` says: no strand of the
    /// transport's own. A program that constructs transports only this way compiles no strand.
    CLOUDSTORE_DECL transport(serialized_t, boost::asio::any_io_executor executor,
                              transport_options options = {});
    CLOUDSTORE_DECL ~transport();
    transport(const transport&) = delete;
    transport& operator=(const transport&) = delete;

    /// Sends `req` and reads the reply into `res`. `req`, its body and `res` must outlive the
    /// operation. Cancellation (terminal) closes the connection and completes with
    /// operation_aborted (condition::cancelled).
    template <class CompletionToken>
    auto async_exchange(request& req, response& res, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, exchange_signature>(
            [this](auto handler, request* q, response* s) {
                start_async(*q, *s, std::move(handler));
            },
            token, &req, &res);
    }

    /// The blocking face: runs the same exchange on this thread's private io_context.
    CLOUDSTORE_DECL void exchange(request& req, response& res, error_code& ec);
    /// As above; throws storage_error on failure.
    CLOUDSTORE_DECL void exchange(request& req, response& res);

    /// The blocking face of work with several exchanges at once (the parts of a multipart
    /// upload): calls `start(executor)` with the executor of this thread's private io_context,
    /// then runs that context until no work is left. Every async_exchange started meanwhile
    /// on this thread (by `start` and by the handlers it leads to, which run here) goes over
    /// that context and this thread's pool, as `exchange` does: the caller's own executors
    /// are never used. Not to be nested in another run_here or exchange on this thread.
    template <class Start>
    void run_here(Start&& start) {
        here_scope scope(*this);
        start(scope.executor());
        scope.run();
    }

    /// Where an exchange started now from this thread would complete: this thread's private
    /// context inside run_here, the transport's executor otherwise (for work that must
    /// complete beside the exchanges, never inline).
    CLOUDSTORE_DECL boost::asio::any_io_executor completion_executor() const;

    /// Counters of both faces together.
    CLOUDSTORE_DECL transport_stats stats() const;
    const transport_options& options() const noexcept { return options_; }

    struct state;

private:
    // This thread's private context, marked as the one async exchanges go to while in scope.
    class here_scope {
    public:
        CLOUDSTORE_DECL explicit here_scope(transport& t);
        CLOUDSTORE_DECL ~here_scope();
        here_scope(const here_scope&) = delete;
        here_scope& operator=(const here_scope&) = delete;
        CLOUDSTORE_DECL boost::asio::any_io_executor executor() const;
        CLOUDSTORE_DECL void run();

    private:
        void* face_;
    };

    CLOUDSTORE_DECL void start_async(request& req, response& res,
                                     boost::asio::any_completion_handler<exchange_signature> h);

    transport_options options_;
    std::shared_ptr<state> state_;
};

} // namespace cloudstore::http

#ifdef CLOUDSTORE_HEADER_ONLY
#include <cloudstore/http/impl/transport.ipp>
#endif
