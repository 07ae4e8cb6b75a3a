// A probe for the zero-assertion guard: its second case asserts nothing, so the run must fail.
#include <doctest/doctest.h>

TEST_CASE("probe: a case with an assertion") {
    CHECK(1 + 1 == 2);
}

TEST_CASE("probe: a case that asserts nothing") {
    volatile int x = 0;
    x = x + 1;
}
