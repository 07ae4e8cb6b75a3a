// benchmarks/http_sink_server [--threads N]: the server side of `benchmarks/run http`.
//
// Listens on 127.0.0.1, port 0, and prints `PORT <n>` as its first line of stdout. Serves
// HTTP/1.1 keep-alive with Beast's asynchronous operations until SIGINT or SIGTERM:
//   GET /bytes/N      200 with N bytes: the header through Beast, then the body written from
//                     one shared 1 MiB buffer again and again, never N bytes at once;
//   PUT or POST       the body read into a 1 MiB buffer and dropped, then 200 with the byte
//                     count; `Expect: 100-continue` gets a 100 Continue first. A chunked body
//                     goes through Beast's parser with a buffer_body; a Content-Length body is
//                     read straight from the socket after Beast has parsed the header, up to
//                     1 MiB a read (Beast's parser reads 64 KiB at a time and copies it: about
//                     2.2 GB/s against 3.1 GB/s here for 1 GiB);
//   anything else     200 with "ok\n" (Content-Length 3).
//
// Threads: one io_context per thread, each run by its own thread with a concurrency hint of 1;
// the acceptor hands new connections round-robin to the contexts. A connection lives on one
// thread for its whole life, so its handlers stay in that core's cache and no thread waits on
// another's scheduler lock or epoll set. (One io_context shared by N threads sends every
// completion through one locked queue and lets a connection's handlers hop between threads.)
// With the default of one thread the two are the same.
//
// Per connection, the read buffer, the parser's storage, the serializers and the responses are
// made once and reused; a small request allocates only what Beast's parser stores of it (the
// target and one node per header field).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t chunk_size = std::size_t{1} << 20;
constexpr std::size_t read_size = 64 * 1024;

// Source of every download: 1 MiB, written once, then only read (by any thread).
const char* source_chunk() {
    static const std::unique_ptr<char[]> chunk = [] {
        auto c = std::make_unique_for_overwrite<char[]>(chunk_size);
        for (std::size_t i = 0; i < chunk_size; ++i)
            c[i] = static_cast<char>('a' + i % 26);
        return c;
    }();
    return chunk.get();
}

// One thread: its io_context and the 1 MiB buffer its connections read uploads into. Only
// this thread writes into `sink`, one read at a time, and the contents are dropped.
struct worker {
    asio::io_context ioc{1};
    std::unique_ptr<char[]> sink = std::make_unique_for_overwrite<char[]>(chunk_size);
};

bool parse_u64(std::string_view s, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

class connection : public std::enable_shared_from_this<connection> {
public:
    connection(tcp::socket socket, char* sink)
        : socket_(std::move(socket))
        , sink_(sink) {
        ok_.set(http::field::content_type, "text/plain");
        ok_.body() = "ok\n";
        ok_.prepare_payload();
        small_.set(http::field::content_type, "text/plain");
        head_.set(http::field::content_type, "application/octet-stream");
        // Beast reads at most 64 KiB at a time, and no more than the buffer's free capacity.
        buffer_.reserve(read_size);
    }

    void start() { read_header(); }

private:
    void read_header() {
        parser_.emplace();
        parser_->body_limit(boost::none); // uploads of any size
        http::async_read_header(socket_, buffer_, *parser_,
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    self->on_header(ec);
                                });
    }

    void on_header(beast::error_code ec) {
        if (ec) return close();
        received_ = 0;
        auto& req = parser_->get();
        if (parser_->is_done()) return respond();
        if (beast::iequals(req[http::field::expect], "100-continue")) {
            continue_.version(req.version());
            http::async_write(socket_, continue_,
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                  if (ec) return self->close();
                                  self->read_body();
                              });
            return;
        }
        read_body();
    }

    void read_body() {
        if (parser_->chunked() || !parser_->content_length()) return read_chunked_body();
        // A known length: what Beast has already read is counted from the flat_buffer, the rest
        // is read straight into the 1 MiB buffer (see the top of the file).
        left_ = *parser_->content_length();
        auto const buffered =
            static_cast<std::size_t>(std::min<std::uint64_t>(left_, buffer_.size()));
        buffer_.consume(buffered);
        received_ = buffered;
        left_ -= buffered;
        read_raw();
    }

    void read_raw() {
        if (left_ == 0) return respond();
        auto const n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, chunk_size));
        socket_.async_read_some(asio::buffer(sink_, n),
                                [self = shared_from_this()](beast::error_code ec, std::size_t got) {
                                    if (ec) return self->close();
                                    self->received_ += got;
                                    self->left_ -= got;
                                    self->read_raw();
                                });
    }

    // A chunked body: Beast's parser, 1 MiB of buffer_body at a time, counted and dropped.
    void read_chunked_body() {
        auto& body = parser_->get().body();
        body.data = sink_;
        body.size = chunk_size;
        http::async_read(socket_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->received_ += chunk_size - self->parser_->get().body().size;
                             if (ec == http::error::need_buffer) ec = {};
                             if (ec) return self->close();
                             if (self->parser_->is_done()) return self->respond();
                             self->read_chunked_body();
                         });
    }

    void respond() {
        auto const& req = parser_->get();
        keep_alive_ = req.keep_alive();
        unsigned const version = req.version();
        std::string_view const target = req.target();
        constexpr std::string_view bytes_prefix = "/bytes/";

        if (req.method() == http::verb::put || req.method() == http::verb::post)
            return write_small(http::status::ok, std::to_string(received_) + "\n", version);
        if (req.method() == http::verb::get && target.starts_with(bytes_prefix)) {
            std::uint64_t n = 0;
            if (!parse_u64(target.substr(bytes_prefix.size()), n))
                return write_small(http::status::bad_request, "bad size\n", version);
            return write_bytes(n, version);
        }
        ok_.version(version);
        ok_.keep_alive(keep_alive_);
        write_message(ok_);
    }

    void write_small(http::status status, std::string body, unsigned version) {
        small_.result(status);
        small_.version(version);
        small_.keep_alive(keep_alive_);
        small_.body() = std::move(body);
        small_.prepare_payload();
        write_message(small_);
    }

    void write_message(http::response<http::string_body>& res) {
        serializer_.emplace(res);
        http::async_write(socket_, *serializer_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->after_response(ec);
                          });
    }

    // The header through Beast, then the body straight from the shared 1 MiB buffer.
    void write_bytes(std::uint64_t n, unsigned version) {
        head_.version(version);
        head_.keep_alive(keep_alive_);
        head_.content_length(n);
        head_serializer_.emplace(head_);
        left_ = n;
        http::async_write_header(socket_, *head_serializer_,
                                 [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                     if (ec) return self->close();
                                     self->write_chunk();
                                 });
    }

    void write_chunk() {
        if (left_ == 0) return after_response({});
        auto const n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, chunk_size));
        asio::async_write(socket_, asio::buffer(source_chunk(), n),
                          [self = shared_from_this()](beast::error_code ec, std::size_t written) {
                              if (ec) return self->close();
                              self->left_ -= written;
                              self->write_chunk();
                          });
    }

    void after_response(beast::error_code ec) {
        if (ec || !keep_alive_) return close();
        read_header();
    }

    void close() {
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
        socket_.close(ignored);
    }

    tcp::socket socket_;
    char* sink_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::buffer_body>> parser_;
    std::uint64_t received_ = 0;
    std::uint64_t left_ = 0;
    bool keep_alive_ = true;
    http::response<http::string_body> ok_{http::status::ok, 11};
    http::response<http::string_body> small_{http::status::ok, 11};
    http::response<http::empty_body> head_{http::status::ok, 11};
    http::response<http::empty_body> continue_{http::status::continue_, 11};
    std::optional<http::response_serializer<http::string_body>> serializer_;
    std::optional<http::response_serializer<http::empty_body>> head_serializer_;
};

