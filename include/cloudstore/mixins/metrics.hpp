#ifdef CLOUDSTORE_FORBID_MIXINS
#error "<cloudstore/mixins/metrics.hpp>: this build forbids mixins (CLOUDSTORE_FORBID_MIXINS)"
#endif
// The metrics mixin: `metrics<Sink>` tells its sink how each logical operation ended (one call,
// however many steps and attempts it took) and how each attempt of each step ended. Two sinks
// come with it: `prometheus_registry` (the first user's metric names, rendered in the
// Prometheus text format, lock-free on the hot path) and `metrics_callback` (two functions of
// the user's). `no_metrics` records nothing and costs nothing.
//
//   cloudstore::prometheus_registry registry;   // shared: it outlives the clients using it
//   cloudstore::client<cloudstore::s3, cloudstore::metrics<cloudstore::prometheus_registry>>
//       c(s3{...}, cloudstore::metrics(registry));
//   ... serve registry.exposition() on /metrics ...
//
// Labels come only from fixed sets (operation names, storage types, condition names): never
// from keys, buckets, URLs or provider messages, so no secret can reach a label and the number
// of series stays bounded.
#pragma once

#include <cloudstore/core/operation.hpp>
#include <cloudstore/error.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace cloudstore {

/// A metrics sink: what the `metrics` mixin reports to.
///   s.record_operation(op, ec, duration)  // one logical operation ended with `ec` (empty:
///                                         // success) after `duration` (waits included)
///   s.record_attempt(attempt, duration)   // one attempt of one step ended (its outcome in
///                                         // attempt.error()) after `duration`
/// Both may be called from several threads at once when the client is. `no_metrics` is the
/// minimal model.
template <class S>
concept metrics_sink = requires(S& s, const core::operation_context& op, const error_code& ec,
                                const core::attempt_context& a, core::clock::duration d) {
    s.record_operation(op, ec, d);
    s.record_attempt(a, d);
};

/// The null sink: an empty type; `metrics<no_metrics>` is empty too and has no hooks, so a
/// client holding it is the size of one without it and runs no metrics code.
struct no_metrics {
    void record_operation(const core::operation_context&, const error_code&,
                          core::clock::duration) const noexcept {}
    void record_attempt(const core::attempt_context&, core::clock::duration) const noexcept {}
};

/// The mixin: `client<memory, metrics<prometheus_registry>>`. It holds a pointer to its sink,
/// so it is cheap to copy and every copy of a client reports to the same sink, which must
/// outlive them. A default-constructed `metrics` (null sink) records nothing.
template <metrics_sink Sink>
struct metrics {
    Sink* sink = nullptr;

    metrics() = default;
    explicit metrics(Sink& s) noexcept
        : sink(&s) {}

    void operation_end(core::operation_context& op, const error_code& ec) {
        if (sink != nullptr) sink->record_operation(op, ec, between(op.started, op.finished));
    }
    std::optional<std::chrono::milliseconds> attempt_end(core::attempt_context& a) {
        if (sink != nullptr) sink->record_attempt(a, between(a.started, a.finished));
        return std::nullopt; // never asks for a retry
    }

private:
    // The driver's own clock reads: the hooks read no clock of their own.
    static core::clock::duration between(core::clock::time_point start,
                                         core::clock::time_point end) noexcept {
        const auto d = end - start;
        return d < core::clock::duration::zero() ? core::clock::duration::zero() : d;
    }
};

/// Nothing to record: no pointer, no hooks.
template <>
struct metrics<no_metrics> {
    metrics() = default;
    explicit metrics(no_metrics&) noexcept {}
};

/// The metrics of DESIGN.md "The first user", in the Prometheus text format (version 0.0.4):
///
///   storage_operations_total{operation,storage_type,status}          counter
///       logical operations (one per call: a multipart upload counts once)
///   storage_operation_duration_seconds{operation,storage_type}       histogram
///       their duration, retries and waits included; buckets 0.1 0.5 1 2 5 10 30 +Inf
///   storage_size_bytes{storage_type}                                  gauge
///       bytes of object data written: the bytes sent by the successful attempts of "put"
///       operations since the process started. A gauge, not a counter, because the dashboards
///       name it without `_total` (which Prometheus requires of a counter); it never decreases
///       (a delete does not know the size it frees).
///   storage_attempts_total{operation,storage_type,status}            counter
///       attempts of steps (requests, file operations), each retry counted
///   storage_attempt_duration_seconds{operation,storage_type}         histogram
///       the duration of each attempt; same buckets
///
/// Label values come from fixed sets, so the series are bounded and preallocated:
///   operation:    put get head delete batch_delete copy list, else "other"
///   storage_type: memory local s3 gcs, else "other"
///   status:       "success", the failure's condition name ("not_found", "throttled", ...: the
///                 names of `cloudstore::condition`), or "error" for a code with no condition
///
/// Recording never locks and never allocates: one relaxed atomic add per counter, found by an
/// index computed from the label values. Durations are summed as integer nanoseconds.
/// `exposition()` renders only the series recorded at least once, in a fixed order.
/// Not copyable; about 20 KiB, so keep one per process (static or on the heap).
class prometheus_registry {
public:
    static constexpr std::array<std::string_view, 8> operations = {
        "put", "get", "head", "delete", "batch_delete", "copy", "list", "other"};
    static constexpr std::array<std::string_view, 5> storage_types = {"memory", "local", "s3",
                                                                      "gcs", "other"};
    /// "success", then one per `condition` (in the enum's order, value 1 first), then "error".
    static constexpr std::array<std::string_view, 22> statuses = {"success",
                                                                  "not_found",
                                                                  "already_exists",
                                                                  "not_modified",
                                                                  "precondition_failed",
                                                                  "range_not_satisfiable",
                                                                  "unauthenticated",
                                                                  "permission_denied",
                                                                  "quota_exceeded",
                                                                  "conflict",
                                                                  "throttled",
                                                                  "server_error",
                                                                  "network_error",
                                                                  "tls_error",
                                                                  "timeout",
                                                                  "cancelled",
                                                                  "not_supported",
                                                                  "invalid_argument",
                                                                  "invalid_configuration",
                                                                  "checksum_mismatch",
                                                                  "too_large",
                                                                  "error"};
    /// The histograms' upper bounds, as rendered in `le` (the last bucket, +Inf, is implied).
    static constexpr std::array<std::string_view, 7> bucket_bounds = {"0.1", "0.5", "1", "2",
                                                                      "5",   "10",  "30"};

