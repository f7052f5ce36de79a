// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). A runner's submit() with its timeout first: it goes
// last.
#include <palitra/palitra.h>

#include <chrono>

QFuture<int> use(palitra::EventLoopThreadRunner &runner) {
    using namespace std::chrono_literals;
    auto answer = []() -> QCoro::Task<int> { co_return 42; };
#if defined(PALITRA_EXPECT_OK)
    return runner.submit(answer, 500ms);
#else
    return runner.submit(500ms, answer);
#endif
}
