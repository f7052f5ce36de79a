// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). EventLoopThreadRunner::run() rejects a QCoro::Task object,
// also an lvalue one.
#include <palitra/palitra.h>

QCoro::Task<int> answer() {
    co_return 42;
}

int use(palitra::EventLoopThreadRunner &runner) {
#if defined(PALITRA_EXPECT_OK)
    auto task = [] { return answer(); };
#else
    auto task = answer();
#endif
    return runner.run(task);
}
