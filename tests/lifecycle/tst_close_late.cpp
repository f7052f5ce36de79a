// SPDX-License-Identifier: MIT
// close() after it has given up (docs/SEMANTICS.md#grace-period): loop-side code that still runs
// later (a loop stuck in synchronous work past the grace period, an abandoned coroutine resumed by
// another thread) must not touch what close() released.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QObject>
#include <QRegularExpression>
#include <QTest>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <latch>
#include <memory>
#include <thread>

using namespace std::chrono_literals;

namespace {

//! Completes on a thread of its own once the test opens the gate, like a thread-pool callback.
struct ResumedFromAnotherThread {
    // A constructor, not aggregate initialisation: GCC 12 destroys a braced temporary operand of
    // co_await twice.
    ResumedFromAnotherThread(std::shared_ptr<std::latch> g, std::shared_ptr<std::latch> r)
        : gate(std::move(g)), resumed(std::move(r)) {}
    std::shared_ptr<std::latch> gate;
    std::shared_ptr<std::latch> resumed;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> handle) {
        std::thread([handle, gate = gate, resumed = resumed] {
            gate->wait();
            handle.resume();
            resumed->count_down();
        }).detach();
    }
    void await_resume() const noexcept {}
};

} // namespace

class tst_CloseLate : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // the loop thread is busy in synchronous code longer than grace + 1 s, so close()
    // returns without joining it; when the work ends, the loop winds down without crashing.
    void loopStuckPastGraceWindsDownLater();

    // a coroutine abandoned at close() and later resumed by another thread ends without
    // touching its runner, even after the runner is destroyed.
    void abandonedCoroutineResumedElsewhereTouchesNothing_data();
    void abandonedCoroutineResumedElsewhereTouchesNothing();
};

void tst_CloseLate::loopStuckPastGraceWindsDownLater() {
    palitra::RunnerOptions options;
    options.closeGracePeriod = 100ms;
    auto runner = std::make_unique<palitra::EventLoopThreadRunner>(options);
    std::atomic<bool> release{false};
    std::atomic<bool> busy{false};
    auto contextGone = std::make_shared<std::latch>(1);
    QObject *marker = runner->run(
        [&runner]() -> QCoro::Task<QObject *> { co_return new QObject(runner->context()); });
    QObject::connect(marker, &QObject::destroyed, [contextGone] { contextGone->count_down(); });
    QVERIFY(palitra::test::timeOutAfterInvoking(50ms, [&](auto timeout) {
        (void)runner->run(
            [&]() -> QCoro::Task<int> {
                busy = true;
                while (!release.load())
                    std::this_thread::yield();
                co_return 1;
            },
            timeout);
    }));
    QTRY_VERIFY(busy.load()); // invoked; the flag is set a moment later
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("did not end")));
    runner->close(); // gives up after grace + 1 s
    release = true;
    // The loop now handles the shutdown it missed and ends: its context (and our marker)
    // is destroyed on the loop thread. Before the fix this crashed on a cleared pointer.
    QTRY_VERIFY_WITH_TIMEOUT(contextGone->try_wait(), 10000);
}

void tst_CloseLate::abandonedCoroutineResumedElsewhereTouchesNothing_data() {
    QTest::addColumn<bool>("destroyRunner");
    QTest::newRow("runner alive") << false;
    QTest::newRow("runner destroyed") << true;
}

void tst_CloseLate::abandonedCoroutineResumedElsewhereTouchesNothing() {
    QFETCH(bool, destroyRunner);
    palitra::RunnerOptions options;
    options.closeGracePeriod = 100ms;
    auto runner = std::make_unique<palitra::EventLoopThreadRunner>(options);
    palitra::test::startLoop(*runner);
    auto gate = std::make_shared<std::latch>(1);
    auto resumed = std::make_shared<std::latch>(1);
    auto started = std::make_shared<std::atomic<bool>>(false);
    QVERIFY(palitra::test::timeOutAfterInvoking(50ms, [&](auto timeout) {
        (void)runner->run(
            [gate, resumed, started]() -> QCoro::Task<int> {
                started->store(true);
                co_await ResumedFromAnotherThread(gate, resumed);
                co_return 1;
            },
            timeout);
    }));
    QTRY_VERIFY(started->load());
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("abandoned")));
    runner->close();
    if (destroyRunner)
        runner.reset();
    gate->count_down();
    QTRY_VERIFY_WITH_TIMEOUT(resumed->try_wait(), 10000);
    if (runner) // still usable for what it promises after close: RunnerClosedError
        QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError,
                                 runner->run([]() -> QCoro::Task<int> { co_return 0; }));
}

QTEST_GUILESS_MAIN(tst_CloseLate)
#include "tst_close_late.moc"
