// Byte views: cloudstore's crypto and checksum functions take std::span<const std::byte>;
// these helpers let text pass without copies (std::as_bytes serves other spans).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace cloudstore::crypto {

/// A read-only view of bytes. Never owns; the viewed storage must outlive it.
using byte_view = std::span<const std::byte>;

/// The bytes of `text` (no terminating NUL). Lifetime: that of `text`'s storage.
inline byte_view as_bytes(std::string_view text) noexcept {
    return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

/// `bytes` seen as text, for printing and comparisons in tests.
inline std::string_view as_text(byte_view bytes) noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

} // namespace cloudstore::crypto