    prometheus_registry() = default;
    prometheus_registry(const prometheus_registry&) = delete;
    prometheus_registry& operator=(const prometheus_registry&) = delete;

    // The sink (metrics_sink).
    void record_operation(const core::operation_context& op, const error_code& ec,
                          core::clock::duration d) noexcept;
    void record_attempt(const core::attempt_context& a, core::clock::duration d) noexcept;

    /// Every recorded series in the Prometheus text format: HELP and TYPE lines, then the
    /// samples; families and series in a fixed order. Empty when nothing was recorded.
    std::string exposition() const;

    /// The index of a label value in its set (unknown values: "other"); the status of a code.
    static std::size_t operation_index(std::string_view operation) noexcept;
    static std::size_t storage_type_index(std::string_view storage_type) noexcept;
    static std::size_t status_index(const error_code& ec) noexcept;

private:
    static constexpr std::size_t n_operations = operations.size();
    static constexpr std::size_t n_storage_types = storage_types.size();
    static constexpr std::size_t n_statuses = statuses.size();
    static constexpr std::size_t n_buckets = bucket_bounds.size() + 1; // with +Inf
    static constexpr std::size_t put_index = 0;
    static_assert(operations[put_index] == "put");

    using counter = std::atomic<std::uint64_t>;

    struct histogram {
        /// Per bucket, not cumulative (one add per observation); the last is above 30 s.
        std::array<counter, n_buckets> buckets{};
        counter sum_ns{0};
        void observe(core::clock::duration d) noexcept;
        std::uint64_t count() const noexcept;
    };

    static constexpr std::size_t slot(std::size_t op, std::size_t st) noexcept {
        return op * n_storage_types + st;
    }
    static constexpr std::size_t slot(std::size_t op, std::size_t st, std::size_t status) noexcept {
        return slot(op, st) * n_statuses + status;
    }

    bool storage_type_seen(std::size_t st) const noexcept;
    void render_counter(
        std::string& out, std::string_view name, std::string_view help,
        const std::array<counter, n_operations * n_storage_types * n_statuses>& values) const;
    void
    render_histogram(std::string& out, std::string_view name, std::string_view help,
                     const std::array<histogram, n_operations * n_storage_types>& values) const;

    std::array<counter, n_operations * n_storage_types * n_statuses> operations_{};
    std::array<histogram, n_operations * n_storage_types> operation_durations_{};
    std::array<counter, n_operations * n_storage_types * n_statuses> attempts_{};
    std::array<histogram, n_operations * n_storage_types> attempt_durations_{};
    std::array<counter, n_storage_types> stored_bytes_{};
};

/// A sink of two functions of the user's: one called at the end of each logical operation, one
/// at the end of each attempt. Either may be empty. They may be called from several threads
/// at once when the client is. The attempt's `failure.message` is the provider's text as sent
/// and may hold secrets: log `failure.describe()` instead.
class metrics_callback {
public:
    using operation_hook = std::function<void(const core::operation_context&, const error_code&,
                                              core::clock::duration)>;
    using attempt_hook = std::function<void(const core::attempt_context&, core::clock::duration)>;

    metrics_callback() = default;
    explicit metrics_callback(operation_hook on_operation, attempt_hook on_attempt = {})
        : on_operation_(std::move(on_operation))
        , on_attempt_(std::move(on_attempt)) {}

    void record_operation(const core::operation_context& op, const error_code& ec,
                          core::clock::duration d) const {
        if (on_operation_) on_operation_(op, ec, d);
    }
    void record_attempt(const core::attempt_context& a, core::clock::duration d) const {
        if (on_attempt_) on_attempt_(a, d);
    }

private:
    operation_hook on_operation_;
    attempt_hook on_attempt_;
};

} // namespace cloudstore

#include <cloudstore/mixins/impl/metrics.hpp>
