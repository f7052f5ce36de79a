// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gatherOutcomes() with its timeout between the callables.
#include <palitra/palitra.h>

#include <chrono>

void use(palitra::EventLoopThreadRunner &runner) {
    using namespace std::chrono_literals;
    auto one = []() -> QCoro::Task<int> { co_return 1; };
    auto two = []() -> QCoro::Task<void> { co_return; };
#if defined(PALITRA_EXPECT_OK)
    auto outcomes = runner.gatherOutcomes(one, two, 500ms);
#else
    auto outcomes = runner.gatherOutcomes(one, 500ms, two);
#endif
    (void)outcomes;
}
