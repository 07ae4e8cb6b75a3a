// client<memory> and client<local> built with -fno-exceptions (by g++ in the plain tree, clang
// in the sanitizer tree): every call in its error_code form. Exits non-zero on any surprise.
#include <cloudstore/client.hpp>
#include <cloudstore/storage/local.hpp>
#include <cloudstore/storage/memory.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "noexcept_client: %s\n", what);
        ++failures;
    }
}

template <class Client>
void exercise(Client& c) {
    cloudstore::error_code ec;
    c.put("a/b", std::string_view("value"), cloudstore::put_options{}, ec);
    expect(!ec, "put");
    expect(c.get("a/b", {}, ec) == "value" && !ec, "get");
    expect(c.exists("a/b", ec) && !ec, "exists");
    c.get("missing", {}, ec);
    expect(ec == cloudstore::condition::not_found, "missing object");
    expect(c.list(cloudstore::list_options{}, ec).objects.size() == 1 && !ec, "list");
    c.remove("a/b", ec);
    expect(!ec && !c.exists("a/b", ec), "remove");
}

} // namespace

int main() {
    cloudstore::client<cloudstore::memory> m;
    exercise(m);
    const auto root = std::filesystem::temp_directory_path() /
                      ("cloudstore-noexcept-" + std::to_string(::getpid()));
    {
        cloudstore::client<cloudstore::local> l{cloudstore::local(root)};
        exercise(l);
    }
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
    if (failures == 0) std::puts("noexcept_client: memory and local work without exceptions");
    return failures == 0 ? 0 : 1;
}
