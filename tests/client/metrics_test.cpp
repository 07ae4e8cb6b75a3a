// Metrics: the metrics mixin over its sinks. The Prometheus registry's exposition after a known
// sequence of calls through client<memory/local, metrics<prometheus_registry>>, and after
// scripted failures through the driver with retry (attempts counted apart from operations),
// compared line for line (timings masked), then checked by `promtool check metrics`;
// metrics_callback's calls; no_metrics' cost.
#include <cloudstore/client.hpp>
#include <cloudstore/core/driver.hpp>
#include <cloudstore/mixins/metrics.hpp>
#include <cloudstore/mixins/retry.hpp>
#include <cloudstore/storage/local.hpp>
#include <cloudstore/storage/memory.hpp>

#include <test_support.hpp>

#include <doctest/doctest.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace cloudstore;
using namespace std::chrono_literals;
using namespace std::string_literals;

// The concept and its models.
static_assert(metrics_sink<no_metrics>);
static_assert(metrics_sink<prometheus_registry>);
static_assert(metrics_sink<metrics_callback>);
static_assert(!metrics_sink<int>);
namespace {
struct operations_only {
    void record_operation(const core::operation_context&, const error_code&,
                          core::clock::duration) {}
};
} // namespace
static_assert(!metrics_sink<operations_only>);

// Costs: nothing for no_metrics, one pointer for a real sink; copies share the sink.
static_assert(std::is_empty_v<no_metrics>);
static_assert(std::is_empty_v<metrics<no_metrics>>);
static_assert(sizeof(client<memory, metrics<no_metrics>>) == sizeof(client<memory>));
static_assert(sizeof(client<memory, no_metrics>) == sizeof(client<memory>));
static_assert(sizeof(metrics<prometheus_registry>) == sizeof(void*));
static_assert(std::is_trivially_copyable_v<metrics<prometheus_registry>>);
static_assert(!std::is_copy_constructible_v<prometheus_registry>);

namespace {

using prometheus_client = client<memory, metrics<prometheus_registry>>;

// The exposition with the timings masked: the value of every _sum line becomes "S", and of
// every _bucket line but +Inf's (which equals _count) "B".
std::string masked(const std::string& text) {
    std::istringstream in(text);
    std::string out;
    for (std::string line; std::getline(in, line);) {
        const auto space = line.rfind(' ');
        const auto name_end = line.find_first_of("{ ");
        const std::string name = line.substr(0, name_end);
        const bool sum = name.ends_with("_sum") && line[0] != '#';
        const bool bucket = name.ends_with("_bucket") && line.find("le=\"+Inf\"") == line.npos;
        if (sum)
            line = line.substr(0, space) + " S";
        else if (bucket)
            line = line.substr(0, space) + " B";
        out += line;
        out += '\n';
    }
    return out;
}

// The structure the masked values must have: per series, cumulative buckets that never
// decrease and end at _count; a sum that is a non-negative decimal.
void check_histogram_values(const std::string& text) {
    std::istringstream in(text);
    std::uint64_t previous = 0;
    int buckets = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        INFO(line);
        const std::string value = line.substr(line.rfind(' ') + 1);
        const std::string name = line.substr(0, line.find_first_of("{ "));
        if (name.ends_with("_bucket")) {
            const auto v = std::stoull(value);
            CHECK(v >= previous);
            previous = v;
            ++buckets;
        } else if (name.ends_with("_sum")) {
            CHECK(buckets == 8);
            CHECK(value.find_first_not_of("0123456789.") == value.npos);
            CHECK(std::stod(value) >= 0.0);
        } else if (name.ends_with("_count")) {
            CHECK(std::stoull(value) == previous); // +Inf
            previous = 0;
            buckets = 0;
        }
    }
}

// A histogram series as masked() leaves it.
std::string histogram(const std::string& name, const std::string& labels, int count) {
    std::string out;
    for (const char* le : {"0.1", "0.5", "1", "2", "5", "10", "30"})
        out += name + "_bucket{" + labels + ",le=\"" + le + "\"} B\n";
    out += name + "_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(count) + "\n";
    out += name + "_sum{" + labels + "} S\n";
    out += name + "_count{" + labels + "} " + std::to_string(count) + "\n";
    return out;
}

std::string labels(const std::string& operation, const std::string& storage_type) {
    return "operation=\"" + operation + "\",storage_type=\"" + storage_type + "\"";
}

