// benchmarks/http_bare_client: the reference client of `benchmarks/run http`.
//
//   http_bare_client HOST PORT CONNECTIONS SECONDS [PATH]
//       A bare Beast async client loop, the ceiling of anything built on Beast: CONNECTIONS
//       keep-alive connections on one io_context run by one thread, each sending GET PATH
//       (default /) and reading the response, again and again, for SECONDS. No pool, no timers
//       (each connection looks at the clock after each response), no signing. Prints
//       {"connections": C, "requests": R, "seconds": S, "rps": R/S}, counting the responses
//       completed within the SECONDS that start once every connection is open.
//   http_bare_client HOST PORT --download N
//       One GET /bytes/N, its body read through Beast's parser into a reusable 1 MiB buffer.
//   http_bare_client HOST PORT --upload N
//       One PUT /upload with Content-Length N: the header through Beast, the body written from
//       one reusable 1 MiB buffer. Both transfer modes print
//       {"bytes": N, "seconds": S, "mbps": MB/s}, with MB = 10^6 bytes, timed from connect.
//
// Each connection makes its request, buffer, serializer and parser storage once and reuses them;
// a response allocates only what Beast's parser stores of it (the reason phrase and one node per
// header field).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t chunk_size = std::size_t{1} << 20;
// Beast reads at most 64 KiB at a time, and no more than the buffer's free capacity.
constexpr std::size_t read_size = 64 * 1024;

