// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). A callable that returns a const Task: palitra must take
// the Task over, which const forbids.
#include <palitra/palitra.h>

#if defined(PALITRA_EXPECT_OK)
QCoro::Task<int> answer();
#else
const QCoro::Task<int> answer();
#endif

int use(palitra::EventLoopThreadRunner &runner) {
    return runner.run(&answer);
}
