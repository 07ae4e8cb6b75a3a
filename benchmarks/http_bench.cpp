// benchmarks/cloudstore_bench_http: cloudstore's side of `benchmarks/run http`, with the same
// arguments and output as http_bare_client so the two are measured alike.
//
//   cloudstore_bench_http HOST PORT CONNECTIONS SECONDS
//       CONNECTIONS exchange loops on one io_context run by one thread, through one
//       http::transport (its pool, timers and all): each loop sends GET / and reads the reply,
//       again and again. The clock starts once each loop has finished its first exchange (so
//       every connection is open) and each loop stops after SECONDS. Prints
//       {"connections": C, "requests": R, "seconds": S, "rps": R/S}.
//   cloudstore_bench_http HOST PORT --download N
//       One GET /bytes/N into a sink that counts and drops the bytes.
//   cloudstore_bench_http HOST PORT --upload N
//       One PUT /upload of N bytes from a source that hands out one 1 MiB buffer again and
//       again. Both print {"bytes": N, "seconds": S, "mbps": MB/s}, MB = 10^6 bytes, timed
//       from the start of the exchange (the connect included).
#include <cloudstore/http.hpp>

#include <boost/asio/io_context.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
namespace http = cloudstore::http;
using clock_type = std::chrono::steady_clock;

namespace {

bool parse_u64(std::string_view s, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

http::endpoint endpoint_of(std::string_view host, std::string_view port) {
    cloudstore::error_code ec;
    auto ep = http::endpoint::parse("http://" + std::string(host) + ":" + std::string(port), ec);
    if (ec) throw cloudstore::storage_error(ec);
    return ep;
}

http::transport_options bench_options(std::size_t connections) {
    http::transport_options o;
    o.proxy = {};
    o.max_connections_per_host = connections;
    o.serialized_executor = true; // one io_context, run by this thread alone
    return o;
}

// The sink of the loops' small replies: counts the bytes, keeps nothing.
class counting_sink final : public http::body_sink {
public:
    void start(unsigned, std::optional<std::uint64_t>, cloudstore::error_code& ec) override {
        ec = {};
    }
    void write(std::span<const std::byte> piece, cloudstore::error_code& ec) override {
        bytes += piece.size();
        ec = {};
    }
    void finish(cloudstore::error_code& ec) override { ec = {}; }
    void reset() override { bytes = 0; }
    std::uint64_t bytes = 0;
};

// N bytes from one 1 MiB buffer, no copy: the same body the bare client writes.
class repeating_source final : public http::body_source {
public:
    explicit repeating_source(std::uint64_t n)
        : length_(n)
        , left_(n)
        , chunk_(std::size_t{1} << 20, std::byte{'u'}) {}
    std::optional<std::uint64_t> size() const noexcept override { return length_; }
    std::span<const std::byte> next(std::span<std::byte>, cloudstore::error_code& ec) override {
        ec = {};
        auto const n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, chunk_.size()));
        left_ -= n;
        return {chunk_.data(), n};
    }
    bool rewindable() const noexcept override { return true; }
    bool rewind(cloudstore::error_code& ec) override {
        ec = {};
        left_ = length_;
        return true;
    }

private:
    std::uint64_t length_;
    std::uint64_t left_;
    std::vector<std::byte> chunk_;
};

struct run_state {
    std::size_t warm = 0;
    std::size_t wanted = 0;
    clock_type::time_point start;
    clock_type::time_point deadline;
    clock_type::duration window{};
    std::string error;
};

class looper {
public:
    looper(run_state& state, http::transport& t, const http::endpoint& to,
           std::vector<looper*> const& all)
        : state_(state)
        , transport_(t)
        , all_(all) {
        request_.to = to;
        response_.sink = &sink_;
    }

    void first() {
        transport_.async_exchange(request_, response_, [this](cloudstore::error_code ec) {
            if (!check(ec)) return;
            if (++state_.warm < state_.wanted) return;
            // Every loop has a connection: the clock starts now, for all.
            state_.start = clock_type::now();
            state_.deadline = state_.start + state_.window;
            for (looper* l : all_)
                l->next();
        });
    }

