// A client over memory storage with no mixins: one put, one get, the result printed.
//
//   bare_client
//
// Built with CLOUDSTORE_FORBID_MIXINS, so including any mixin header is an error: a client
// without mixins compiles none of their code. benchmarks/run client reports the size of this
// program, stripped, beside mixins_client's.
#include <cloudstore/client.hpp>
#include <cloudstore/storage/memory.hpp>

#include <cstdio>
#include <string>

using namespace cloudstore;

int main() {
    client<memory> c;
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
    std::printf("put %s: %llu bytes, etag %s\n", info.key.c_str(),
                static_cast<unsigned long long>(info.size), info.etag.c_str());
    std::printf("get %s: %s\n", info.key.c_str(), text.c_str());
    return 0;
}
