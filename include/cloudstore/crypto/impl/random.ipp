#pragma once

#include <cloudstore/crypto/random.hpp>

#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>

namespace cloudstore::crypto {

CLOUDSTORE_DECL void random_bytes(std::span<std::byte> out, error_code& ec) noexcept {
    ec = {};
    while (!out.empty()) {
        const std::size_t n = std::min<std::size_t>(out.size(), INT_MAX);
        if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
            ERR_clear_error();
            ec = errc::crypto_failure;
            return;
        }
        out = out.subspan(n);
    }
}

CLOUDSTORE_DECL void random_bytes(std::span<std::byte> out) {
    error_code ec;
    random_bytes(out, ec);
    if (ec) throw_storage_error(ec);
}

} // namespace cloudstore::crypto
