// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). A QFuture object itself instead of a callable.
#include <palitra/palitra.h>

#include <QCoro/QCoroFuture>
#include <QFuture>

int use(QFuture<int> future) {
#if defined(PALITRA_EXPECT_OK)
    return palitra::run([future]() -> QCoro::Task<int> { co_return co_await future; });
#else
    return palitra::run(future);
#endif
}
