// A signing time as SigV4 and GCS V4 write it: ISO 8601 basic format in UTC,
// "YYYYMMDDTHHMMSSZ", and its date part "YYYYMMDD" for the credential scope.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cloudstore::auth {

class amz_date {
public:
    /// The time `t`, truncated to whole seconds, in UTC.
    static amz_date from(std::chrono::system_clock::time_point t) noexcept {
        const auto seconds = std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
        std::int64_t days = seconds / 86400;
        std::int64_t rest = seconds % 86400;
        if (rest < 0) {
            rest += 86400;
            --days;
        }
        // Civil date from days since 1970-01-01 (proleptic Gregorian; eras of 400 years).
        const std::int64_t z = days + 719468;
        const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        const std::int64_t doe = z - era * 146097;
        const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        const std::int64_t mp = (5 * doy + 2) / 153;
        const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
        const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
        const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
        amz_date d;
        put(d.text_, 0, year, 4);
        put(d.text_, 4, month, 2);
        put(d.text_, 6, day, 2);
        d.text_[8] = 'T';
        put(d.text_, 9, rest / 3600, 2);
        put(d.text_, 11, rest / 60 % 60, 2);
        put(d.text_, 13, rest % 60, 2);
        d.text_[15] = 'Z';
        return d;
    }

    /// Parses "YYYYMMDDTHHMMSSZ"; nullopt for anything else, impossible dates and times
    /// included (month 13, February 30, hour 24, second 60).
    static std::optional<amz_date> parse(std::string_view text) noexcept {
        if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
        amz_date d;
        for (std::size_t i = 0; i < 16; ++i) {
            if (i != 8 && i != 15 && (text[i] < '0' || text[i] > '9')) return std::nullopt;
            d.text_[i] = text[i];
        }
        const auto num = [&](std::size_t at, std::size_t n) {
            int v = 0;
            for (std::size_t i = at; i < at + n; ++i)
                v = v * 10 + (text[i] - '0');
            return v;
        };
        const int year = num(0, 4), month = num(4, 2), day = num(6, 2);
        const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (month < 1 || month > 12 || day < 1 ||
            day > days[month - 1] + (month == 2 && leap ? 1 : 0) || num(9, 2) > 23 ||
            num(11, 2) > 59 || num(13, 2) > 59)
            return std::nullopt;
        return d;
    }

    /// "YYYYMMDDTHHMMSSZ": the X-Amz-Date value.
    std::string_view iso() const noexcept { return {text_, 16}; }
    /// "YYYYMMDD": the credential scope's date.
    std::string_view date() const noexcept { return {text_, 8}; }

private:
    static void put(char* out, std::size_t at, std::int64_t v, int digits) noexcept {
        for (int i = digits - 1; i >= 0; --i, v /= 10)
            out[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
    }
    char text_[16] = {};
};

} // namespace cloudstore::auth