const std::string operations_header =
    "# HELP storage_operations_total Logical storage operations (one per call, however many "
    "requests it made), by outcome: success, the failure's condition, or error.\n"
    "# TYPE storage_operations_total counter\n";
const std::string operation_duration_header =
    "# HELP storage_operation_duration_seconds Duration of logical storage operations, retries "
    "and their waits included.\n"
    "# TYPE storage_operation_duration_seconds histogram\n";
const std::string size_header = "# HELP storage_size_bytes Bytes of object data written by "
                                "successful put requests since the process started.\n"
                                "# TYPE storage_size_bytes gauge\n";
const std::string attempts_header =
    "# HELP storage_attempts_total Attempts of storage requests (each retry counted), by "
    "outcome: success, the failure's condition, or error.\n"
    "# TYPE storage_attempts_total counter\n";
const std::string attempt_duration_header =
    "# HELP storage_attempt_duration_seconds Duration of single attempts of storage requests.\n"
    "# TYPE storage_attempt_duration_seconds histogram\n";

// -- promtool ----------------------------------------------------------------------------------

// CLOUDSTORE_PROMTOOL, else build/tools/promtool (scripts/install-deps puts it there).
std::string promtool_path() {
    if (const char* p = std::getenv("CLOUDSTORE_PROMTOOL"); p != nullptr && *p != '\0') return p;
    return std::string(CLOUDSTORE_SOURCE_DIR) + "/build/tools/promtool";
}

bool promtool_available() {
    const auto path = promtool_path();
    if (::access(path.c_str(), X_OK) == 0) return true;
    if (test::under_ci())
        FAIL_CHECK("promtool not found at " << path
                                            << ": run scripts/install-deps (or set "
                                               "CLOUDSTORE_PROMTOOL); required under CI=true");
    else
        WARN_MESSAGE(false, "promtool NOT FOUND at "
                                << path
                                << ": the exposition was NOT checked by `promtool check metrics`"
                                   " (run scripts/install-deps, or set CLOUDSTORE_PROMTOOL)");
    return false;
}

struct promtool_result {
    int status = -1;
    std::string output;
};

// `promtool check metrics < file`: its exit status and what it printed.
promtool_result promtool_check(const std::string& exposition) {
    static std::atomic<int> serial{0};
    const auto base =
        std::filesystem::temp_directory_path() /
        ("cloudstore-metrics-" + std::to_string(::getpid()) + "-" + std::to_string(serial++));
    const auto input = base.string() + ".prom";
    const auto output = base.string() + ".out";
    {
        std::ofstream f(input, std::ios::binary);
        f << exposition;
        REQUIRE(f.good());
    }
    const std::string command =
        "'" + promtool_path() + "' check metrics < '" + input + "' > '" + output + "' 2>&1";
    const int raw = std::system(command.c_str());
    promtool_result r;
    r.status = raw != -1 && WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    std::ifstream f(output, std::ios::binary);
    r.output.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    std::filesystem::remove(input);
    std::filesystem::remove(output);
    return r;
}

void check_with_promtool(const std::string& exposition) {
    if (!promtool_available()) return;
    const auto r = promtool_check(exposition);
    INFO("promtool said: " << r.output);
    INFO("exposition:\n" << exposition);
    CHECK(r.status == 0);
    CHECK(r.output.empty());
}

// -- a scripted store for the driver -----------------------------------------------------------

struct outcome {
    outcome(error_code e = {}, std::uint64_t b = 0)
        : ec(e)
        , bytes_sent(b) {}
    error_code ec;
    std::uint64_t bytes_sent;
};

struct scripted {
    struct step : core::step_base {};
    std::deque<outcome> script;
    void perform(step&, core::attempt_context& a) {
        REQUIRE_FALSE(script.empty());
        a.failure.code = script.front().ec;
        a.bytes_sent = script.front().bytes_sent;
        a.request_sent = true;
        script.pop_front();
    }
};

retry<exponential_backoff> quick_retry(unsigned attempts) {
    retry<exponential_backoff> r;
    r.policy.base = 1ms;
    r.policy.max_attempts = attempts;
    r.policy.random = [] { return 0.0; }; // no wait
    return r;
}

