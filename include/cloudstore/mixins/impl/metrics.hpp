#ifdef CLOUDSTORE_FORBID_MIXINS
#error "<cloudstore/mixins/impl/metrics.hpp>: this build forbids mixins (CLOUDSTORE_FORBID_MIXINS)"
#endif
#pragma once

#include <cloudstore/mixins/metrics.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace cloudstore {

// Inline, not in an .ipp: mixins are code only the clients that use them compile.

namespace metrics_detail {

// The statuses table names the conditions in the enum's order; one appended to `condition`
// needs its name there too (until then its failures count as "error").
static_assert(static_cast<std::size_t>(condition::not_found) == 1);
static_assert(static_cast<std::size_t>(condition::too_large) ==
              prometheus_registry::statuses.size() - 2);

// The upper bounds of the histogram buckets, in nanoseconds (bucket_bounds as numbers).
inline constexpr std::array<std::uint64_t, prometheus_registry::bucket_bounds.size()>
    bucket_bounds_ns = {100'000'000,   500'000'000,    1'000'000'000, 2'000'000'000,
                        5'000'000'000, 10'000'000'000, 30'000'000'000};

inline void append_number(std::string& out, std::uint64_t value) {
    char buffer[24];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    (void)ec; // 24 characters hold every uint64
    out.append(buffer, end);
}

// Nanoseconds as decimal seconds, exact: "0.000012345", "2.5", "3".
inline void append_seconds(std::string& out, std::uint64_t ns) {
    append_number(out, ns / 1'000'000'000);
    std::uint64_t fraction = ns % 1'000'000'000;
    if (fraction == 0) return;
    char digits[9];
    for (int i = 8; i >= 0; --i) {
        digits[i] = static_cast<char>('0' + fraction % 10);
        fraction /= 10;
    }
    std::size_t n = 9;
    while (digits[n - 1] == '0')
        --n;
    out += '.';
    out.append(digits, n);
}

// A label value as the text format wants it: backslash, double quote and newline escaped.
inline void append_label_value(std::string& out, std::string_view value) {
    for (const char c : value) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out += c;
        }
    }
}

struct label {
    std::string_view name;
    std::string_view value;
};

// name{a="x",b="y"} and the space before the value.
template <std::size_t N>
void append_series(std::string& out, std::string_view name, const std::array<label, N>& labels) {
    out += name;
    if constexpr (N > 0) {
        out += '{';
        for (std::size_t i = 0; i < N; ++i) {
            if (i > 0) out += ',';
            out += labels[i].name;
            out += "=\"";
            append_label_value(out, labels[i].value);
            out += '"';
        }
        out += '}';
    }
    out += ' ';
}

// name{a="x",b="y"} value
template <std::size_t N>
void append_sample(std::string& out, std::string_view name, const std::array<label, N>& labels,
                   std::uint64_t value) {
    append_series(out, name, labels);
    append_number(out, value);
    out += '\n';
}

// "# HELP" (backslash and newline escaped) and "# TYPE" lines.
inline void append_header(std::string& out, std::string_view name, std::string_view help,
                          std::string_view type) {
    out += "# HELP ";
    out += name;
    out += ' ';
    for (const char c : help) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

} // namespace metrics_detail

inline std::size_t prometheus_registry::operation_index(std::string_view operation) noexcept {
    for (std::size_t i = 0; i + 1 < n_operations; ++i)
        if (operations[i] == operation) return i;
    return n_operations - 1;
}

inline std::size_t prometheus_registry::storage_type_index(std::string_view storage_type) noexcept {
    for (std::size_t i = 0; i + 1 < n_storage_types; ++i)
        if (storage_types[i] == storage_type) return i;
    return n_storage_types - 1;
}

inline std::size_t prometheus_registry::status_index(const error_code& ec) noexcept {
    if (!ec) return 0;
    const auto c = condition_of(ec);
    if (!c) return n_statuses - 1;
    const auto value = static_cast<std::size_t>(*c);
    return value >= 1 && value < n_statuses - 1 ? value : n_statuses - 1;
}

inline void prometheus_registry::histogram::observe(core::clock::duration d) noexcept {
    const auto count = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    const std::uint64_t ns = count < 0 ? 0 : static_cast<std::uint64_t>(count);
    std::size_t bucket = 0;
    while (bucket < metrics_detail::bucket_bounds_ns.size() &&
           ns > metrics_detail::bucket_bounds_ns[bucket])
        ++bucket;
    buckets[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_ns.fetch_add(ns, std::memory_order_relaxed);
}

inline std::uint64_t prometheus_registry::histogram::count() const noexcept {
    std::uint64_t total = 0;
    for (const auto& b : buckets)
        total += b.load(std::memory_order_relaxed);
    return total;
}

inline void prometheus_registry::record_operation(const core::operation_context& op,
                                                  const error_code& ec,
                                                  core::clock::duration d) noexcept {
    const std::size_t o = operation_index(op.operation);
    const std::size_t s = storage_type_index(op.storage_type);
    operations_[slot(o, s, status_index(ec))].fetch_add(1, std::memory_order_relaxed);
    operation_durations_[slot(o, s)].observe(d);
}

inline void prometheus_registry::record_attempt(const core::attempt_context& a,
                                                core::clock::duration d) noexcept {
    const std::size_t o = operation_index(a.operation.operation);
    const std::size_t s = storage_type_index(a.operation.storage_type);
    const error_code& ec = a.error();
    attempts_[slot(o, s, status_index(ec))].fetch_add(1, std::memory_order_relaxed);
    attempt_durations_[slot(o, s)].observe(d);
    if (!ec && o == put_index && a.bytes_sent != 0)
        stored_bytes_[s].fetch_add(a.bytes_sent, std::memory_order_relaxed);
}

inline bool prometheus_registry::storage_type_seen(std::size_t st) const noexcept {
    for (std::size_t o = 0; o < n_operations; ++o)
        if (operation_durations_[slot(o, st)].count() != 0 ||
            attempt_durations_[slot(o, st)].count() != 0)
            return true;
    return false;
}

inline void prometheus_registry::render_counter(
    std::string& out, std::string_view name, std::string_view help,
    const std::array<counter, n_operations * n_storage_types * n_statuses>& values) const {
    bool header = false;
    for (std::size_t o = 0; o < n_operations; ++o)
        for (std::size_t s = 0; s < n_storage_types; ++s)
            for (std::size_t st = 0; st < n_statuses; ++st) {
                const std::uint64_t v = values[slot(o, s, st)].load(std::memory_order_relaxed);
                if (v == 0) continue;
                if (!header) metrics_detail::append_header(out, name, help, "counter");
                header = true;
                metrics_detail::append_sample(out, name,
                                              std::array<metrics_detail::label, 3>{{
                                                  {"operation", operations[o]},
                                                  {"storage_type", storage_types[s]},
                                                  {"status", statuses[st]},
                                              }},
                                              v);
            }
}

inline void prometheus_registry::render_histogram(
    std::string& out, std::string_view name, std::string_view help,
    const std::array<histogram, n_operations * n_storage_types>& values) const {
    const std::string bucket_name = std::string(name) + "_bucket";
    const std::string sum_name = std::string(name) + "_sum";
    const std::string count_name = std::string(name) + "_count";
    bool header = false;
    for (std::size_t o = 0; o < n_operations; ++o)
        for (std::size_t s = 0; s < n_storage_types; ++s) {
            const histogram& h = values[slot(o, s)];
            // Read each bucket once, so the cumulative counts, +Inf and _count agree even while
            // other threads record.
            std::array<std::uint64_t, n_buckets> counts{};
            std::uint64_t total = 0;
            for (std::size_t b = 0; b < n_buckets; ++b) {
                counts[b] = h.buckets[b].load(std::memory_order_relaxed);
                total += counts[b];
            }
            if (total == 0) continue;
            if (!header) metrics_detail::append_header(out, name, help, "histogram");
            header = true;
            std::uint64_t cumulative = 0;
            for (std::size_t b = 0; b < n_buckets; ++b) {
                cumulative += counts[b];
                const std::string_view le = b < bucket_bounds.size() ? bucket_bounds[b] : "+Inf";
                metrics_detail::append_sample(out, bucket_name,
                                              std::array<metrics_detail::label, 3>{{
                                                  {"operation", operations[o]},
                                                  {"storage_type", storage_types[s]},
                                                  {"le", le},
                                              }},
                                              cumulative);
            }
            const std::array<metrics_detail::label, 2> labels{{
                {"operation", operations[o]},
                {"storage_type", storage_types[s]},
            }};
            // The sum in seconds, exact from the integer nanoseconds.
            metrics_detail::append_series(out, sum_name, labels);
            metrics_detail::append_seconds(out, h.sum_ns.load(std::memory_order_relaxed));
            out += '\n';
            metrics_detail::append_sample(out, count_name, labels, total);
        }
}

inline std::string prometheus_registry::exposition() const {
    std::string out;
    render_counter(out, "storage_operations_total",
                   "Logical storage operations (one per call, however many requests it made), "
                   "by outcome: success, the failure's condition, or error.",
                   operations_);
    render_histogram(out, "storage_operation_duration_seconds",
                     "Duration of logical storage operations, retries and their waits included.",
                     operation_durations_);
    bool header = false;
    for (std::size_t s = 0; s < n_storage_types; ++s) {
        if (!storage_type_seen(s)) continue;
        if (!header)
            metrics_detail::append_header(out, "storage_size_bytes",
                                          "Bytes of object data written by successful put "
                                          "requests since the process started.",
                                          "gauge");
        header = true;
        metrics_detail::append_sample(
            out, "storage_size_bytes",
            std::array<metrics_detail::label, 1>{{{"storage_type", storage_types[s]}}},
            stored_bytes_[s].load(std::memory_order_relaxed));
    }
    render_counter(out, "storage_attempts_total",
                   "Attempts of storage requests (each retry counted), by outcome: success, the "
                   "failure's condition, or error.",
                   attempts_);
    render_histogram(out, "storage_attempt_duration_seconds",
                     "Duration of single attempts of storage requests.", attempt_durations_);
    return out;
}

} // namespace cloudstore
