// Bodies that cannot be read twice, for the S3 tests: `data` handed out in pieces, of known
// length (aws-chunked territory) or unknown length (multipart, a part at a time).
#pragma once

#include <cloudstore/http/body.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace cloudstore::test {

/// `data` (which must outlive the source) in pieces of at most `piece` bytes; uneven pieces
/// make parts and chunks end inside a piece.
inline http::generator_source stream_of(const std::string& data, std::size_t piece,
                                        bool known_length) {
    auto at = std::make_shared<std::size_t>(0);
    return http::generator_source(
        [&data, piece, at](std::span<std::byte> out, error_code&) {
            const std::size_t n = std::min({out.size(), data.size() - *at, piece});
            std::memcpy(out.data(), data.data() + *at, n);
            *at += n;
            return n;
        },
        known_length ? std::optional<std::uint64_t>(data.size()) : std::nullopt);
}

} // namespace cloudstore::test
