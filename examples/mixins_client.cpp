// A client over memory storage with all three mixins (outermost first: retry with exponential
// backoff, Prometheus metrics, CRC-32C checksums): one put, one get, the result printed, as
// bare_client does. (A server would also render registry->exposition() on /metrics: left out,
// so that the two programs differ only by the mixins.)
//
//   mixins_client
//
// benchmarks/run client reports the size of this program, stripped, beside bare_client's.
#include <cloudstore/checksum/crc32c.hpp>
#include <cloudstore/client.hpp>
#include <cloudstore/mixins/checksums.hpp>
#include <cloudstore/mixins/metrics.hpp>
#include <cloudstore/mixins/retry.hpp>
#include <cloudstore/storage/memory.hpp>

#include <cstdio>
#include <memory>
#include <string>

using namespace cloudstore;

int main() {
    // About 20 KiB, and it must outlive the client: on the heap.
    const auto registry = std::make_unique<prometheus_registry>();
    client<memory, retry<exponential_backoff>, metrics<prometheus_registry>, checksums<crc32c>> c(
        memory{}, retry<exponential_backoff>{}, metrics<prometheus_registry>(*registry),
        checksums<crc32c>{});
    error_code ec;
    const auto info =
        c.put("greetings/hello.txt", std::string_view("Hello, cloudstore!"), put_options{}, ec);
    if (ec) {
        std::fprintf(stderr, "put: %s\n", ec.message().c_str());
        return 1;
    }
    const std::string text = c.get("greetings/hello.txt", get_options{}, ec);
    if (ec) {
        std::fprintf(stderr, "get: %s\n", ec.message().c_str());
        return 1;
    }
    std::printf("put %s: %llu bytes, etag %s, %s %s\n", info.key.c_str(),
                static_cast<unsigned long long>(info.size), info.etag.c_str(),
                info.checksum_algorithm.c_str(), info.checksum.c_str());
    std::printf("get %s: %s\n", info.key.c_str(), text.c_str());
    return 0;
}
