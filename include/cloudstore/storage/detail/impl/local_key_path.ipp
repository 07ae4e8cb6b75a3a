#pragma once

#include <cloudstore/storage/detail/local_key_path.hpp>

namespace cloudstore::storage::detail {

namespace local_path_detail {

inline bool must_escape(unsigned char byte, bool first) noexcept {
    return byte == '%' || byte < 0x20 || byte == 0x7f || (first && byte == '.');
}

inline int hex_digit(char ch) noexcept {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1; // lower case is never written, so never read
}

// Appends the names of one segment, the last one ending in `last_marker`.
inline void append_segment(std::string& out, std::string_view segment, char last_marker) {
    constexpr char hex[] = "0123456789ABCDEF";
    std::size_t piece = 0; // bytes of the current name so far, marker excluded
    for (std::size_t i = 0; i < segment.size(); ++i) {
        const char ch = segment[i];
        const auto byte = static_cast<unsigned char>(ch);
        const bool escape = must_escape(byte, piece == 0);
        const std::size_t width = escape ? 3 : 1;
        if (piece + width > max_piece) {
            out += "%c/";
            // A '.' that now begins a name is escaped like any other first '.'.
            return append_segment(out, segment.substr(i), last_marker);
        }
        if (escape) {
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0xf];
        } else {
            out += ch;
        }
        piece += width;
    }
    out += '%';
    out += last_marker;
}

} // namespace local_path_detail

CLOUDSTORE_DECL std::string local_object_path(std::string_view key) {
    std::string out;
    if (key.empty()) return out;
    out.reserve(key.size() + key.size() / 4 + 16);
    while (true) {
        const auto slash = key.find('/');
        if (slash == std::string_view::npos) {
            local_path_detail::append_segment(out, key, 'o');
            return out;
        }
        local_path_detail::append_segment(out, key.substr(0, slash), 'd');
        out += '/';
        key.remove_prefix(slash + 1);
    }
}

CLOUDSTORE_DECL local_name_kind local_kind_of(std::string_view name) noexcept {
    // A temporary: `<piece>%t` and 16 lower-case hex digits.
    if (name.size() >= 18 && name.substr(name.size() - 18, 2) == "%t") {
        for (const char ch : name.substr(name.size() - 16))
            if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
                return local_name_kind::foreign;
        return local_name_kind::temporary;
    }
    if (name.size() < 2 || name[name.size() - 2] != '%') return local_name_kind::foreign;
    switch (name.back()) {
    case 'd':
        return local_name_kind::folder;
    case 'c':
        return local_name_kind::continuation;
    case 'o':
        return local_name_kind::object;
    case 'm':
        return local_name_kind::metadata;
    default:
        return local_name_kind::foreign;
    }
}

CLOUDSTORE_DECL std::optional<std::string> local_unescape_name(std::string_view name) {
    const auto kind = local_kind_of(name);
    if (kind == local_name_kind::foreign) return std::nullopt;
    name.remove_suffix(kind == local_name_kind::temporary ? 18 : 2);
    std::string out;
    out.reserve(name.size());
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] != '%') {
            out += name[i];
            continue;
        }
        const int hi = i + 2 < name.size() ? local_path_detail::hex_digit(name[i + 1]) : -1;
        const int lo = hi >= 0 ? local_path_detail::hex_digit(name[i + 2]) : -1;
        if (lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

namespace local_path_detail {
inline std::optional<std::string> key_of_any_spelling(std::string_view relative_path) {
    if (relative_path.empty()) return std::nullopt;
    std::string key;
    while (!relative_path.empty()) {
        const auto slash = relative_path.find('/');
        const auto name = relative_path.substr(0, slash);
        const bool last = slash == std::string_view::npos;
        const auto kind = local_kind_of(name);
        // Only the last name is an object; every one before it a folder or continuation.
        if (last != (kind == local_name_kind::object)) return std::nullopt;
        if (!last && kind != local_name_kind::folder && kind != local_name_kind::continuation)
            return std::nullopt;
        auto piece = local_unescape_name(name);
        if (!piece) return std::nullopt;
        key += *piece;
        if (kind == local_name_kind::folder) key += '/';
        if (last) break;
        relative_path.remove_prefix(slash + 1);
    }
    return key;
}
} // namespace local_path_detail

CLOUDSTORE_DECL std::optional<std::string> local_key_of(std::string_view relative_path) {
    // Only the one path local_object_path writes for a key names it: a foreign file spelled
    // differently (`.a%o` for `%2Ea%o`) must not list as a second copy of the same key.
    auto key = local_path_detail::key_of_any_spelling(relative_path);
    if (!key || local_object_path(*key) != relative_path) return std::nullopt;
    return key;
}

} // namespace cloudstore::storage::detail
