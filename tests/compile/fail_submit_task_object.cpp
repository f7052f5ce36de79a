// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). Passing a QCoro::Task object to palitra::submit(): it
// has already started on this thread.
#include <palitra/palitra.h>

QCoro::Task<int> answer() {
    co_return 42;
}

QFuture<int> use() {
#if defined(PALITRA_EXPECT_OK)
    return palitra::submit([] { return answer(); });
#else
    return palitra::submit(answer());
#endif
}
