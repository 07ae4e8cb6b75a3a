// Test helper: a request written in raw HTTP form, as the SigV4 suites give them
// (request line, `Name:value` headers with obs-fold continuation lines, blank line, body).
#pragma once

#include <cloudstore/auth/sigv4_canonical.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace cloudstore::test {

struct raw_request {
    std::string method;
    std::string path;  // as on the request line, before '?'
    std::string query; // after '?'
    std::vector<std::pair<std::string, std::string>> headers;
    std::vector<std::pair<std::string, std::string>> params; // decoded query parameters
    std::string body;

    std::string header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (n.size() != name.size()) continue;
            bool same = true;
            for (std::size_t i = 0; i < n.size(); ++i)
                same = same && std::tolower(static_cast<unsigned char>(n[i])) ==
                                   std::tolower(static_cast<unsigned char>(name[i]));
            if (same) return v;
        }
        return {};
    }
    std::vector<auth::name_value> header_views() const {
        std::vector<auth::name_value> out;
        for (const auto& [n, v] : headers)
            out.push_back({n, v});
        return out;
    }
    std::vector<auth::name_value> param_views() const {
        std::vector<auth::name_value> out;
        for (const auto& [n, v] : params)
            out.push_back({n, v});
        return out;
    }
};

inline std::string percent_decode(std::string_view in) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '%' && i + 2 < in.size() + 0 && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

/// Splits `a=1&b=&c` into decoded pairs (`+` stays `+`; a name without `=` has an empty value).
inline std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view part = query.substr(0, amp);
        const auto eq = part.find('=');
        out.emplace_back(percent_decode(part.substr(0, eq)),
                         eq == std::string_view::npos ? "" : percent_decode(part.substr(eq + 1)));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return out;
}

inline raw_request parse_raw_request(std::string_view text) {
    raw_request r;
    auto next_line = [&text]() {
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        return line;
    };
    const std::string_view request_line = next_line();
    const auto first = request_line.find(' ');
    const auto last = request_line.rfind(' ');
    r.method = std::string(request_line.substr(0, first));
    const std::string_view target = request_line.substr(first + 1, last - first - 1);
    const auto q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
    r.params = parse_query(r.query);
    while (!text.empty()) {
        const std::string_view line = next_line();
        if (line.empty()) break;
        if ((line.front() == ' ' || line.front() == '\t') && !r.headers.empty()) {
            const auto start = line.find_first_not_of(" \t");
            r.headers.back().second.append(" ").append(line.substr(start));
            continue;
        }
        const auto colon = line.find(':');
        r.headers.emplace_back(std::string(line.substr(0, colon)),
                               std::string(line.substr(colon + 1)));
    }
    r.body = std::string(text);
    return r;
}

} // namespace cloudstore::test
