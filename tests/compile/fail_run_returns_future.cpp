// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). A callable that returns a QFuture instead of a Task.
#include <palitra/palitra.h>

#include <QCoro/QCoroFuture>
#include <QFuture>

#include <chrono>

int use() {
#if defined(PALITRA_EXPECT_OK)
    return palitra::run(
        []() -> QCoro::Task<int> { co_return co_await QtFuture::makeReadyFuture(42); },
        std::chrono::seconds(1));
#else
    return palitra::run([] { return QtFuture::makeReadyFuture(42); }, std::chrono::seconds(1));
#endif
}
