// benchmarks/minimal_s3_put ENDPOINT BUCKET KEY BODY: one object put to S3 with cloudstore.
//
// The smallest program a user would write with cloudstore to put an object: header-only (the
// default: no CLOUDSTORE_SEPARATE_COMPILATION), a blocking client over the `s3` storage with no
// mixins, static credentials. `benchmarks/run s3` builds it with a plain g++ command line, beside
// bare_beast_put.cpp (the same PUT with Beast alone, unsigned), and reports the stripped size and
// compile time of both. ENDPOINT is `https://host[:port]` (or `http://` for a test server).
// Prints the stored object's ETag; exits 0 on success.
#include <cloudstore/client.hpp>
#include <cloudstore/storage/s3.hpp>

#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: minimal_s3_put ENDPOINT BUCKET KEY BODY\n");
        return 2;
    }
    cloudstore::s3_options options;
    options.endpoint = argv[1];
    options.bucket = argv[2];
    options.credentials.access_key_id = "AKIDMINIMALEXAMPLE00";
    options.credentials.secret_access_key = "minimal/example/secret/key/not/real/0000";

    cloudstore::client<cloudstore::s3> c{cloudstore::s3(options)};
    cloudstore::error_code ec;
    const auto info = c.put(argv[3], std::string_view(argv[4]), {}, ec);
    if (ec) {
        std::fprintf(stderr, "minimal_s3_put: %s\n", ec.message().c_str());
        return 1;
    }
    std::printf("%s\n", info.etag.c_str());
    return 0;
}
