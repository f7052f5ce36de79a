// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather(range) of QCoro::Task objects.
#include <palitra/palitra.h>

#include <functional>

#include <vector>

QCoro::Task<int> answer() {
    co_return 42;
}

QList<int> use() {
#if defined(PALITRA_EXPECT_OK)
    std::vector<std::function<QCoro::Task<int>()>> work;
    work.emplace_back([] { return answer(); });
#else
    std::vector<QCoro::Task<int>> work;
    work.push_back(answer());
#endif
    return palitra::gather(std::move(work));
}
