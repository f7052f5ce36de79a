// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). A QCoro::Task object given to a runner's submit() with
// a timeout: it has already started on this thread.
#include <palitra/palitra.h>

#include <chrono>

QCoro::Task<int> answer() {
    co_return 42;
}

QFuture<int> use(palitra::EventLoopThreadRunner &runner) {
#if defined(PALITRA_EXPECT_OK)
    return runner.submit([] { return answer(); }, std::chrono::seconds(1));
#else
    return runner.submit(answer(), std::chrono::seconds(1));
#endif
}
