#pragma once

#include <cloudstore/auth/detail/ascii.hpp>
#include <cloudstore/auth/sigv4_canonical.hpp>

#include <algorithm>
#include <vector>

namespace cloudstore::auth {

namespace detail {

// Scratch space reused by each thread: canonicalising allocates nothing once warm.
struct canonical_scratch {
    struct entry {
        std::size_t name_at, name_size, value_at, value_size, order;
    };
    std::string arena;
    std::vector<entry> entries;
    std::string_view name(const entry& e) const noexcept {
        return std::string_view(arena).substr(e.name_at, e.name_size);
    }
    std::string_view value(const entry& e) const noexcept {
        return std::string_view(arena).substr(e.value_at, e.value_size);
    }
    void reset() {
        arena.clear();
        entries.clear();
    }
    // Sorts the entries by name; equal names by value (a query) or as given (headers). One
    // sort serves both: each comparator type would compile a sort of its own.
    void sort(bool then_by_value) {
        std::sort(entries.begin(), entries.end(),
                  [this, then_by_value](const entry& a, const entry& b) {
                      const int by_name = name(a).compare(name(b));
                      if (by_name != 0) return by_name < 0;
                      return then_by_value ? value(a) < value(b) : a.order < b.order;
                  });
    }
};

inline canonical_scratch& scratch() {
    thread_local canonical_scratch s;
    return s;
}

// Appends `value` trimmed, with inner runs of blanks collapsed to one space. Values that need
// no collapsing (nearly all) are copied in one piece.
inline void append_trimmed(std::string& out, std::string_view value) {
    std::size_t i = 0;
    std::size_t n = value.size();
    while (i < n && is_blank(value[i]))
        ++i;
    while (n > i && is_blank(value[n - 1]))
        --n;
    value = value.substr(i, n - i);
    bool plain = true;
    for (std::size_t k = 0; k < value.size() && plain; ++k)
        plain = (value[k] == ' ' || !is_blank(value[k])) &&
                !(value[k] == ' ' && is_blank(value[k + 1]));
    if (plain) {
        out.append(value);
        return;
    }
    bool in_blank = false;
    for (const char c : value) {
        if (is_blank(c)) {
            in_blank = true;
            continue;
        }
        if (in_blank) out.push_back(' ');
        in_blank = false;
        out.push_back(c);
    }
}

// Appends `name` in lowercase.
inline void append_lower(std::string& out, std::string_view name) {
    const std::size_t at = out.size();
    out.resize(at + name.size());
    char* p = out.data() + at;
    for (const char c : name)
        *p++ = lower(c);
}

} // namespace detail

CLOUDSTORE_DECL void uri_encode(std::string& out, std::string_view in, bool keep_slash) {
    constexpr char hex[] = "0123456789ABCDEF";
    for (const char ch : in) {
        const auto c = static_cast<unsigned char>(ch);
        if (detail::is_unreserved(c) || (keep_slash && c == '/')) {
            out.push_back(ch);
        } else {
            const char escaped[3] = {'%', hex[c >> 4], hex[c & 0xf]};
            out.append(escaped, 3);
        }
    }
}

CLOUDSTORE_DECL std::string uri_encode(std::string_view in, bool keep_slash) {
    std::string out;
    out.reserve(in.size() + in.size() / 2);
    uri_encode(out, in, keep_slash);
    return out;
}

CLOUDSTORE_DECL std::string normalize_path(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t at = 0;
    while (at <= path.size()) {
        const std::size_t slash = std::min(path.find('/', at), path.size());
        const std::string_view segment = path.substr(at, slash - at);
        if (segment == "..") {
            if (!segments.empty()) segments.pop_back();
        } else if (!segment.empty() && segment != ".") {
            segments.push_back(segment);
        }
        at = slash + 1;
    }
    std::string out;
    if (!path.empty() && path.front() == '/') out.push_back('/');
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (i != 0) out.push_back('/');
        out.append(segments[i]);
    }
    if (!path.empty() && path.back() == '/' && !segments.empty()) out.push_back('/');
    return out;
}

CLOUDSTORE_DECL void append_canonical_uri(std::string& out, std::string_view path, uri_mode mode) {
    if (path.empty()) {
        out.push_back('/');
        return;
    }
    if (mode == uri_mode::s3) {
        out.append(path);
        return;
    }
    if (mode == uri_mode::double_encoded) {
        uri_encode(out, path, true);
        return;
    }
    const std::string normalized = normalize_path(path);
    if (normalized.empty()) out.push_back('/');
    uri_encode(out, normalized, true);
}

CLOUDSTORE_DECL void append_canonical_query(std::string& out, std::span<const name_value> params) {
    if (params.empty()) return;
    auto& s = detail::scratch();
    s.reset();
    for (std::size_t i = 0; i < params.size(); ++i) {
        const std::size_t name_at = s.arena.size();
        uri_encode(s.arena, params[i].name, false);
        const std::size_t value_at = s.arena.size();
        uri_encode(s.arena, params[i].value, false);
        s.entries.push_back({name_at, value_at - name_at, value_at, s.arena.size() - value_at, i});
    }
    s.sort(true);
    bool first = true;
    for (const auto& e : s.entries) {
        if (!first) out.push_back('&');
        first = false;
        out.append(s.name(e));
        out.push_back('=');
        out.append(s.value(e));
    }
}

CLOUDSTORE_DECL void append_canonical_headers(std::string& out, std::string& signed_headers,
                                              std::span<const name_value> headers) {
    auto& s = detail::scratch();
    s.reset();
    for (std::size_t i = 0; i < headers.size(); ++i) {
        const std::size_t name_at = s.arena.size();
        for (const char c : headers[i].name)
            s.arena.push_back(detail::lower(c));
        const std::size_t value_at = s.arena.size();
        detail::append_trimmed(s.arena, headers[i].value);
        s.entries.push_back({name_at, value_at - name_at, value_at, s.arena.size() - value_at, i});
    }
    // Sorted by name; repeated names keep the order they were given in.
    s.sort(false);
    const std::size_t signed_start = signed_headers.size();
    for (std::size_t i = 0; i < s.entries.size(); ++i) {
        const auto& e = s.entries[i];
        if (i != 0 && s.name(e) == s.name(s.entries[i - 1])) {
            out.push_back(',');
        } else {
            if (i != 0) out.push_back('\n');
            out.append(s.name(e));
            out.push_back(':');
            if (signed_headers.size() != signed_start) signed_headers.push_back(';');
            signed_headers.append(s.name(e));
        }
        out.append(s.value(e));
    }
    if (!s.entries.empty()) out.push_back('\n');
    out.push_back('\n');
    out.append(signed_headers, signed_start, std::string::npos);
}

} // namespace cloudstore::auth
