// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather(range) of callables that return int.
#include <palitra/palitra.h>

#include <functional>

QList<int> use() {
#if defined(PALITRA_EXPECT_OK)
    QList<std::function<QCoro::Task<int>()>> work;
    work.append([]() -> QCoro::Task<int> { co_return 1; });
#else
    QList<std::function<int()>> work;
    work.append([] { return 1; });
#endif
    return palitra::gather(work, std::chrono::milliseconds(500));
}
