// benchmarks/cloudstore_bench_s3: cloudstore's side of `benchmarks/run s3`, against
// s3_sink_server (or any S3 endpoint that takes dummy credentials) on plain HTTP.
//
//   cloudstore_bench_s3 ENDPOINT BUCKET ops put|get SECONDS [async|threads]
//       8 requests always in flight, each a 1 KiB put (distinct keys) or get (64 keys put
//       first, read round-robin), through one client<s3>. async (the default): 8 loops of the
//       async face on one io_context run by this thread alone (serialized_executor), so the
//       client takes one core and the server the other. threads: 8 threads each calling the
//       blocking face (each on its thread's private context and pool). After 0.5 s of warm-up,
//       the operations completed over the next SECONDS are counted, as s3_boto3.py counts
//       them. Every result is checked (an ETag; 1,024 bytes back). Prints
//       {"op": "put", "ops_per_s": R, "concurrency": 8, "mode": "async", "errors": E} and
//       exits 1 on any error (the first goes to stderr).
//   cloudstore_bench_s3 ENDPOINT BUCKET transfer BYTES ROUNDS
//       ROUNDS times, in turn: the transport's raw PUT of BYTES from memory (one exchange, no
//       signing), the client's put of the same bytes (UNSIGNED-PAYLOAD; above the multipart
//       threshold a multipart upload with the default part size and parts in flight), the
//       client's get of that object into a sink that counts and drops the bytes, and the
//       transport's raw GET of it. Each is timed by the wall clock around the blocking call,
//       connections included (every round starts on a fresh transport and client). Prints
//       {"bytes": N, "raw_put_mbps": [...], "put_mbps": [...], "get_mbps": [...],
//        "raw_get_mbps": [...], "max_parts_in_flight": P} (MB = 10^6 bytes); P is what the
//       sink server's GET /_stats says, 0 when the endpoint has no such thing.
#include <cloudstore/client.hpp>
#include <cloudstore/http.hpp>
#include <cloudstore/storage/s3.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace http = cloudstore::http;
using cloudstore::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t concurrency = 8;
constexpr std::size_t object_size = 1024;
constexpr std::size_t get_keys = 64;
constexpr auto warmup = std::chrono::milliseconds(500);