    std::uint64_t requests() const { return requests_; }

private:
    void next() {
        sink_.reset();
        transport_.async_exchange(request_, response_, [this](cloudstore::error_code ec) {
            if (!check(ec)) return;
            if (clock_type::now() >= state_.deadline) return;
            ++requests_;
            next();
        });
    }

    bool check(cloudstore::error_code ec) {
        if (!ec && response_.status != 200) ec = cloudstore::errc::malformed_response;
        if (!ec) return true;
        if (state_.error.empty()) state_.error = ec.message();
        return false;
    }

    run_state& state_;
    http::transport& transport_;
    std::vector<looper*> const& all_;
    http::request request_;
    http::response response_;
    counting_sink sink_;
    std::uint64_t requests_ = 0;
};

int run_loop(const http::endpoint& to, std::uint64_t connections, double seconds) {
    asio::io_context ioc{1};
    http::transport t(ioc.get_executor(), bench_options(connections));
    run_state state;
    state.wanted = connections;
    state.window =
        std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    std::vector<std::unique_ptr<looper>> loopers;
    std::vector<looper*> all;
    for (std::uint64_t i = 0; i < connections; ++i) {
        loopers.push_back(std::make_unique<looper>(state, t, to, all));
        all.push_back(loopers.back().get());
    }
    for (looper* l : all)
        l->first();
    ioc.run();
    if (!state.error.empty()) {
        std::cerr << "cloudstore_bench_http: " << state.error << "\n";
        return 1;
    }
    if (t.stats().connections_opened != connections) {
        std::cerr << "cloudstore_bench_http: opened " << t.stats().connections_opened
                  << " connections for " << connections << " loops\n";
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

int run_transfer(const http::endpoint& to, std::uint64_t bytes, bool upload) {
    asio::io_context ioc{1};
    auto options = bench_options(1);
    options.request_timeout = std::chrono::minutes(5);
    http::transport t(ioc.get_executor(), options);
    http::request req;
    http::response res;
    req.to = to;
    counting_sink sink;
    res.sink = &sink;
    repeating_source source(bytes);
    if (upload) {
        req.method = "PUT";
        req.target = "/upload";
        req.body = &source;
    } else {
        req.target = "/bytes/" + std::to_string(bytes);
    }
    cloudstore::error_code result;
    auto const start = clock_type::now();
    clock_type::time_point end;
    t.async_exchange(req, res, [&](cloudstore::error_code ec) {
        end = clock_type::now();
        result = ec;
    });
    ioc.run();
    if (!result && res.status != 200) result = cloudstore::errc::malformed_response;
    if (result) {
        std::cerr << "cloudstore_bench_http: " << result.message() << "\n";
        return 1;
    }
    // The sink server answers an upload with its byte count and a newline.
    std::uint64_t const expected = upload ? std::to_string(bytes).size() + 1 : bytes;
    if (sink.bytes != expected) {
        std::cerr << "cloudstore_bench_http: received " << sink.bytes << " bytes, expected "
                  << expected << "\n";
        return 1;
    }
    double const s = std::chrono::duration<double>(end - start).count();
    std::printf("{\"bytes\": %llu, \"seconds\": %.3f, \"mbps\": %.1f}\n",
                static_cast<unsigned long long>(bytes), s, static_cast<double>(bytes) / s / 1e6);
    return 0;
}

int usage() {
    std::cerr << "usage: cloudstore_bench_http HOST PORT CONNECTIONS SECONDS\n"
                 "       cloudstore_bench_http HOST PORT --download N\n"
                 "       cloudstore_bench_http HOST PORT --upload N\n";
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 5) return usage();
    std::string_view const mode = argv[3];
    try {
        auto const to = endpoint_of(argv[1], argv[2]);
        std::uint64_t n = 0;
        if (!parse_u64(argv[4], n) || n == 0) return usage();
        if (mode == "--download" || mode == "--upload")
            return run_transfer(to, n, mode == "--upload");
        std::uint64_t connections = 0;
        if (!parse_u64(mode, connections) || connections == 0) return usage();
        return run_loop(to, connections, static_cast<double>(n));
    } catch (std::exception const& e) {
        std::cerr << "cloudstore_bench_http: " << e.what() << "\n";
        return 1;
    }
}
