// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather(range) of callables that return Task references.
#include <palitra/palitra.h>

#include <functional>
#include <vector>

QCoro::Task<int> answer();
QCoro::Task<int> &pendingAnswer();

QList<int> use() {
#if defined(PALITRA_EXPECT_OK)
    std::vector<std::function<QCoro::Task<int>()>> work{&answer, &answer};
#else
    std::vector<std::function<QCoro::Task<int> &()>> work{&pendingAnswer, &pendingAnswer};
#endif
    return palitra::gather(std::move(work));
}
