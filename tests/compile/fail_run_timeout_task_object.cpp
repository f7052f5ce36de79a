// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). The timeout overload rejects a QCoro::Task object too.
#include <palitra/palitra.h>

QCoro::Task<int> answer() {
    co_return 42;
}

int use() {
#if defined(PALITRA_EXPECT_OK)
    return palitra::run([] { return answer(); }, std::chrono::seconds(1));
#else
    return palitra::run(answer(), std::chrono::seconds(1));
#endif
}
