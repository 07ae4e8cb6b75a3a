// any_client and make_client: the storage chosen at run time, by STORAGE_TYPE.
#include <cloudstore/config.hpp>

#include <doctest/doctest.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <string>

#include <stdlib.h>
#include <unistd.h>

using namespace cloudstore;
using namespace std::string_literals;

namespace {
config named(std::string type, std::string path) {
    config c;
    c.storage_type = std::move(type);
    c.local_storage_path = std::move(path);
    return c;
}
} // namespace

TEST_CASE("make_client: memory and local from the environment, clear errors otherwise") {
    const auto root =
        std::filesystem::temp_directory_path() / ("cloudstore-any-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root);
    ::setenv("STORAGE_TYPE", "local", 1);
    ::setenv("LOCAL_STORAGE_PATH", root.c_str(), 1);
    {
        any_client c = make_client();
        CHECK(c.storage_type() == "local");
        error_code ec;
        c.put("user/1.wav", "RIFF"s, put_options{}, ec);
        CHECK_FALSE(ec);
        CHECK(c.get("user/1.wav", {}, ec) == "RIFF");
        CHECK(c.exists("user/1.wav", ec));
        CHECK(std::filesystem::exists(root / "user%d" / "1.wav%o"));
        CHECK(c.list(list_options{"user/", "", "", "", 10}, ec).objects.size() == 1);
        c.remove("user/1.wav", ec);
        CHECK_FALSE(ec);
        CHECK_FALSE(c.exists("user/1.wav", ec));
    }
    ::setenv("STORAGE_TYPE", "memory", 1);
    {
        any_client c = make_client();
        CHECK(c.storage_type() == "memory");
        boost::asio::io_context io;
        const std::string body = "erased";
        error_code put_ec, get_ec;
        std::string got;
        c.async_put("k", std::as_bytes(std::span(body)), put_options{},
                    boost::asio::bind_executor(io, [&](error_code e, object_info) {
                        put_ec = e;
                        c.async_get(
                            "k", get_options{},
                            boost::asio::bind_executor(io, [&](error_code e2, std::string s) {
                                get_ec = e2;
                                got = std::move(s);
                            }));
                    }));
        io.run();
        CHECK_FALSE(put_ec);
        CHECK_FALSE(get_ec);
        CHECK(got == body);
    }
    error_code ec;
    for (const char* type : {"", "ftp", "LOCAL"}) {
        INFO(type);
        CHECK_FALSE(make_client(named(type, root.string()), ec).has_value());
        CHECK(ec == condition::invalid_configuration);
    }
    CHECK_FALSE(make_client(named("local", ""), ec).has_value());
    CHECK(ec == condition::invalid_configuration);
    // S3 without a bucket or keys; a storage this build does not have.
    CHECK_FALSE(make_client(named("s3", ""), ec).has_value());
    CHECK(ec == condition::invalid_configuration);
    CHECK_FALSE(make_client(named("gcs", ""), ec).has_value());
    CHECK(ec == condition::not_supported);
    CHECK_THROWS_AS(make_client(named("nope", "")), invalid_configuration_error);
    ::unsetenv("STORAGE_TYPE");
    ::unsetenv("LOCAL_STORAGE_PATH");
    std::filesystem::remove_all(root);
}