// Runs one operation named `operation` on `storage_type` through retry (at most `attempts`
// attempts of its one step) and then `Sink`; returns its result and how many attempts ran.
template <class Sink>
std::pair<error_code, std::size_t> run_scripted(Sink& sink, std::string_view operation,
                                                std::string_view storage_type,
                                                std::deque<outcome> script, unsigned attempts = 3) {
    scripted storage{std::move(script)};
    const auto scripted_count = storage.script.size();
    core::single_step<scripted::step> algorithm;
    core::layers<retry<exponential_backoff>, metrics<Sink>> layers{
        {quick_retry(attempts), metrics<Sink>(sink)}};
    core::operation_context op;
    op.operation = operation;
    op.storage_type = storage_type;
    const auto ec = core::run_blocking(storage, algorithm, layers, op);
    return {ec, scripted_count - storage.script.size()};
}

const error_code unavailable = make_http_status_error(503);
const error_code too_many = make_http_status_error(429);

std::filesystem::path fresh_folder() {
    auto p = std::filesystem::temp_directory_path() /
             ("cloudstore-metrics-local-" + std::to_string(::getpid()));
    std::filesystem::remove_all(p);
    return p;
}

} // namespace

TEST_CASE("metrics: the label sets and statuses") {
    CHECK(prometheus_registry::status_index({}) == 0);
    CHECK(prometheus_registry::statuses[prometheus_registry::status_index(
              make_error_code(errc::not_found))] == "not_found");
    CHECK(prometheus_registry::statuses[prometheus_registry::status_index(
              make_error_code(s3_errc::slow_down))] == "throttled");
    CHECK(prometheus_registry::statuses[prometheus_registry::status_index(unavailable)] ==
          "server_error");
    CHECK(prometheus_registry::statuses[prometheus_registry::status_index(
              make_http_status_error(302))] == "error"); // no condition
    CHECK(prometheus_registry::statuses[prometheus_registry::status_index(
              make_error_code(s3_errc::unknown))] == "error");
    // Each condition's status is its own name (the enum's order, by value).
    for (int c = 1; c <= static_cast<int>(condition::too_large); ++c) {
        const auto cond = static_cast<condition>(c);
        const error_code ec(c, condition_category());
        INFO(c);
        // A code of the condition category itself compares equal to its condition.
        CHECK(ec == cond);
        CHECK(prometheus_registry::status_index(ec) == static_cast<std::size_t>(c));
    }
    CHECK(prometheus_registry::statuses[static_cast<std::size_t>(condition::timeout)] == "timeout");
    CHECK(prometheus_registry::statuses[static_cast<std::size_t>(condition::too_large)] ==
          "too_large");
    CHECK(prometheus_registry::operations[prometheus_registry::operation_index("delete")] ==
          "delete");
    CHECK(prometheus_registry::operations[prometheus_registry::operation_index("frob")] == "other");
    CHECK(prometheus_registry::storage_types[prometheus_registry::storage_type_index("gcs")] ==
          "gcs");
    CHECK(prometheus_registry::storage_types[prometheus_registry::storage_type_index("azure")] ==
          "other");
}

TEST_CASE("metrics: an empty registry renders nothing; promtool rejects what it should") {
    prometheus_registry registry;
    CHECK(registry.exposition().empty());
    check_with_promtool(registry.exposition());
    // The check is real: a counter without _total, as storage_size_bytes would be (hence a
    // gauge), fails it.
    if (!promtool_available()) return;
    const auto r = promtool_check("# HELP storage_size_bytes x\n# TYPE storage_size_bytes counter\n"
                                  "storage_size_bytes{storage_type=\"s3\"} 1\n");
    INFO(r.output);
    CHECK(r.status != 0);
    CHECK(r.output.find("_total") != std::string::npos);
}

