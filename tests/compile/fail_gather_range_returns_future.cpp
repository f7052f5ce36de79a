// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather(range) of callables that return QFutures.
#include <palitra/palitra.h>

#include <QCoro/QCoroFuture>
#include <QFuture>
#include <QList>

#include <functional>

QList<int> use(palitra::EventLoopThreadRunner &runner) {
#if defined(PALITRA_EXPECT_OK)
    QList<std::function<QCoro::Task<int>()>> work;
    work.append([]() -> QCoro::Task<int> { co_return co_await QtFuture::makeReadyFuture(1); });
#else
    QList<std::function<QFuture<int>()>> work;
    work.append([] { return QtFuture::makeReadyFuture(1); });
#endif
    return runner.gather(work);
}
