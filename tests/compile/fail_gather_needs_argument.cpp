// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather() of a callable that needs an argument.
#include <palitra/palitra.h>

std::tuple<int, int> use() {
    auto good = []() -> QCoro::Task<int> { co_return 1; };
#if defined(PALITRA_EXPECT_OK)
    return palitra::gather(good, []() -> QCoro::Task<int> { co_return 2; });
#else
    return palitra::gather(good, [](int y) -> QCoro::Task<int> { co_return y; });
#endif
}
