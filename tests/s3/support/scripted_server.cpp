// The scripted server: one io_context run by the server's thread; every socket operation is
// asynchronous, so stopping is a matter of closing the acceptor and the connections on that
// thread and letting run() return once the aborted operations have completed.
#include "scripted_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

namespace cloudstore::test {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::uint64_t body_limit = std::uint64_t{64} << 20;   // 64 MiB
constexpr std::uint32_t header_limit = std::uint32_t{64} << 10; // S3 metadata can be long

scripted_reply error_reply(std::string body) {
    scripted_reply r;
    r.status = 500;
    r.body = std::move(body);
    return r;
}

} // namespace

std::string recorded_request::header(std::string_view name) const {
    for (const auto& [n, v] : headers)
        if (beast::iequals(n, name)) return v;
    return {};
}

struct scripted_server::impl {
    struct connection;

    handler on_request;
    asio::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::uint16_t port = 0;
    // Touched only on the server's thread.
    bool stopping = false;
    std::vector<std::weak_ptr<connection>> connections;
    // Guarded by `mutex`.
    mutable std::mutex mutex;
    std::vector<recorded_request> requests;
    std::thread thread;

    void accept();
    void stop();
    scripted_reply answer(const recorded_request& request);
};

// One accepted connection: header, [100 Continue], body, handler, reply, and again while the
// connection is kept alive. Owned by the completion handlers of its pending operation.
struct scripted_server::impl::connection : std::enable_shared_from_this<connection> {
    impl& server;
    tcp::socket socket;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::string_body>> parser;
    http::response<http::empty_body> continue_reply{http::status::continue_, 11};
    http::response<http::string_body> reply;

    connection(impl& s, tcp::socket sock)
        : server(s)
        , socket(std::move(sock)) {}

    void close() {
        error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }

    void read_header() {
        parser.emplace();
        parser->header_limit(header_limit);
        parser->body_limit(body_limit);
        http::async_read_header(socket, buffer, *parser,
                                [self = shared_from_this()](error_code ec, std::size_t) {
                                    if (ec || self->server.stopping) return self->close();
                                    self->on_header();
                                });
    }

    void on_header() {
        if (!beast::iequals(parser->get()[http::field::expect], "100-continue")) return read_body();
        http::async_write(socket, continue_reply,
                          [self = shared_from_this()](error_code ec, std::size_t) {
                              if (ec || self->server.stopping) return self->close();
                              self->read_body();
                          });
    }

    void read_body() {
        if (parser->is_done()) return on_request();
        http::async_read(socket, buffer, *parser,
                         [self = shared_from_this()](error_code ec, std::size_t) {
                             if (ec || self->server.stopping) return self->close();
                             self->on_request();
                         });
    }

    void on_request() {
        auto& req = parser->get();
        recorded_request rec;
        rec.method = std::string(req.method_string());
        rec.target = std::string(req.target());
        for (const auto& field : req)
            rec.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        rec.body = std::move(req.body());
        const bool keep_alive = req.keep_alive();
        const bool head = req.method() == http::verb::head;

        scripted_reply r = server.answer(rec);
        if (r.drop) return close();

        reply = {};
        reply.version(11);
        reply.result(r.status);
        for (const auto& [name, value] : r.headers)
            reply.insert(name, value);
        if (!head) {
            reply.body() = std::move(r.body);
            reply.content_length(reply.body().size());
        } else if (reply.find(http::field::content_length) == reply.end()) {
            reply.content_length(r.body.size());
        }
        if (!keep_alive) reply.keep_alive(false);
        http::async_write(socket, reply, [self = shared_from_this()](error_code ec, std::size_t) {
            if (ec || self->server.stopping || !self->reply.keep_alive()) return self->close();
            self->read_header();
        });
    }
};

void scripted_server::impl::accept() {
    acceptor.async_accept([this](error_code ec, tcp::socket socket) {
        if (stopping || ec == asio::error::operation_aborted) return;
        if (!ec) {
            std::erase_if(connections, [](const auto& c) { return c.expired(); });
            auto c = std::make_shared<connection>(*this, std::move(socket));
            connections.push_back(c);
            c->read_header();
        }
        accept();
    });
}

void scripted_server::impl::stop() {
    stopping = true;
    error_code ignored;
    acceptor.close(ignored);
    for (const auto& weak : connections)
        if (auto c = weak.lock()) c->close();
    connections.clear();
}

scripted_reply scripted_server::impl::answer(const recorded_request& request) {
    {
        std::lock_guard lock(mutex);
        requests.push_back(request);
    }
    try {
        scripted_reply r = on_request(request);
        if (r.status < 100 || r.status > 999) return error_reply("bad scripted status");
        return r;
    } catch (const std::exception& e) {
        return error_reply(e.what());
    } catch (...) {
        return error_reply("handler threw");
    }
}

scripted_server::scripted_server(handler h)
    : impl_(std::make_unique<impl>()) {
    impl_->on_request = std::move(h);
    const tcp::endpoint local(asio::ip::make_address_v4("127.0.0.1"), 0);
    impl_->acceptor.open(local.protocol());
    impl_->acceptor.bind(local);
    impl_->acceptor.listen();
    impl_->port = impl_->acceptor.local_endpoint().port();
    impl_->accept();
    impl_->thread = std::thread([&i = *impl_] {
        for (;;) {
            try {
                i.ioc.run();
                return;
            } catch (...) {
                // A connection's step threw (e.g. bad_alloc): that connection is gone (its
                // handler was destroyed); keep serving the others.
            }
        }
    });
}

scripted_server::~scripted_server() {
    asio::post(impl_->ioc, [&i = *impl_] { i.stop(); });
    impl_->thread.join();
}

scripted_server::handler scripted_server::queue(std::vector<scripted_reply> replies) {
    struct script {
        std::vector<scripted_reply> replies;
        std::size_t next = 0;
    };
    auto s = std::make_shared<script>();
    s->replies = std::move(replies);
    return [s](const recorded_request&) {
        if (s->next < s->replies.size()) return s->replies[s->next++];
        return error_reply("script exhausted");
    };
}

std::uint16_t scripted_server::port() const {
    return impl_->port;
}

std::string scripted_server::endpoint() const {
    return "http://127.0.0.1:" + std::to_string(impl_->port);
}

std::vector<recorded_request> scripted_server::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->requests;
}

void scripted_server::clear() {
    std::lock_guard lock(impl_->mutex);
    impl_->requests.clear();
}

} // namespace cloudstore::test
