// The storage conformance suite (tests/support/conformance_cases.hpp) over memory and local.
#include <cloudstore/client.hpp>
#include <cloudstore/storage/local.hpp>
#include <cloudstore/storage/memory.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace cloudstore;

// A row: how to make the store, and what it can do.
struct memory_row {
    using storage = memory;
    static constexpr std::string_view name = "memory";
    static constexpr bool keeps_metadata_underscores = true;
    static constexpr bool nul_in_keys = true;
    static constexpr condition if_match_on_missing = condition::not_found;
    static constexpr bool presigned_urls = false;
    static constexpr bool public_urls = false;
    static constexpr std::string_view url_scheme = "";
    static memory make() { return memory{}; }
};

// Each local store gets a fresh folder, removed when the tests end.
struct local_row {
    using storage = local;
    static constexpr std::string_view name = "local";
    static constexpr bool keeps_metadata_underscores = true;
    static constexpr bool nul_in_keys = true;
    static constexpr condition if_match_on_missing = condition::not_found;
    static constexpr bool presigned_urls = false;
    static constexpr bool public_urls = true; // file://
    static constexpr std::string_view url_scheme = "file://";
    static local make() {
        static struct roots {
            std::vector<std::filesystem::path> made;
            ~roots() {
                for (auto& p : made) {
                    std::error_code ignored;
                    std::filesystem::remove_all(p, ignored);
                }
            }
        } roots;
        auto p = std::filesystem::temp_directory_path() /
                 ("cloudstore-conformance-" + std::to_string(::getpid()) + "-" +
                  std::to_string(roots.made.size()));
        std::filesystem::remove_all(p);
        roots.made.push_back(p);
        return local(p);
    }
};

} // namespace

#define CONFORMANCE_ROWS memory_row, local_row
#include "conformance_cases.hpp"

static_assert(storage_policy<memory>);
static_assert(storage_policy<local>);
static_assert(sizeof(client<memory>) == sizeof(memory));
