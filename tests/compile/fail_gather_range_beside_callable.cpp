// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather() of a range beside a callable: a range is
// gathered on its own.
#include <palitra/palitra.h>

#include <functional>
#include <vector>

QCoro::Task<int> answer();

QList<int> use(std::vector<std::function<QCoro::Task<int>()>> work) {
#if defined(PALITRA_EXPECT_OK)
    work.emplace_back(&answer);
    return palitra::gather(work);
#else
    auto [first, rest] = palitra::gather(&answer, work);
    return rest;
#endif
}
