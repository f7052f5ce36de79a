// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather() of a callable that returns a QFuture.
#include <palitra/palitra.h>

#include <QCoro/QCoroFuture>
#include <QFuture>

std::tuple<int, int> use() {
    auto good = []() -> QCoro::Task<int> { co_return 1; };
#if defined(PALITRA_EXPECT_OK)
    return palitra::gather(
        good, []() -> QCoro::Task<int> { co_return co_await QtFuture::makeReadyFuture(2); });
#else
    return palitra::gather(good, [] { return QtFuture::makeReadyFuture(2); });
#endif
}
