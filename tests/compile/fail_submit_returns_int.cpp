// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). A callable given to submit() that returns int instead
// of QCoro::Task<int>.
#include <palitra/palitra.h>

QFuture<int> use() {
#if defined(PALITRA_EXPECT_OK)
    return palitra::submit([]() -> QCoro::Task<int> { co_return 42; });
#else
    return palitra::submit([] { return 42; });
#endif
}
