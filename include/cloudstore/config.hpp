// Configuration from the environment, with the first user's variable names (DESIGN.md
// "Conventions of the ecosystem"), and make_client, which builds the client it names.
#pragma once

#include <cloudstore/any_client.hpp>
#include <cloudstore/storage/local.hpp>
#include <cloudstore/storage/memory.hpp>

// The network storages (S3) speak through Beast, which needs exceptions: a build without them,
// or one that defines CLOUDSTORE_NO_NETWORK_STORAGES, has memory and local only, and
// make_client answers not_supported for the others. `config` and make_client change with it:
// every translation unit of a program must see the same choice (the same macro, and
// exceptions on or off alike), as for any inline definition.
#if defined(__cpp_exceptions) && !defined(CLOUDSTORE_NO_NETWORK_STORAGES)
#define CLOUDSTORE_HAS_NETWORK_STORAGES 1
#include <cloudstore/storage/s3.hpp>
#ifndef CLOUDSTORE_FORBID_MIXINS
#include <cloudstore/mixins/retry.hpp>
#endif
#endif

#include <cstdlib>
#include <optional>
#include <string>

namespace cloudstore {

struct config {
    /// STORAGE_TYPE: "local", "memory" or "s3" (gcs joins with its storage).
    std::string storage_type;
    /// LOCAL_STORAGE_PATH: the root folder of local storage.
    std::string local_storage_path;
#ifdef CLOUDSTORE_HAS_NETWORK_STORAGES
    /// S3_BUCKET_NAME, AWS_REGION, the static keys, AWS_ENDPOINT_URL(_S3), ... (see
    /// s3_options::from_environment); a missing bucket or key is reported by make_client.
    s3_options s3;
#endif

    /// The environment's values; unset variables stay empty.
    static config from_environment() {
        const auto get = [](const char* name) {
            const char* v = std::getenv(name);
            return std::string(v != nullptr ? v : "");
        };
        config c;
        c.storage_type = get("STORAGE_TYPE");
        c.local_storage_path = get("LOCAL_STORAGE_PATH");
#ifdef CLOUDSTORE_HAS_NETWORK_STORAGES
        if (c.storage_type == "s3") {
            error_code missing; // make_client says what is missing
            c.s3 = s3_options::from_environment(missing);
        }
#endif
        return c;
    }
};

/// The client `c` names, or nullopt with `ec`: invalid_configuration for an unknown or
/// missing STORAGE_TYPE, a local store without a path or an S3 store without a bucket or
/// keys; not_supported for a storage this build does not have. An S3 client retries
/// transient failures (exponential backoff with jitter) unless mixins are forbidden.
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
#ifdef CLOUDSTORE_HAS_NETWORK_STORAGES
    if (c.storage_type == "s3") {
        if (c.s3.bucket.empty() || c.s3.credentials.access_key_id.empty() ||
            c.s3.credentials.secret_access_key.empty()) {
            ec = errc::invalid_configuration;
            return std::nullopt;
        }
#ifndef CLOUDSTORE_FORBID_MIXINS
        return any_client(client<s3, retry<exponential_backoff>>(s3(c.s3)));
#else
        return any_client(client<s3>(s3(c.s3)));
#endif
    }
#endif
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
