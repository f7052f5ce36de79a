// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather() of a callable that returns int.
#include <palitra/palitra.h>

std::tuple<int, int> use() {
    auto good = []() -> QCoro::Task<int> { co_return 1; };
#if defined(PALITRA_EXPECT_OK)
    return palitra::gather(
        good, []() -> QCoro::Task<int> { co_return 2; }, std::chrono::seconds(1));
#else
    return palitra::gather(
        good, [] { return 2; }, std::chrono::seconds(1));
#endif
}
