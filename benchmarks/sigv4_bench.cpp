// benchmarks/run sigv4: cloudstore's header signing and presigning of a typical S3 GET, with
// a cached signing key. The peers (botocore, @smithy/signature-v4) sign the same request at
// the same time in their own scripts; all three produce the same signature.
#include <cloudstore/auth/sigv4.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

namespace {

using namespace cloudstore::auth;

const sigv4_signer& signer() {
    static const sigv4_signer s({"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""},
                                "us-east-1", "s3");
    return s;
}

sigv4_request typical_get() {
    sigv4_request r;
    r.host = "examplebucket.s3.us-east-1.amazonaws.com";
    r.path = "/audio/user-42/3f2a9c_20261124_120000.wav";
    r.payload_hash = payload::unsigned_payload;
    return r;
}

const amz_date when = *amz_date::parse("20261124T120000Z");

void header_sign(benchmark::State& state) {
    const auto request = typical_get();
    for (auto _ : state)
        benchmark::DoNotOptimize(signer().sign_headers(request, when));
}

void presign(benchmark::State& state) {
    const auto request = typical_get();
    cloudstore::error_code ec;
    for (auto _ : state)
        benchmark::DoNotOptimize(signer().presign(request, when, std::chrono::seconds(3600), ec));
}

} // namespace

BENCHMARK(header_sign);
BENCHMARK(presign);

int main(int argc, char** argv) {
    // The peers produce this signature for the same request: a benchmark of a wrong signer
    // would measure nothing.
    const auto out = signer().sign_headers(typical_get(), when);
    if (out.signature() != "d3e40c63ded2948fcf9d7c2bda0d72fdfdda0392e259c29d29f9490ead68410e") {
        std::fprintf(stderr, "sigv4_bench: unexpected signature %s\n", out.authorization.c_str());
        return 1;
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
