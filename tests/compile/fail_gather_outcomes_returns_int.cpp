// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gatherOutcomes() checks its callables like gather().
#include <palitra/palitra.h>

void use(palitra::EventLoopThreadRunner &runner) {
    auto good = []() -> QCoro::Task<void> { co_return; };
#if defined(PALITRA_EXPECT_OK)
    auto outcomes = runner.gatherOutcomes(good, []() -> QCoro::Task<int> { co_return 2; });
#else
    auto outcomes = runner.gatherOutcomes(good, [] { return 2; });
#endif
    (void)outcomes;
}
