// The checksum_algorithm concept: what the checksums<> mixin and the storage policies need of
// an integrity checksum, and the wire encoding they all share.
#pragma once

#include <cloudstore/crypto/base64.hpp>
#include <cloudstore/crypto/bytes.hpp>

#include <array>
#include <concepts>
#include <string>
#include <string_view>

namespace cloudstore {

/// Requirements, for a type C and an lvalue `c` of it:
/// - `C::name`: the algorithm's lowercase name as S3 spells it (`crc32c`, `crc32`,
///   `crc64nvme`, `sha256`, `md5`); the storage policy maps it to its own header.
/// - `C::digest_type`: `std::array<std::byte, N>`, the value's bytes in network order.
/// - `c.update(bytes)`: feeds any number of bytes, noexcept; splitting never changes the result.
/// - `c.finish()`: the digest of everything fed, noexcept; `c` then starts again.
/// - `c.reset()`: discards what was fed, noexcept.
/// - default-constructible (ready to feed) and movable.
/// Models: crc32c, crc32, crc64nvme, sha256, md5.
template <class C>
concept checksum_algorithm = std::default_initializable<C> && std::movable<C> &&
    requires(C& c, crypto::byte_view data) {
    { C::name } -> std::convertible_to<std::string_view>;
    typename C::digest_type;
    requires std::same_as<typename C::digest_type,
                          std::array<std::byte, sizeof(typename C::digest_type)>>;
    { c.update(data) }
    noexcept;
    { c.finish() }
    noexcept->std::same_as<typename C::digest_type>;
    { c.reset() }
    noexcept;
};

/// The wire form of a digest: base64 of its bytes (x-amz-checksum-*, Content-MD5,
/// x-goog-hash).
template <std::size_t N>
std::string to_base64(const std::array<std::byte, N>& digest) {
    return crypto::base64_encode(digest);
}

/// The digest of `data` in one call, for any checksum_algorithm.
template <checksum_algorithm C>
typename C::digest_type checksum_of(crypto::byte_view data) noexcept {
    C c;
    c.update(data);
    return c.finish();
}

} // namespace cloudstore
