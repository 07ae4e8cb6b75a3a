#ifdef CLOUDSTORE_FORBID_MIXINS
#error "<cloudstore/mixins/impl/retry.hpp>: this build forbids mixins (CLOUDSTORE_FORBID_MIXINS)"
#endif
#pragma once

#include <cloudstore/mixins/retry.hpp>

#include <charconv>
#include <cstdint>
#include <string_view>

namespace cloudstore {

// Inline, not in an .ipp: mixins are code only the clients that use them compile.
inline std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    const auto number = [](std::string_view s, std::int64_t& out) {
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
    };
    std::int64_t seconds = 0;
    if (value.front() >= '0' && value.front() <= '9') {
        if (!number(value, seconds) || seconds > 86'400 * 365) return std::nullopt;
        return std::chrono::seconds(seconds);
    }
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters).
    if (value.size() != 29 || value[3] != ',' || value[4] != ' ' || value[7] != ' ' ||
        value[11] != ' ' || value[16] != ' ' || value[19] != ':' || value[22] != ':' ||
        value.substr(25) != " GMT")
        return std::nullopt;
    static constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const auto month_at = months.find(value.substr(8, 3));
    std::int64_t day = 0, year = 0, hour = 0, minute = 0, second = 0;
    if (month_at == std::string_view::npos || month_at % 3 != 0 ||
        !number(value.substr(5, 2), day) || !number(value.substr(12, 4), year) ||
        !number(value.substr(17, 2), hour) || !number(value.substr(20, 2), minute) ||
        !number(value.substr(23, 2), second) || hour > 23 || minute > 59 || second > 60)
        return std::nullopt;
    const std::chrono::year_month_day date{
        std::chrono::year{static_cast<int>(year)},
        std::chrono::month{static_cast<unsigned>(month_at / 3 + 1)},
        std::chrono::day{static_cast<unsigned>(day)}};
    if (!date.ok()) return std::nullopt;
    const auto when = std::chrono::sys_days{date} + std::chrono::hours(hour) +
                      std::chrono::minutes(minute) + std::chrono::seconds(second);
    if (when <= now) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
}

} // namespace cloudstore
