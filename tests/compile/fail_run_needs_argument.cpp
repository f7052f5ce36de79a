// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). A callable that needs an argument: palitra invokes it with
// none.
#include <palitra/palitra.h>

int use([[maybe_unused]] int x) {
#if defined(PALITRA_EXPECT_OK)
    return palitra::run([x]() -> QCoro::Task<int> { co_return x; });
#else
    return palitra::run([](int y) -> QCoro::Task<int> { co_return y; });
#endif
}