bool parse_u64(std::string_view s, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

// What every connection shares: the io_context, the clock window and the first error.
struct run_state {
    asio::io_context ioc{1};
    std::size_t open = 0;
    std::size_t wanted = 0;
    clock_type::time_point start;
    clock_type::time_point deadline;
    std::string error;

    void fail(std::string_view what, beast::error_code ec) {
        if (error.empty()) error = std::string(what) + ": " + ec.message();
        ioc.stop();
    }
};

class looper {
public:
    looper(run_state& state, std::string_view host, std::string_view path)
        : state_(state)
        , socket_(state.ioc) {
        request_.method(http::verb::get);
        request_.target(path);
        request_.set(http::field::host, host);
        buffer_.reserve(read_size);
    }

    void connect(tcp::resolver::results_type const& endpoints, std::vector<looper*> const& all) {
        asio::async_connect(socket_, endpoints,
                            [this, &all](beast::error_code ec, tcp::endpoint const&) {
                                if (ec) return state_.fail("connect", ec);
                                socket_.set_option(tcp::no_delay(true), ec);
                                if (++state_.open < state_.wanted) return;
                                // Every connection is open: the clock starts now, for all.
                                state_.start = clock_type::now();
                                state_.deadline = state_.start + seconds_;
                                for (looper* l : all)
                                    l->send();
                            });
    }

    void set_seconds(clock_type::duration d) { seconds_ = d; }
    std::uint64_t requests() const { return requests_; }

private:
    void send() {
        serializer_.emplace(request_);
        http::async_write(socket_, *serializer_, [this](beast::error_code ec, std::size_t) {
            if (ec) return state_.fail("write", ec);
            receive();
        });
    }

    void receive() {
        parser_.emplace();
        http::async_read(socket_, buffer_, *parser_, [this](beast::error_code ec, std::size_t) {
            if (ec) return state_.fail("read", ec);
            if (parser_->get().result() != http::status::ok)
                return state_.fail("response", http::error::bad_status);
            if (!parser_->keep_alive()) return state_.fail("response", http::error::end_of_stream);
            if (clock_type::now() >= state_.deadline) {
                beast::error_code ignored;
                socket_.shutdown(tcp::socket::shutdown_send, ignored);
                socket_.close(ignored);
                return;
            }
            ++requests_;
            send();
        });
    }

    run_state& state_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
    http::request<http::empty_body> request_{http::verb::get, "/", 11};
    std::optional<http::request_serializer<http::empty_body>> serializer_;
    std::optional<http::response_parser<http::string_body>> parser_;
    clock_type::duration seconds_{};
    std::uint64_t requests_ = 0;
};

int run_loop(std::string_view host, std::string_view port, std::uint64_t connections,
             double seconds, std::string_view path) {
    run_state state;
    tcp::resolver resolver(state.ioc);
    auto const endpoints = resolver.resolve(host, port);
    std::string const host_field = std::string(host) + ":" + std::string(port);

    std::vector<std::unique_ptr<looper>> loopers;
    std::vector<looper*> all;
    auto const window =
        std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    for (std::uint64_t i = 0; i < connections; ++i) {
        loopers.push_back(std::make_unique<looper>(state, host_field, path));
        loopers.back()->set_seconds(window);
        all.push_back(loopers.back().get());
    }
    state.wanted = all.size();
    for (looper* l : all)
        l->connect(endpoints, all);
    state.ioc.run();
    if (!state.error.empty()) {
        std::cerr << "http_bare_client: " << state.error << "\n";
        return 1;
    }
    std::uint64_t requests = 0;
    for (looper const* l : all)
        requests += l->requests();
    double const s = std::chrono::duration<double>(state.deadline - state.start).count();
    std::printf("{\"connections\": %llu, \"requests\": %llu, \"seconds\": %.3f, \"rps\": %.1f}\n",
                static_cast<unsigned long long>(connections),
                static_cast<unsigned long long>(requests), s, static_cast<double>(requests) / s);
    return 0;
}

// One transfer of `bytes` bytes each way's body, on its own connection.
class transfer {
public:
    transfer(run_state& state, std::string host_field, std::uint64_t bytes, bool upload)
        : state_(state)
        , socket_(state.ioc)
        , host_field_(std::move(host_field))
        , bytes_(bytes)
        , upload_(upload)
        , chunk_(std::make_unique<char[]>(chunk_size)) {
        buffer_.reserve(read_size);
    }

    void start(tcp::resolver::results_type const& endpoints) {
        state_.start = clock_type::now();
        asio::async_connect(socket_, endpoints, [this](beast::error_code ec, tcp::endpoint const&) {
            if (ec) return state_.fail("connect", ec);
            upload_ ? send_upload() : send_download();
        });
    }

    std::uint64_t transferred() const { return transferred_; }

private:
    // Download: GET /bytes/N, the body read into the 1 MiB buffer again and again.
    void send_download() {
        request_.method(http::verb::get);
        request_.target("/bytes/" + std::to_string(bytes_));
        request_.set(http::field::host, host_field_);
        serializer_.emplace(request_);
        http::async_write(socket_, *serializer_, [this](beast::error_code ec, std::size_t) {
            if (ec) return state_.fail("write", ec);
            download_.emplace();
            download_->body_limit(boost::none);
            http::async_read_header(socket_, buffer_, *download_,
                                    [this](beast::error_code ec, std::size_t) {
                                        if (ec) return state_.fail("read header", ec);
                                        if (download_->get().result() != http::status::ok)
                                            return state_.fail("response", http::error::bad_status);
                                        read_body();
                                    });
        });
    }

    void read_body() {
        if (download_->is_done()) return finish();
        auto& body = download_->get().body();
        body.data = chunk_.get();
        body.size = chunk_size;
        http::async_read(socket_, buffer_, *download_, [this](beast::error_code ec, std::size_t) {
            transferred_ += chunk_size - download_->get().body().size;
            if (ec == http::error::need_buffer) ec = {};
            if (ec) return state_.fail("read body", ec);
            read_body();
        });
    }

    // Upload: PUT /upload with Content-Length N, the body written from the 1 MiB buffer.
    void send_upload() {
        std::fill_n(chunk_.get(), chunk_size, 'u');
        request_.method(http::verb::put);
        request_.target("/upload");
        request_.set(http::field::host, host_field_);
        request_.set(http::field::content_type, "application/octet-stream");
        request_.content_length(bytes_);
        serializer_.emplace(request_);
        http::async_write_header(socket_, *serializer_, [this](beast::error_code ec, std::size_t) {
            if (ec) return state_.fail("write header", ec);
            write_chunk();
        });
    }

    void write_chunk() {
        if (transferred_ == bytes_) return read_upload_response();
        auto const n =
            static_cast<std::size_t>(std::min<std::uint64_t>(bytes_ - transferred_, chunk_size));
        asio::async_write(socket_, asio::buffer(chunk_.get(), n),
                          [this](beast::error_code ec, std::size_t written) {
                              if (ec) return state_.fail("write body", ec);
                              transferred_ += written;
                              write_chunk();
                          });
    }

    void read_upload_response() {
        upload_response_.emplace();
        http::async_read(
            socket_, buffer_, *upload_response_, [this](beast::error_code ec, std::size_t) {
                if (ec) return state_.fail("read", ec);
                auto const& res = upload_response_->get();
                if (res.result() != http::status::ok || res.body() != std::to_string(bytes_) + "\n")
                    return state_.fail("response", http::error::bad_status);
                finish();
            });
    }

    void finish() {
        state_.deadline = clock_type::now();
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
        socket_.close(ignored);
    }

    run_state& state_;
    tcp::socket socket_;
    std::string host_field_;
    std::uint64_t bytes_;
    bool upload_;
    std::unique_ptr<char[]> chunk_;
    beast::flat_buffer buffer_;
    http::request<http::empty_body> request_{http::verb::get, "/", 11};
    std::optional<http::request_serializer<http::empty_body>> serializer_;
    std::optional<http::response_parser<http::buffer_body>> download_;
    std::optional<http::response_parser<http::string_body>> upload_response_;
    std::uint64_t transferred_ = 0;
};

int run_transfer(std::string_view host, std::string_view port, std::uint64_t bytes, bool upload) {
    run_state state;
    tcp::resolver resolver(state.ioc);
    auto const endpoints = resolver.resolve(host, port);
    transfer t(state, std::string(host) + ":" + std::string(port), bytes, upload);
    t.start(endpoints);
    state.ioc.run();
    if (!state.error.empty()) {
        std::cerr << "http_bare_client: " << state.error << "\n";
        return 1;
    }
    if (t.transferred() != bytes) {
        std::cerr << "http_bare_client: moved " << t.transferred() << " bytes of " << bytes << "\n";
        return 1;
    }
    double const s = std::chrono::duration<double>(state.deadline - state.start).count();
    std::printf("{\"bytes\": %llu, \"seconds\": %.3f, \"mbps\": %.1f}\n",
                static_cast<unsigned long long>(bytes), s, static_cast<double>(bytes) / s / 1e6);
    return 0;
}

int usage() {
    std::cerr << "usage: http_bare_client HOST PORT CONNECTIONS SECONDS [PATH]\n"
                 "       http_bare_client HOST PORT --download N\n"
                 "       http_bare_client HOST PORT --upload N\n";
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 5) return usage();
    std::string_view const host = argv[1];
    std::string_view const port = argv[2];
    std::string_view const mode = argv[3];
    try {
        if (mode == "--download" || mode == "--upload") {
            std::uint64_t bytes = 0;
            if (argc != 5 || !parse_u64(argv[4], bytes)) return usage();
            return run_transfer(host, port, bytes, mode == "--upload");
        }
        std::uint64_t connections = 0;
        std::uint64_t seconds = 0;
        if (argc > 6 || !parse_u64(mode, connections) || connections == 0 ||
            !parse_u64(argv[4], seconds) || seconds == 0)
            return usage();
        std::string_view const path = argc == 6 ? argv[5] : "/";
        if (!path.starts_with('/')) return usage();
        return run_loop(host, port, connections, static_cast<double>(seconds), path);
    } catch (std::exception const& e) {
        std::cerr << "http_bare_client: " << e.what() << "\n";
        return 1;
    }
}