class server {
public:
    explicit server(std::vector<std::unique_ptr<worker>>& workers)
        : workers_(workers)
        , acceptor_(workers.front()->ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}

    unsigned short port() const { return acceptor_.local_endpoint().port(); }

    void accept() {
        worker& w = *workers_[next_];
        next_ = (next_ + 1) % workers_.size();
        acceptor_.async_accept(w.ioc, [this, &w](beast::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted) return;
            if (!ec) {
                socket.set_option(tcp::no_delay(true), ec);
                // Started on the connection's own thread.
                asio::post(w.ioc, [s = std::move(socket), sink = w.sink.get()]() mutable {
                    std::make_shared<connection>(std::move(s), sink)->start();
                });
            }
            accept();
        });
    }

    void stop() {
        beast::error_code ignored;
        acceptor_.close(ignored);
        for (auto& w : workers_)
            w->ioc.stop();
    }

private:
    std::vector<std::unique_ptr<worker>>& workers_;
    tcp::acceptor acceptor_;
    std::size_t next_ = 0;
};

int usage() {
    std::cerr << "usage: http_sink_server [--threads N]\n";
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    std::uint64_t threads = 1;
    for (int i = 1; i < argc; ++i) {
        std::string_view const arg = argv[i];
        if (arg == "--threads" && i + 1 < argc && parse_u64(argv[i + 1], threads) && threads >= 1 &&
            threads <= 256)
            ++i;
        else
            return usage();
    }
    try {
        source_chunk();
        std::vector<std::unique_ptr<worker>> workers;
        for (std::uint64_t i = 0; i < threads; ++i)
            workers.push_back(std::make_unique<worker>());
        std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
        for (auto& w : workers)
            guards.push_back(asio::make_work_guard(w->ioc));

        server srv(workers);
        asio::signal_set signals(workers.front()->ioc, SIGINT, SIGTERM);
        signals.async_wait([&](beast::error_code ec, int) {
            if (!ec) srv.stop();
        });
        srv.accept();
        std::cout << "PORT " << srv.port() << std::endl;

        std::vector<std::thread> pool;
        for (std::size_t i = 1; i < workers.size(); ++i)
            pool.emplace_back([&w = *workers[i]] { w.ioc.run(); });
        workers.front()->ioc.run();
        for (auto& t : pool)
            t.join();
        return 0;
    } catch (std::exception const& e) {
        std::cerr << "http_sink_server: " << e.what() << "\n";
        return 1;
    }
}
