// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). A callable that returns int instead of QCoro::Task<int>.
#include <palitra/palitra.h>

int use() {
#if defined(PALITRA_EXPECT_OK)
    return palitra::run([]() -> QCoro::Task<int> { co_return 42; });
#else
    return palitra::run([] { return 42; });
#endif
}
