// benchmarks/run checksum: each checksum over 1 MiB messages, fed in 4 KiB updates (the size a
// streamed body arrives in) and as one whole buffer, beside OpenSSL's own EVP digests and
// ISA-L called directly, fed the same way in the same process.
#include <cloudstore/checksum.hpp>
#include <cloudstore/checksum/detail/crc_dispatch.hpp>

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#if CLOUDSTORE_BENCH_ISAL
#include <isa-l/crc.h>
#endif

#include <random>
#include <span>
#include <vector>

namespace {

constexpr std::size_t message_size = 1 << 20;
constexpr std::size_t piece_4k = 4096;

const std::vector<std::byte>& message() {
    static const std::vector<std::byte> data = [] {
        std::vector<std::byte> d(message_size);
        std::mt19937_64 rng(42);
        for (auto& b : d)
            b = static_cast<std::byte>(rng());
        return d;
    }();
    return data;
}

// Feeds one message to `feed` in pieces of `piece` bytes; `finish` ends it.
template <class Feed, class Finish>
void run(benchmark::State& state, std::size_t piece, Feed feed, Finish finish) {
    const auto& data = message();
    for (auto _ : state) {
        for (std::size_t at = 0; at < data.size(); at += piece)
            feed(std::span(data).subspan(at, std::min(piece, data.size() - at)));
        benchmark::DoNotOptimize(finish());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}

template <cloudstore::checksum_algorithm C>
void cloudstore_checksum(benchmark::State& state) {
    C c;
    run(
        state, static_cast<std::size_t>(state.range(0)), [&](auto s) { c.update(s); },
        [&] { return c.finish(); });
}

void openssl_evp(benchmark::State& state, const EVP_MD* md) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned char out[EVP_MAX_MD_SIZE];
    EVP_DigestInit_ex(ctx, md, nullptr);
    run(
        state, static_cast<std::size_t>(state.range(0)),
        [&](auto s) { EVP_DigestUpdate(ctx, s.data(), s.size()); },
        [&] {
            unsigned int n = 0;
            EVP_DigestFinal_ex(ctx, out, &n);
            EVP_DigestInit_ex(ctx, md, nullptr);
            return out[0];
        });
    EVP_MD_CTX_free(ctx);
}
void openssl_sha256(benchmark::State& state) {
    openssl_evp(state, EVP_sha256());
}
void openssl_md5(benchmark::State& state) {
    openssl_evp(state, EVP_md5());
}

// cloudstore's own CRC-32C path (SSE4.2 over three streams), whatever the build's default.
void crc32c_portable(benchmark::State& state) {
    std::uint32_t reg = ~0u;
    run(
        state, static_cast<std::size_t>(state.range(0)),
        [&](auto s) {
            reg = cloudstore::detail::crc::crc32c_portable(
                reg, reinterpret_cast<const unsigned char*>(s.data()), s.size());
        },
        [&] { return std::exchange(reg, ~0u); });
}

#if CLOUDSTORE_BENCH_ISAL
void isal_crc32c(benchmark::State& state) {
    std::uint32_t reg = ~0u;
    run(
        state, static_cast<std::size_t>(state.range(0)),
        [&](auto s) {
            reg = crc32_iscsi(reinterpret_cast<unsigned char*>(const_cast<std::byte*>(s.data())),
                              static_cast<int>(s.size()), reg);
        },
        [&] { return std::exchange(reg, ~0u); });
}
#endif

void pieces(benchmark::internal::Benchmark* b) {
    b->ArgName("piece")->Arg(static_cast<std::int64_t>(piece_4k))->Arg(message_size);
}

} // namespace

BENCHMARK(cloudstore_checksum<cloudstore::sha256>)->Name("sha256")->Apply(pieces);
BENCHMARK(openssl_sha256)->Apply(pieces);
BENCHMARK(cloudstore_checksum<cloudstore::md5>)->Name("md5")->Apply(pieces);
BENCHMARK(openssl_md5)->Apply(pieces);
BENCHMARK(cloudstore_checksum<cloudstore::crc32c>)->Name("crc32c")->Apply(pieces);
#if CLOUDSTORE_BENCH_ISAL
BENCHMARK(isal_crc32c)->Apply(pieces);
#endif
BENCHMARK(crc32c_portable)->Apply(pieces);
BENCHMARK(cloudstore_checksum<cloudstore::crc32>)->Name("crc32")->Apply(pieces);
BENCHMARK(cloudstore_checksum<cloudstore::crc64nvme>)->Name("crc64nvme")->Apply(pieces);

BENCHMARK_MAIN();
