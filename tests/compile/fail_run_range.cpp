// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). run() of a list of callables: that is gather(list).
#include <palitra/palitra.h>

#include <QList>

#include <functional>

QList<int> use(const QList<std::function<QCoro::Task<int>()>> &work) {
#if defined(PALITRA_EXPECT_OK)
    return palitra::gather(work);
#else
    return palitra::run(work);
#endif
}
