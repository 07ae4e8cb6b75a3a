// benchmarks/run client: ns per call of client<memory> with no mixins and with all three
// (retry<exponential_backoff>, metrics<prometheus_registry>, checksums<crc32c>, outermost
// first), putting and getting a 1 KiB object under one key, overwritten; the async put of the
// bare client, completed on an io_context the benchmark thread runs; and CRC-32C alone over
// the same 1 KiB, so that the mixins' own cost is what is left of the difference.
#include <cloudstore/checksum/crc32c.hpp>
#include <cloudstore/client.hpp>
#include <cloudstore/mixins/checksums.hpp>
#include <cloudstore/mixins/metrics.hpp>
#include <cloudstore/mixins/retry.hpp>
#include <cloudstore/storage/memory.hpp>

#include <benchmark/benchmark.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>

namespace {

using namespace cloudstore;

using bare_client = client<memory>;
using mixins_client =
    client<memory, retry<exponential_backoff>, metrics<prometheus_registry>, checksums<crc32c>>;

constexpr std::string_view key = "bench/object-1k.bin";
constexpr std::size_t body_size = 1024;

const std::string& body() {
    static const std::string data = [] {
        std::string d(body_size, '\0');
        std::mt19937_64 rng(42);
        for (auto& c : d)
            c = static_cast<char>(rng());
        return d;
    }();
    return data;
}

std::span<const std::byte> body_bytes() {
    return std::as_bytes(std::span(body().data(), body().size()));
}

// About 20 KiB, shared by every mixins client of the process; never destroyed.
prometheus_registry& registry() {
    static auto* r = new prometheus_registry;
    return *r;
}

mixins_client make_mixins_client() {
    return mixins_client(memory{}, retry<exponential_backoff>{},
                         metrics<prometheus_registry>(registry()), checksums<crc32c>{});
}

template <class Client>
void put(benchmark::State& state, Client c) {
    const put_options options;
    error_code ec;
    for (auto _ : state) {
        auto info = c.put(key, std::string_view(body()), options, ec);
        benchmark::DoNotOptimize(info);
        if (ec) {
            state.SkipWithError("put failed");
            break;
        }
    }
}

template <class Client>
void get(benchmark::State& state, Client c) {
    const get_options options;
    error_code ec;
    c.put(key, std::string_view(body()), put_options{}, ec);
    if (ec) state.SkipWithError("the first put failed");
    for (auto _ : state) {
        if (ec) break;
        auto text = c.get(key, options, ec);
        benchmark::DoNotOptimize(text);
        if (ec || text.size() != body_size) {
            state.SkipWithError("get failed");
            break;
        }
    }
}

void bare_put(benchmark::State& state) {
    put(state, bare_client());
}
void bare_get(benchmark::State& state) {
    get(state, bare_client());
}
void mixins_put(benchmark::State& state) {
    put(state, make_mixins_client());
}
void mixins_get(benchmark::State& state) {
    get(state, make_mixins_client());
}

// One async put per iteration, its completion handler bound to an io_context that this thread
// runs (the step itself runs on the library's step pool): the whole round trip of one
// operation, two thread hand-offs included.
void async_put(benchmark::State& state) {
    bare_client c;
    boost::asio::io_context io;
    const put_options options;
    error_code failure;
    std::size_t issued = 0, completed = 0;
    for (auto _ : state) {
        ++issued;
        c.async_put(key, body_bytes(), options,
                    boost::asio::bind_executor(io, [&](error_code ec, object_info info) {
                        benchmark::DoNotOptimize(info);
                        if (ec) failure = ec;
                        ++completed;
                    }));
        io.run();
        io.restart();
        if (failure || completed != issued) {
            state.SkipWithError(failure ? "async_put failed" : "io.run() returned before the put");
            break;
        }
    }
}

// The checksum the mixins client uses, alone over the same 1 KiB.
void checksum_1k(benchmark::State& state) {
    const auto bytes = body_bytes();
    crc32c c;
    for (auto _ : state) {
        benchmark::DoNotOptimize(bytes.data());
        c.update(bytes);
        benchmark::DoNotOptimize(c.finish());
    }
}

} // namespace

BENCHMARK(bare_put);
BENCHMARK(bare_get);
BENCHMARK(mixins_put);
BENCHMARK(mixins_get);
BENCHMARK(async_put);
BENCHMARK(checksum_1k);

BENCHMARK_MAIN();
