// Configuration from the environment, with the first user's variable names (DESIGN.md
// "Conventions of the ecosystem"), and make_client, which builds the client it names.
#pragma once

#include <cloudstore/any_client.hpp>
#include <cloudstore/storage/local.hpp>
#include <cloudstore/storage/memory.hpp>

#include <cstdlib>
#include <optional>
#include <string>

namespace cloudstore {

struct config {
    /// STORAGE_TYPE: "local" or "memory" (s3 and gcs join with their storages).
    std::string storage_type;
    /// LOCAL_STORAGE_PATH: the root folder of local storage.
    std::string local_storage_path;

    /// The environment's values; unset variables stay empty.
    static config from_environment() {
        const auto get = [](const char* name) {
            const char* v = std::getenv(name);
            return std::string(v != nullptr ? v : "");
        };
        config c;
        c.storage_type = get("STORAGE_TYPE");
        c.local_storage_path = get("LOCAL_STORAGE_PATH");
        return c;
    }
};

/// The client `c` names, or nullopt with `ec`: invalid_configuration for an unknown or
/// missing STORAGE_TYPE or a local store without a path; not_supported for a storage this
/// build does not have yet.
inline std::optional<any_client> make_client(const config& c, error_code& ec) {
    ec = {};
    if (c.storage_type == "memory") return any_client(client<memory>());
    if (c.storage_type == "local") {
        if (c.local_storage_path.empty()) {
            ec = errc::invalid_configuration;
            return std::nullopt;
        }
        return any_client(client<local>(local(c.local_storage_path)));
    }
    ec = c.storage_type == "s3" || c.storage_type == "gcs" ? errc::not_supported
                                                           : errc::invalid_configuration;
    return std::nullopt;
}

/// As above; throws storage_error (invalid_configuration_error, not_supported_error).
inline any_client make_client(const config& c = config::from_environment()) {
    error_code ec;
    auto made = make_client(c, ec);
    if (!made) throw_storage_error(ec);
    return std::move(*made);
}

} // namespace cloudstore
