// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather() of QCoro::Task objects: they have already started
// on this thread.
#include <palitra/palitra.h>

QCoro::Task<int> answer() {
    co_return 42;
}

std::tuple<int, int> use() {
#if defined(PALITRA_EXPECT_OK)
    return palitra::gather([] { return answer(); }, [] { return answer(); });
#else
    return palitra::gather([] { return answer(); }, answer());
#endif
}