TEST_CASE("metrics: calls through client<memory/local, metrics<prometheus_registry>>") {
    prometheus_registry registry;
    prometheus_client c(memory{}, metrics(registry));
    error_code ec;
    c.put("a", "hello"s);
    c.put("b", "xy"s);
    CHECK(c.get("a") == "hello");
    c.head("missing", ec);
    CHECK(ec == condition::not_found);
    CHECK(c.exists("b", ec));
    auto copy = c; // copies share the registry
    copy.remove("a");
    list_options lo;
    lo.page_size = 10;
    CHECK(c.list(lo, ec).objects.size() == 1);
    c.get("a", {}, ec);
    CHECK(ec == condition::not_found);
    // A call refused before it reaches the store (an invalid key) is no operation.
    c.put("", "x"s, {}, ec);
    CHECK(ec == condition::invalid_argument);
    // The async face runs the same hooks.
    boost::asio::io_context io;
    const std::string body = "abc";
    error_code async_ec = errc::cancelled;
    c.async_put("c", std::as_bytes(std::span(body)), put_options{},
                boost::asio::bind_executor(io, [&](error_code e, object_info) { async_ec = e; }));
    io.run();
    CHECK_FALSE(async_ec);
    // Another storage type, same registry.
    const auto folder = fresh_folder();
    {
        client<local, metrics<prometheus_registry>> l{local(folder), metrics(registry)};
        l.put("x/y", "local!"s);
    }
    std::filesystem::remove_all(folder);

    const std::string text = registry.exposition();
    const std::string expected =
        operations_header +
        "storage_operations_total{operation=\"put\",storage_type=\"memory\",status=\"success\"} "
        "3\n"
        "storage_operations_total{operation=\"put\",storage_type=\"local\",status=\"success\"} 1\n"
        "storage_operations_total{operation=\"get\",storage_type=\"memory\",status=\"success\"} "
        "1\n"
        "storage_operations_total{operation=\"get\",storage_type=\"memory\",status=\"not_found\"}"
        " 1\n"
        "storage_operations_total{operation=\"head\",storage_type=\"memory\",status=\"success\"} "
        "1\n"
        "storage_operations_total{operation=\"head\",storage_type=\"memory\",status=\"not_found\"}"
        " 1\n"
        "storage_operations_total{operation=\"delete\",storage_type=\"memory\",status="
        "\"success\"} 1\n"
        "storage_operations_total{operation=\"list\",storage_type=\"memory\",status=\"success\"} "
        "1\n" +
        operation_duration_header +
        histogram("storage_operation_duration_seconds", labels("put", "memory"), 3) +
        histogram("storage_operation_duration_seconds", labels("put", "local"), 1) +
        histogram("storage_operation_duration_seconds", labels("get", "memory"), 2) +
        histogram("storage_operation_duration_seconds", labels("head", "memory"), 2) +
        histogram("storage_operation_duration_seconds", labels("delete", "memory"), 1) +
        histogram("storage_operation_duration_seconds", labels("list", "memory"), 1) + size_header +
        "storage_size_bytes{storage_type=\"memory\"} 10\n" +
        "storage_size_bytes{storage_type=\"local\"} 6\n" + attempts_header +
        "storage_attempts_total{operation=\"put\",storage_type=\"memory\",status=\"success\"} 3\n"
        "storage_attempts_total{operation=\"put\",storage_type=\"local\",status=\"success\"} 1\n"
        "storage_attempts_total{operation=\"get\",storage_type=\"memory\",status=\"success\"} 1\n"
        "storage_attempts_total{operation=\"get\",storage_type=\"memory\",status=\"not_found\"} "
        "1\n"
        "storage_attempts_total{operation=\"head\",storage_type=\"memory\",status=\"success\"} 1\n"
        "storage_attempts_total{operation=\"head\",storage_type=\"memory\",status=\"not_found\"} "
        "1\n"
        "storage_attempts_total{operation=\"delete\",storage_type=\"memory\",status=\"success\"} "
        "1\n"
        "storage_attempts_total{operation=\"list\",storage_type=\"memory\",status=\"success\"} "
        "1\n" +
        attempt_duration_header +
        histogram("storage_attempt_duration_seconds", labels("put", "memory"), 3) +
        histogram("storage_attempt_duration_seconds", labels("put", "local"), 1) +
        histogram("storage_attempt_duration_seconds", labels("get", "memory"), 2) +
        histogram("storage_attempt_duration_seconds", labels("head", "memory"), 2) +
        histogram("storage_attempt_duration_seconds", labels("delete", "memory"), 1) +
        histogram("storage_attempt_duration_seconds", labels("list", "memory"), 1);
    CHECK(masked(text) == expected);
    check_histogram_values(text);
    // Deterministic: nothing changed, nothing moves.
    CHECK(registry.exposition() == text);
    check_with_promtool(text);
}

