// doctest's main for every cloudstore test executable, with the zero-assertion guard: a test
// case that ran no assertion (CHECK, REQUIRE, ...) fails the run, so a case that silently did
// nothing cannot pass.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace {

struct guard_state {
    std::mutex mutex;
    std::vector<std::string> empty_cases;
};

guard_state& state() {
    static guard_state s;
    return s;
}

struct zero_assertion_guard : doctest::IReporter {
    explicit zero_assertion_guard(const doctest::ContextOptions&) {}

    void test_case_start(const doctest::TestCaseData& tc) override { current_ = &tc; }
    void test_case_end(const doctest::CurrentTestCaseStats& stats) override {
        if (stats.numAssertsCurrentTest != 0 || current_ == nullptr) return;
        std::lock_guard lock(state().mutex);
        state().empty_cases.emplace_back(current_->m_name);
    }

    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}

private:
    const doctest::TestCaseData* current_ = nullptr;
};

REGISTER_LISTENER("zero_assertion_guard", 1, zero_assertion_guard);

} // namespace

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    int rc = context.run();
    if (context.shouldExit()) return rc;
    const auto& empty = state().empty_cases;
    for (const auto& name : empty)
        std::fprintf(stderr, "cloudstore guard: test case \"%s\" ran no assertion\n", name.c_str());
    if (!empty.empty()) {
        std::fprintf(stderr, "cloudstore guard: %zu test case(s) ran no assertion: FAILED\n",
                     empty.size());
        return rc != 0 ? rc : 1;
    }
    return rc;
}
