// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). A callable given to a runner's submit() that returns a
// QFuture: the work it stands for is already running elsewhere.
#include <palitra/palitra.h>

#include <QFuture>

QFuture<int> use(palitra::EventLoopThreadRunner &runner) {
#if defined(PALITRA_EXPECT_OK)
    return runner.submit([]() -> QCoro::Task<int> { co_return 42; });
#else
    return runner.submit([] { return QFuture<int>(); });
#endif
}
