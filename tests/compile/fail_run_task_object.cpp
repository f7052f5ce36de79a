// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). Passing a QCoro::Task object to palitra::run(): it has
// already started on this thread.
#include <palitra/palitra.h>

QCoro::Task<int> answer() {
    co_return 42;
}

int use() {
#if defined(PALITRA_EXPECT_OK)
    return palitra::run([] { return answer(); });
#else
    return palitra::run(answer());
#endif
}
