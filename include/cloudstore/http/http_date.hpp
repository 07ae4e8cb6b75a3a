// Dates as HTTP and S3 write them: the IMF-fixdate of Last-Modified, Date and Retry-After
// ("Sun, 06 Nov 1994 08:49:37 GMT"), and the ISO 8601 form of S3's XML replies
// ("2009-10-12T17:50:30.000Z"). Pure functions; no Asio, no Beast.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace cloudstore::http {

namespace detail {
inline bool digits(std::string_view s, std::int64_t& out) noexcept {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
}
inline std::optional<std::chrono::system_clock::time_point>
civil(std::int64_t year, std::int64_t month, std::int64_t day, std::int64_t hour,
      std::int64_t minute, std::int64_t second) noexcept {
    if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
    const std::chrono::year_month_day date{std::chrono::year{static_cast<int>(year)},
                                           std::chrono::month{static_cast<unsigned>(month)},
                                           std::chrono::day{static_cast<unsigned>(day)}};
    if (!date.ok()) return std::nullopt;
    return std::chrono::sys_days{date} + std::chrono::hours(hour) + std::chrono::minutes(minute) +
           std::chrono::seconds(second);
}
} // namespace detail

/// Parses an IMF-fixdate; nullopt for anything else.
inline std::optional<std::chrono::system_clock::time_point>
parse_http_date(std::string_view value) noexcept {
    if (value.size() != 29 || value[3] != ',' || value[4] != ' ' || value[7] != ' ' ||
        value[11] != ' ' || value[16] != ' ' || value[19] != ':' || value[22] != ':' ||
        value.substr(25) != " GMT")
        return std::nullopt;
    static constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const auto month_at = months.find(value.substr(8, 3));
    std::int64_t day = 0, year = 0, hour = 0, minute = 0, second = 0;
    if (month_at == std::string_view::npos || month_at % 3 != 0 ||
        !detail::digits(value.substr(5, 2), day) || !detail::digits(value.substr(12, 4), year) ||
        !detail::digits(value.substr(17, 2), hour) ||
        !detail::digits(value.substr(20, 2), minute) ||
        !detail::digits(value.substr(23, 2), second))
        return std::nullopt;
    return detail::civil(year, std::int64_t(month_at / 3 + 1), day, hour, minute, second);
}

/// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z"; nullopt for anything else. Fractions are dropped.
inline std::optional<std::chrono::system_clock::time_point>
parse_iso8601(std::string_view value) noexcept {
    if (value.size() < 20 || value[4] != '-' || value[7] != '-' || value[10] != 'T' ||
        value[13] != ':' || value[16] != ':' || value.back() != 'Z')
        return std::nullopt;
    std::int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!detail::digits(value.substr(0, 4), year) || !detail::digits(value.substr(5, 2), month) ||
        !detail::digits(value.substr(8, 2), day) || !detail::digits(value.substr(11, 2), hour) ||
        !detail::digits(value.substr(14, 2), minute) ||
        !detail::digits(value.substr(17, 2), second))
        return std::nullopt;
    const auto rest = value.substr(19, value.size() - 20);
    if (!rest.empty()) {
        std::int64_t unused = 0;
        if (rest.front() != '.' || !detail::digits(rest.substr(1), unused)) return std::nullopt;
    }
    return detail::civil(year, month, day, hour, minute, second);
}

/// `t` as an HTTP date (IMF-fixdate, RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
inline std::string format_http_date(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    static constexpr const char* names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> time{floor<seconds>(t - day)};
    char out[40];
    const int n = std::snprintf(
        out, sizeof out, "%s, %02u %s %04d %02d:%02d:%02d GMT", names[weekday{day}.c_encoding()],
        unsigned(ymd.day()), months[unsigned(ymd.month()) - 1], int(ymd.year()),
        int(time.hours().count()), int(time.minutes().count()), int(time.seconds().count()));
    return std::string(out, static_cast<std::size_t>(n));
}

/// A Retry-After value: seconds, or an IMF-fixdate (a date already past is 0). nullopt for
/// anything else.
inline std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    if (value.front() >= '0' && value.front() <= '9') {
        std::int64_t seconds = 0;
        if (!detail::digits(value, seconds) || seconds > 86'400 * 365) return std::nullopt;
        return std::chrono::seconds(seconds);
    }
    const auto when = parse_http_date(value);
    if (!when) return std::nullopt;
    if (*when <= now) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(*when - now);
}

} // namespace cloudstore::http