TEST_CASE("metrics: retries through the driver count attempts apart from operations") {
    prometheus_registry registry;
    // Two 503s, then success: one operation, three attempts. Only the successful attempt's
    // bytes count as stored.
    auto r = run_scripted(registry, "put", "s3", {{unavailable, 7}, {unavailable, 7}, {{}, 7}});
    CHECK_FALSE(r.first);
    CHECK(r.second == 3);
    // Throttled three times: gives up after max_attempts with the last failure.
    r = run_scripted(registry, "head", "s3", {{too_many}, {too_many}, {too_many}});
    CHECK(r.first == condition::throttled);
    CHECK(r.second == 3);
    // Not transient: one attempt.
    r = run_scripted(registry, "get", "gcs", {{make_error_code(gcs_errc::not_found)}});
    CHECK(r.first == condition::not_found);
    CHECK(r.second == 1);
    // Label values outside the fixed sets (here holding a secret) become "other"; a code with
    // no condition is "error".
    r = run_scripted(registry, "get?X-Amz-Signature=deadbeefsecret",
                     "s3://AKIAEXAMPLE:topsecret@bucket", {{make_http_status_error(302)}});
    CHECK(r.first == make_http_status_error(302));
    CHECK(r.second == 1);

    const std::string text = registry.exposition();
    CHECK(text.find("secret") == std::string::npos);
    CHECK(text.find("AKIA") == std::string::npos);
    const std::string expected =
        operations_header +
        "storage_operations_total{operation=\"put\",storage_type=\"s3\",status=\"success\"} 1\n"
        "storage_operations_total{operation=\"get\",storage_type=\"gcs\",status=\"not_found\"} "
        "1\n"
        "storage_operations_total{operation=\"head\",storage_type=\"s3\",status=\"throttled\"} "
        "1\n"
        "storage_operations_total{operation=\"other\",storage_type=\"other\",status=\"error\"} "
        "1\n" +
        operation_duration_header +
        histogram("storage_operation_duration_seconds", labels("put", "s3"), 1) +
        histogram("storage_operation_duration_seconds", labels("get", "gcs"), 1) +
        histogram("storage_operation_duration_seconds", labels("head", "s3"), 1) +
        histogram("storage_operation_duration_seconds", labels("other", "other"), 1) + size_header +
        "storage_size_bytes{storage_type=\"s3\"} 7\n" +
        "storage_size_bytes{storage_type=\"gcs\"} 0\n" +
        "storage_size_bytes{storage_type=\"other\"} 0\n" + attempts_header +
        "storage_attempts_total{operation=\"put\",storage_type=\"s3\",status=\"success\"} 1\n"
        "storage_attempts_total{operation=\"put\",storage_type=\"s3\",status=\"server_error\"} 2\n"
        "storage_attempts_total{operation=\"get\",storage_type=\"gcs\",status=\"not_found\"} 1\n"
        "storage_attempts_total{operation=\"head\",storage_type=\"s3\",status=\"throttled\"} 3\n"
        "storage_attempts_total{operation=\"other\",storage_type=\"other\",status=\"error\"} 1\n" +
        attempt_duration_header +
        histogram("storage_attempt_duration_seconds", labels("put", "s3"), 3) +
        histogram("storage_attempt_duration_seconds", labels("get", "gcs"), 1) +
        histogram("storage_attempt_duration_seconds", labels("head", "s3"), 3) +
        histogram("storage_attempt_duration_seconds", labels("other", "other"), 1);
    CHECK(masked(text) == expected);
    check_histogram_values(text);
    check_with_promtool(text);
}

TEST_CASE("metrics: durations land in the right buckets, sums in exact seconds") {
    prometheus_registry registry;
    core::operation_context op;
    op.operation = "copy";
    op.storage_type = "gcs";
    // On a bound counts in that bucket (le: less or equal); above 30 s only in +Inf.
    const core::clock::duration durations[] = {0ns, 100ms, 100ms + 1ns, 1500ms, 30s, 31s};
    for (const auto d : durations)
        registry.record_operation(op, {}, d);
    const std::string text = registry.exposition();
    const std::string l = labels("copy", "gcs");
    const std::string name = "storage_operation_duration_seconds";
    const std::string expected_histogram =
        operation_duration_header + name + "_bucket{" + l + ",le=\"0.1\"} 2\n" + name + "_bucket{" +
        l + ",le=\"0.5\"} 3\n" + name + "_bucket{" + l + ",le=\"1\"} 3\n" + name + "_bucket{" + l +
        ",le=\"2\"} 4\n" + name + "_bucket{" + l + ",le=\"5\"} 4\n" + name + "_bucket{" + l +
        ",le=\"10\"} 4\n" + name + "_bucket{" + l + ",le=\"30\"} 5\n" + name + "_bucket{" + l +
        ",le=\"+Inf\"} 6\n" + name + "_sum{" + l + "} 62.700000001\n" + name + "_count{" + l +
        "} 6\n";
    CHECK(text.find(expected_histogram) != std::string::npos);
    check_with_promtool(text);
}

