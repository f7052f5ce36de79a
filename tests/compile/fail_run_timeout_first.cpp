// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). run() with its timeout first: it goes last.
#include <palitra/palitra.h>

#include <chrono>

int use() {
    using namespace std::chrono_literals;
    auto answer = []() -> QCoro::Task<int> { co_return 42; };
#if defined(PALITRA_EXPECT_OK)
    return palitra::run(answer, 2s);
#else
    return palitra::run(2s, answer);
#endif
}
