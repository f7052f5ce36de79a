// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather(range) with its timeout first.
#include <palitra/palitra.h>

#include <chrono>
#include <functional>
#include <vector>

QList<int> use(const std::vector<std::function<QCoro::Task<int>()>> &work) {
    using namespace std::chrono_literals;
#if defined(PALITRA_EXPECT_OK)
    return palitra::gather(work, 1.5s);
#else
    return palitra::gather(1.5s, work);
#endif
}
