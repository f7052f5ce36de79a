// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gatherOutcomes() of a callable that returns a Task&&.
#include <palitra/palitra.h>

#include <chrono>
#include <utility>

QCoro::Task<int> answer();
QCoro::Task<int> &pendingAnswer();

void use(palitra::EventLoopThreadRunner &runner) {
#if defined(PALITRA_EXPECT_OK)
    auto outcomes = runner.gatherOutcomes([] { return answer(); }, std::chrono::seconds(1));
#else
    auto outcomes =
        runner.gatherOutcomes([]() -> QCoro::Task<int> && { return std::move(pendingAnswer()); },
                              std::chrono::seconds(1));
#endif
    (void)outcomes;
}
