// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather() with its timeout first: it goes last.
#include <palitra/palitra.h>

#include <chrono>

std::tuple<int, int> use() {
    using namespace std::chrono_literals;
    auto one = []() -> QCoro::Task<int> { co_return 1; };
    auto two = []() -> QCoro::Task<int> { co_return 2; };
#if defined(PALITRA_EXPECT_OK)
    return palitra::gather(one, two, 2s);
#else
    return palitra::gather(2s, one, two);
#endif
}