TEST_CASE("metrics: recording from many threads loses nothing") {
    prometheus_registry registry;
    auto c = std::make_unique<prometheus_client>(memory{}, metrics(registry));
    c->put("k", "v"s);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 500; ++i)
                c->head("k");
        });
    for (auto& t : threads)
        t.join();
    const std::string text = registry.exposition();
    CHECK(text.find("storage_operations_total{operation=\"head\",storage_type=\"memory\","
                    "status=\"success\"} 2000\n") != std::string::npos);
    CHECK(text.find("storage_attempt_duration_seconds_count{operation=\"head\",storage_type="
                    "\"memory\"} 2000\n") != std::string::npos);
    check_histogram_values(text);
}

TEST_CASE("metrics: metrics_callback is called once per operation and once per attempt") {
    struct seen_operation {
        std::string operation, storage_type;
        error_code ec;
    };
    struct seen_attempt {
        std::string operation;
        unsigned number;
        error_code ec;
    };
    std::vector<seen_operation> operations;
    std::vector<seen_attempt> attempts;
    metrics_callback callback(
        [&](const core::operation_context& op, const error_code& ec, core::clock::duration d) {
            CHECK(d >= core::clock::duration::zero());
            operations.push_back({std::string(op.operation), std::string(op.storage_type), ec});
        },
        [&](const core::attempt_context& a, core::clock::duration d) {
            CHECK(d >= core::clock::duration::zero());
            attempts.push_back({std::string(a.operation.operation), a.number, a.error()});
        });

    SUBCASE("through a client") {
        client<memory, metrics<metrics_callback>> c(memory{}, metrics(callback));
        error_code ec;
        c.put("a", "1"s);
        c.head("missing", ec);
        REQUIRE(operations.size() == 2);
        CHECK(operations[0].operation == "put");
        CHECK(operations[0].storage_type == "memory");
        CHECK_FALSE(operations[0].ec);
        CHECK(operations[1].operation == "head");
        CHECK(operations[1].ec == condition::not_found);
        REQUIRE(attempts.size() == 2);
        CHECK(attempts[0].operation == "put");
        CHECK(attempts[1].ec == condition::not_found);
    }
    SUBCASE("through the driver with retry") {
        auto r = run_scripted(callback, "put", "s3", {{unavailable}, {unavailable}, {}});
        CHECK_FALSE(r.first);
        REQUIRE(operations.size() == 1);
        CHECK_FALSE(operations[0].ec);
        REQUIRE(attempts.size() == 3);
        for (unsigned i = 0; i < 3; ++i) {
            INFO(i);
            CHECK(attempts[i].number == i + 1);
            CHECK(attempts[i].ec == (i < 2 ? unavailable : error_code()));
        }
    }
    SUBCASE("an empty hook, and a default metrics, record nothing") {
        metrics_callback only_operations([&](const core::operation_context&, const error_code&,
                                             core::clock::duration) { operations.push_back({}); });
        client<memory, metrics<metrics_callback>> c(memory{}, metrics(only_operations));
        c.put("a", "1"s);
        client<memory, metrics<metrics_callback>> silent(memory{}, metrics<metrics_callback>{});
        silent.put("a", "1"s);
        CHECK(operations.size() == 1);
        CHECK(attempts.empty());
    }
}

TEST_CASE("metrics: no_metrics records nothing and costs nothing") {
    client<memory, metrics<no_metrics>> c(memory{}, metrics<no_metrics>{});
    c.put("a", "1"s);
    CHECK(c.get("a") == "1");
    no_metrics sink;
    client<memory, metrics<no_metrics>> d(memory{}, metrics(sink));
    error_code ec;
    CHECK_FALSE(d.exists("a", ec));
    CHECK_FALSE(ec);
}
