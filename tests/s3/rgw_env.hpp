// What the S3 tests know of the Ceph RGW that the test run started (tests/s3/rgw/rgw-cluster,
// through CTest fixtures): its endpoints and keys, read from the env file the script wrote,
// whose path CTest passes in CLOUDSTORE_RGW_ENV. Without it the tests fail loudly.
#pragma once

#include <cloudstore/core/driver.hpp>
#include <cloudstore/storage/s3.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace rgw {

inline const std::map<std::string, std::string>& env() {
    static const auto values = [] {
        std::map<std::string, std::string> out;
        const char* path = std::getenv("CLOUDSTORE_RGW_ENV");
        if (path == nullptr)
            throw std::runtime_error("CLOUDSTORE_RGW_ENV is not set: run the s3 tests through "
                                     "ctest, which starts Ceph RGW (tests/s3/rgw/rgw-cluster)");
        std::ifstream in(path);
        if (!in)
            throw std::runtime_error(std::string("no RGW env file at ") + path +
                                     ": the RGW fixture did not start");
        for (std::string line; std::getline(in, line);) {
            const auto eq = line.find('=');
            if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
        }
        return out;
    }();
    return values;
}

inline std::string get(const std::string& name) {
    auto it = env().find(name);
    if (it == env().end()) throw std::runtime_error("the RGW env file lacks " + name);
    return it->second;
}

/// Options for `bucket` on the plain endpoint (or the TLS one, verifying with the test CA).
inline cloudstore::s3_options options(const std::string& bucket, bool tls = false) {
    cloudstore::s3_options o;
    o.bucket = bucket;
    o.region = get("RGW_REGION");
    o.endpoint = get(tls ? "RGW_TLS_ENDPOINT" : "RGW_ENDPOINT");
    o.style = cloudstore::s3_options::addressing::path;
    o.credentials.access_key_id = get("RGW_ACCESS_KEY");
    o.credentials.secret_access_key = get("RGW_SECRET_KEY");
    if (tls) o.transport.tls.ca_file = get("RGW_CA_FILE");
    o.transport.proxy = {};
    return o;
}

/// A bucket name unique to this process and call.
inline std::string fresh_bucket_name() {
    static std::atomic<int> n{0};
    return "cs-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

/// Creates the bucket of `storage` (a signed PUT on the bucket); fails the test otherwise.
inline void create_bucket(cloudstore::s3& storage) {
    cloudstore::core::single_step<cloudstore::s3_step> create;
    create.s.what = cloudstore::s3_step::kind::remove; // no reply to read
    create.s.method = "PUT";
    cloudstore::core::layers<> none;
    cloudstore::core::operation_context op;
    cloudstore::storage_failure failure;
    const auto ec = cloudstore::core::run_blocking(storage, create, none, op, &failure);
    if (ec) throw std::runtime_error("cannot create a bucket on RGW: " + failure.describe());
}

/// Runs a shell command: its exit status and its standard output (and error, when asked).
inline std::pair<int, std::string> shell(const std::string& command) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) throw std::runtime_error("popen failed: " + command);
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, p)) > 0;)
        out.append(buffer, n);
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// The AWS CLI (Debian's v2) against this RGW, as its first user: exit status and output.
inline std::pair<int, std::string> aws(const std::string& arguments) {
    return shell("AWS_CONFIG_FILE=" + get("RGW_AWS_CONFIG_FILE") +
                 " AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER= /usr/bin/aws --endpoint-url " +
                 get("RGW_ENDPOINT") + " " + arguments + " 2>&1");
}

/// A fresh bucket and an s3 storage for it.
inline cloudstore::s3 fresh(bool tls = false) {
    cloudstore::s3 storage(options(fresh_bucket_name(), tls));
    create_bucket(storage);
    return storage;
}

} // namespace rgw