bool parse_u64(std::string_view s, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

cloudstore::s3_options bench_options(const std::string& endpoint, const std::string& bucket) {
    cloudstore::s3_options o;
    o.endpoint = endpoint;
    o.bucket = bucket;
    o.style = cloudstore::s3_options::addressing::path;
    o.credentials.access_key_id = "AKIDBENCHMARK0000000";
    o.credentials.secret_access_key = "benchmark/secret/key/not/a/real/one0000";
    o.payload = cloudstore::s3_options::payload_signing::never_signed;
    o.transport.proxy = {};
    o.transport.request_timeout = std::chrono::minutes(5);
    return o;
}

std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string get_key(std::size_t i) {
    return "cs-get/" + std::to_string(i);
}

// The sink of downloads: counts the bytes, keeps nothing.
class counting_sink final : public http::body_sink {
public:
    void start(unsigned, std::optional<std::uint64_t>, error_code& ec) override { ec = {}; }
    void write(std::span<const std::byte> piece, error_code& ec) override {
        bytes += piece.size();
        ec = {};
    }
    void finish(error_code& ec) override { ec = {}; }
    void reset() override { bytes = 0; }
    std::uint64_t bytes = 0;
};

// What the loops share: completed operations, errors, the first error's text.
struct tally {
    std::atomic<std::uint64_t> done{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::string first_error;

    void fail(const std::string& what) {
        if (errors.fetch_add(1) == 0) {
            std::lock_guard lock(mutex);
            first_error = what;
        }
    }
    // One put's or get's outcome, whichever face made it.
    void put_done(const error_code& ec, const cloudstore::object_info& info) {
        if (ec)
            fail("put: " + ec.message());
        else if (info.etag.empty())
            fail("put: no ETag");
        else
            done.fetch_add(1, std::memory_order_relaxed);
    }
    void get_done(const error_code& ec, std::size_t size, std::size_t expected) {
        if (ec)
            fail("get: " + ec.message());
        else if (size != expected)
            fail("get: " + std::to_string(size) + " bytes");
        else
            done.fetch_add(1, std::memory_order_relaxed);
    }
};

using s3_client = cloudstore::client<cloudstore::s3>;

// The 64 objects the gets read.
bool put_get_keys(s3_client& c, std::string_view body) {
    for (std::size_t i = 0; i < get_keys; ++i) {
        error_code ec;
        c.put(get_key(i), body, {}, ec);
        if (ec) {
            std::cerr << "cloudstore_bench_s3: put " << get_key(i) << ": " << ec.message() << "\n";
            return false;
        }
    }
    return true;
}

// One of the async loops: an operation, and on its completion the next.
struct async_loop {
    s3_client& c;
    tally& t;
    std::string_view body;
    bool put;
    std::size_t lane;
    std::uint64_t n = 0;

    void next() {
        if (t.stop.load(std::memory_order_relaxed)) return;
        const std::uint64_t i = n++;
        if (put) {
            c.async_put("cs-put/" + std::to_string(lane) + "/" + std::to_string(i), bytes_of(body),
                        cloudstore::put_options{},
                        [this](error_code ec, cloudstore::object_info info) {
                            t.put_done(ec, info);
                            next();
                        });
        } else {
            c.async_get(get_key((lane + i * concurrency) % get_keys), cloudstore::get_options{},
                        [this](error_code ec, std::string data) {
                            t.get_done(ec, data.size(), object_size);
                            next();
                        });
        }
    }
};

// The blocking face, one thread per request in flight.
void blocking_loop(s3_client& c, tally& t, std::string_view body, bool put, std::size_t lane) {
    for (std::uint64_t i = 0; !t.stop.load(std::memory_order_relaxed); ++i) {
        error_code ec;
        if (put) {
            const auto info =
                c.put("cs-put/" + std::to_string(lane) + "/" + std::to_string(i), body, {}, ec);
            t.put_done(ec, info);
        } else {
            const auto data = c.get(get_key((lane + i * concurrency) % get_keys), {}, ec);
            t.get_done(ec, data.size(), object_size);
        }
    }
}

int run_ops(const std::string& endpoint, const std::string& bucket, bool put, double seconds,
            bool threads) {
    const std::string body(object_size, 'x');
    const auto window =
        std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    tally t;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    clock_type::time_point start;
    clock_type::time_point end;
    if (threads) {
        s3_client c{cloudstore::s3(bench_options(endpoint, bucket))};
        if (!put && !put_get_keys(c, body)) return 1;
        std::vector<std::thread> workers;
        for (std::size_t lane = 0; lane < concurrency; ++lane)
            workers.emplace_back(blocking_loop, std::ref(c), std::ref(t), std::string_view(body),
                                 put, lane);
        std::this_thread::sleep_for(warmup);
        first = t.done.load();
        start = clock_type::now();
        std::this_thread::sleep_for(window);
        last = t.done.load();
        end = clock_type::now();
        t.stop = true;
        for (auto& w : workers)
            w.join();
    } else {
        asio::io_context ioc{1};
        auto options = bench_options(endpoint, bucket);
        options.transport.serialized_executor = true; // one io_context, run by this thread
        s3_client c{cloudstore::s3(std::move(options), ioc.get_executor())};
        if (!put && !put_get_keys(c, body)) return 1;
        std::vector<std::unique_ptr<async_loop>> loops;
        for (std::size_t lane = 0; lane < concurrency; ++lane) {
            loops.push_back(std::make_unique<async_loop>(async_loop{c, t, body, put, lane}));
            loops.back()->next();
        }
        asio::steady_timer timer(ioc);
        timer.expires_after(warmup);
        timer.async_wait([&](boost::system::error_code) {
            first = t.done.load();
            start = clock_type::now();
            timer.expires_after(window);
            timer.async_wait([&](boost::system::error_code) {
                last = t.done.load();
                end = clock_type::now();
                t.stop = true;
            });
        });
        ioc.run();
    }
    const double s = std::chrono::duration<double>(end - start).count();
    std::printf("{\"op\": \"%s\", \"ops_per_s\": %.1f, \"concurrency\": %zu, \"mode\": \"%s\", "
                "\"errors\": %llu}\n",
                put ? "put" : "get", static_cast<double>(last - first) / s, concurrency,
                threads ? "threads" : "async", static_cast<unsigned long long>(t.errors.load()));
    if (t.errors.load() != 0) {
        std::cerr << "cloudstore_bench_s3: " << t.errors.load()
                  << " errors, the first: " << t.first_error << "\n";
        return 1;
    }
    return 0;
}

// ---- transfer ------------------------------------------------------------------------------

double mbps(std::uint64_t bytes, clock_type::duration d) {
    return static_cast<double>(bytes) / std::chrono::duration<double>(d).count() / 1e6;
}

std::string list(const std::vector<double>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s%.1f", i ? ", " : "", v[i]);
        out += buf;
    }
    return out + "]";
}

// The transport alone, as the client's requests would go (same options), without signing.
struct raw_transport {
    asio::io_context ioc{1};
    http::transport t;
    http::endpoint to;

    explicit raw_transport(const cloudstore::s3_options& o)
        : t(ioc.get_executor(), o.transport) {
        error_code ec;
        to = http::endpoint::parse(o.endpoint, ec);
        if (ec) throw cloudstore::storage_error(ec);
    }

    // Status of `method target` with `body` (or none), the reply into `sink` (or dropped).
    unsigned exchange(const char* method, const std::string& target, http::body_source* body,
                      http::body_sink* sink) {
        http::request req;
        req.method = method;
        req.to = to;
        req.target = target;
        req.body = body;
        http::response res;
        res.sink = sink;
        t.exchange(req, res); // throws on a transport failure
        return res.status;
    }
};

unsigned max_parts_in_flight(const cloudstore::s3_options& o) {
    raw_transport raw(o);
    http::memory_sink sink;
    if (raw.exchange("GET", "/_stats", nullptr, &sink) != 200) return 0;
    const std::string& body = sink.body();
    constexpr std::string_view name = "\"max_parts_in_flight\":";
    const auto at = body.find(name);
    if (at == std::string::npos) return 0;
    auto from = at + name.size();
    while (from < body.size() && body[from] == ' ')
        ++from;
    unsigned n = 0;
    std::from_chars(body.data() + from, body.data() + body.size(), n);
    return n;
}

int run_transfer(const std::string& endpoint, const std::string& bucket, std::uint64_t bytes,
                 std::uint64_t rounds) {
    const auto options = bench_options(endpoint, bucket);
    const std::vector<std::byte> data(static_cast<std::size_t>(bytes), std::byte{'u'});
    const std::string key = "cs-transfer/" + std::to_string(bytes);
    const std::string raw_target = "/" + bucket + "/cs-transfer-raw/" + std::to_string(bytes);
    const std::string object_target = "/" + bucket + "/" + key;
    std::vector<double> raw_put, put, get, raw_get;
    auto fail = [](const std::string& what) {
        std::cerr << "cloudstore_bench_s3: " << what << "\n";
        return 1;
    };
    for (std::uint64_t round = 0; round < rounds; ++round) {
        {
            raw_transport raw(options);
            http::memory_source body(data);
            counting_sink reply;
            const auto start = clock_type::now();
            const unsigned status = raw.exchange("PUT", raw_target, &body, &reply);
            const auto time = clock_type::now() - start;
            if (status != 200) return fail("raw PUT: status " + std::to_string(status));
            raw_put.push_back(mbps(bytes, time));
        }
        {
            s3_client c{cloudstore::s3(options)};
            error_code ec;
            const auto start = clock_type::now();
            const auto info = c.put(key, std::span<const std::byte>(data), {}, ec);
            const auto time = clock_type::now() - start;
            if (ec) return fail("put: " + ec.message());
            if (info.etag.empty()) return fail("put: no ETag");
            put.push_back(mbps(bytes, time));
        }
        {
            s3_client c{cloudstore::s3(options)};
            counting_sink sink;
            error_code ec;
            const auto start = clock_type::now();
            c.get(key, sink, {}, ec);
            const auto time = clock_type::now() - start;
            if (ec) return fail("get: " + ec.message());
            if (sink.bytes != bytes) return fail("get: " + std::to_string(sink.bytes) + " bytes");
            get.push_back(mbps(bytes, time));
        }
        {
            raw_transport raw(options);
            counting_sink sink;
            const auto start = clock_type::now();
            const unsigned status = raw.exchange("GET", object_target, nullptr, &sink);
            const auto time = clock_type::now() - start;
            if (status != 200) return fail("raw GET: status " + std::to_string(status));
            if (sink.bytes != bytes)
                return fail("raw GET: " + std::to_string(sink.bytes) + " bytes");
            raw_get.push_back(mbps(bytes, time));
        }
    }
    std::printf("{\"bytes\": %llu, \"raw_put_mbps\": %s, \"put_mbps\": %s, \"get_mbps\": %s, "
                "\"raw_get_mbps\": %s, \"max_parts_in_flight\": %u}\n",
                static_cast<unsigned long long>(bytes), list(raw_put).c_str(), list(put).c_str(),
                list(get).c_str(), list(raw_get).c_str(), max_parts_in_flight(options));
    return 0;
}

int usage() {
    std::cerr << "usage: cloudstore_bench_s3 ENDPOINT BUCKET ops put|get SECONDS [async|threads]\n"
                 "       cloudstore_bench_s3 ENDPOINT BUCKET transfer BYTES ROUNDS\n";
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 6) return usage();
    const std::string endpoint = argv[1];
    const std::string bucket = argv[2];
    const std::string_view mode = argv[3];
    try {
        if (mode == "ops" && (argc == 6 || argc == 7)) {
            const std::string_view op = argv[4];
            std::uint64_t seconds = 0;
            const std::string_view face = argc == 7 ? argv[6] : "async";
            if ((op != "put" && op != "get") || !parse_u64(argv[5], seconds) || seconds == 0 ||
                (face != "async" && face != "threads"))
                return usage();
            return run_ops(endpoint, bucket, op == "put", static_cast<double>(seconds),
                           face == "threads");
        }
        if (mode == "transfer" && argc == 6) {
            std::uint64_t bytes = 0;
            std::uint64_t rounds = 0;
            if (!parse_u64(argv[4], bytes) || bytes == 0 || !parse_u64(argv[5], rounds) ||
                rounds == 0)
                return usage();
            return run_transfer(endpoint, bucket, bytes, rounds);
        }
        return usage();
    } catch (const std::exception& e) {
        std::cerr << "cloudstore_bench_s3: " << e.what() << "\n";
        return 1;
    }
}
