// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gatherOutcomes() of a callable that returns a QFuture.
#include <palitra/palitra.h>

#include <QCoro/QCoroFuture>
#include <QFuture>

void use() {
    auto good = []() -> QCoro::Task<void> { co_return; };
#if defined(PALITRA_EXPECT_OK)
    auto outcomes = palitra::gatherOutcomes(
        good, []() -> QCoro::Task<int> { co_return co_await QtFuture::makeReadyFuture(2); });
#else
    auto outcomes = palitra::gatherOutcomes(good, [] { return QtFuture::makeReadyFuture(2); });
#endif
    (void)outcomes;
}
