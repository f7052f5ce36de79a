// SPDX-License-Identifier: MIT
// submit(): the non-blocking form of run(). Its QFuture always finishes: with the value, the
// coroutine's own exception, cancelled, TimeoutError or RunnerClosedError. See
// docs/SEMANTICS.md#non-blocking-calls-and-loop-owned-state.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QCoro/QCoroFuture>
#include <QFuture>
#include <QFutureWatcher>
#include <QSignalSpy>
#include <QTest>

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::test::Counted;
using palitra::test::Gate;
using palitra::test::JoiningThread;
using palitra::test::LoopBlocker;
using palitra::test::NotAStdException;

namespace {

// The exact future types a user compiles against.
using IntTask = QCoro::Task<int>;
using VoidTask = QCoro::Task<>;
static_assert(std::is_same_v<decltype(std::declval<EventLoopThreadRunner &>().submit(
                                 std::declval<IntTask (*)()>())),
                             QFuture<int>>);
static_assert(std::is_same_v<decltype(std::declval<EventLoopThreadRunner &>().submit(
                                 std::declval<VoidTask (*)()>())),
                             QFuture<void>>);
static_assert(
    std::is_same_v<decltype(palitra::submit(std::declval<IntTask (*)()>(), 1s)), QFuture<int>>);

class CustomError : public std::runtime_error {
public:
    CustomError(const std::string &what, int code) : std::runtime_error(what), code(code) {}
    int code;
};

//! Waits on the loop thread until \a gate opens or stop is requested; true if the gate opened.
QCoro::Task<bool> gateOrStop(Gate *gate, std::stop_token stop) {
    const auto opened = co_await palitra::awaitSignal(gate, &Gate::opened, stop);
    co_return opened.has_value();
}

//! The ways a finished future can have ended.
// CancelledAfterValue: cancel() landed while the value was being reported (QFuture marks itself
// cancelled at once, whatever the call does), so the future is cancelled and holds the value.
enum class Ending { Value, Cancelled, CancelledAfterValue, Timeout, Closed, Other };

template<typename T>
Ending endingOf(QFuture<T> &future) {
    if (!future.isFinished())
        return Ending::Other;
    try {
        future.waitForFinished(); // rethrows a reported exception
    } catch (const palitra::TimeoutError &) {
        return Ending::Timeout;
    } catch (const palitra::RunnerClosedError &) {
        return Ending::Closed;
    } catch (...) {
        return Ending::Other;
    }
    if (future.isCanceled())
        return future.resultCount() == 1 ? Ending::CancelledAfterValue : Ending::Cancelled;
    return future.resultCount() == 1 ? Ending::Value : Ending::Other;
}

} // namespace

class tst_Submit : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Results and errors
    void valueOnLoopThread();
    void voidResult();
    void moveOnlyResultNeverCopied();
    void exceptionKeepsItsType_data();
    void exceptionKeepsItsType();
    void returnsAtOnce();

    // Qt's ways of consuming a future
    void futureWatcherSignals();
    void thenAndOnFailed();
    void coAwaitFromAnotherRunnersLoop();
    void submitFromOwnLoopThreadDoesNotDeadlock();

    // cancel(), timeout, close()
    void cancelRequestsStopAndFinishes();
    void cancelBeforeStartNeverInvokes();
    void stopIsRequestedBeforeTheFutureFinishes_data();
    void stopIsRequestedBeforeTheFutureFinishes();
    void timeoutFinishesWithTimeoutError();
    void timeoutAlreadyPassedNeverInvokes_data();
    void timeoutAlreadyPassedNeverInvokes();
    void timeoutWhileQueuedNeverInvokes();
    void closeFinishesEveryPendingFuture();
    void closedRunnerGivesFailedFuture();
    void lateResultIsDropped();

    // Races: every future ends exactly one way
    void cancelRacingCompletion();
    void timeoutRacingCompletion();
    void timeoutsLiveInTheLoopTimerHeap();
    void closeRacingCompletion();

    // Bad input and the global runner
    void emptyCallableThrows();
    void globalSubmit();
};

void tst_Submit::valueOnLoopThread() {
    EventLoopThreadRunner runner;
    std::atomic<QThread *> ranOn{nullptr};
    QFuture<int> future = runner.submit([&]() -> QCoro::Task<int> {
        ranOn = QThread::currentThread();
        co_return co_await palitra::test::timerThenValue(42);
    });
    QCOMPARE(future.result(), 42);
    QCOMPARE(ranOn.load(), runner.thread());
    future.waitForFinished(); // result() returns once the value is in, maybe just before
    QVERIFY(future.isFinished());
    QVERIFY(!future.isCanceled());
}

void tst_Submit::voidResult() {
    EventLoopThreadRunner runner;
    std::atomic<bool> ran{false};
    QFuture<void> future = runner.submit([&]() -> QCoro::Task<> {
        co_await palitra::sleepFor(1ms, std::stop_token{});
        ran = true;
    });
    future.waitForFinished();
    QVERIFY(ran);
    QVERIFY(future.isFinished());
}

void tst_Submit::moveOnlyResultNeverCopied() {
    Counted::reset();
    {
        EventLoopThreadRunner runner;
        QFuture<std::unique_ptr<Counted>> future =
            runner.submit([]() -> QCoro::Task<std::unique_ptr<Counted>> {
                co_return std::make_unique<Counted>(7);
            });
        future.waitForFinished();
        std::unique_ptr<Counted> value = future.takeResult();
        QVERIFY(value);
        QCOMPARE(value->value, 7);
        QFuture<Counted> byValue =
            runner.submit([]() -> QCoro::Task<Counted> { co_return Counted(8); });
        byValue.waitForFinished();
        QCOMPARE(byValue.takeResult().value, 8);
        QCOMPARE(Counted::copies.load(), 0);
    }
    QCOMPARE(Counted::live(), 0);
}

void tst_Submit::exceptionKeepsItsType_data() {
    QTest::addColumn<bool>("afterSuspension");
    QTest::newRow("before the first suspension") << false;
    QTest::newRow("after a suspension") << true;
}

void tst_Submit::exceptionKeepsItsType() {
    QFETCH(bool, afterSuspension);
    EventLoopThreadRunner runner;
    QFuture<int> custom = runner.submit([afterSuspension]() -> QCoro::Task<int> {
        if (afterSuspension)
            co_await palitra::sleepFor(1ms, std::stop_token{});
        throw CustomError("custom", 17);
    });
    try {
        (void)custom.result();
        QFAIL("result() did not rethrow");
    } catch (const CustomError &e) {
        QCOMPARE(e.code, 17);
    }
    QFuture<void> notStd = runner.submit([afterSuspension]() -> QCoro::Task<> {
        if (afterSuspension)
            co_await palitra::sleepFor(1ms, std::stop_token{});
        throw NotAStdException{5};
    });
    try {
        notStd.waitForFinished();
        QFAIL("waitForFinished() did not rethrow");
    } catch (const NotAStdException &e) {
        QCOMPARE(e.code, 5);
    }
    QVERIFY(runner.isRunning());
}

void tst_Submit::returnsAtOnce() {
    EventLoopThreadRunner runner;
    Gate *gate = runner.run([&]() -> QCoro::Task<Gate *> { co_return new Gate(runner.context()); });
    QFuture<bool> future =
        runner.submit([gate] { return gateOrStop(gate, palitra::currentStopToken()); });
    // Nothing can have finished it: the gate opens only below.
    QTRY_VERIFY(runner.run([gate]() -> QCoro::Task<bool> { co_return gate->hasListener(); }));
    QVERIFY(!future.isFinished());
    QMetaObject::invokeMethod(gate, [gate] { gate->open(); });
    QCOMPARE(future.result(), true);
}

void tst_Submit::timeoutsLiveInTheLoopTimerHeap() {
    // A submitted call's timeout is a deadline in the loop thread's heap, as palitra::sleepFor's
    // are (O(log n) to arm and cancel), not a QTimer each; it leaves the heap when the call ends.
    EventLoopThreadRunner runner;
    const auto heapSize = [&runner] {
        return runner.run([]() -> QCoro::Task<std::size_t> {
            co_return palitra::detail::currentThreadWakeStats().deadlines;
        });
    };
    Gate *gate = runner.run([&]() -> QCoro::Task<Gate *> { co_return new Gate(runner.context()); });
    QCOMPARE(heapSize(), 0u);
    constexpr int calls = 3;
    std::vector<QFuture<bool>> futures;
    for (int i = 0; i < calls; ++i) {
        futures.push_back(
            runner.submit([gate] { return gateOrStop(gate, palitra::currentStopToken()); }, 1h));
    }
    // Queued calls start in order, before the run() of heapSize() that follows them.
    QCOMPARE(heapSize(), std::size_t(calls));
    QMetaObject::invokeMethod(gate, [gate] { gate->open(); });
    for (QFuture<bool> &future : futures)
        QCOMPARE(future.result(), true);
    // The call's watch, which holds the deadline, is deleted later on the loop thread.
    QTRY_COMPARE(heapSize(), 0u);
}

void tst_Submit::futureWatcherSignals() {
    EventLoopThreadRunner runner;
    QFutureWatcher<int> watcher;
    QSignalSpy finished(&watcher, &QFutureWatcherBase::finished);
    watcher.setFuture(runner.submit(
        []() -> QCoro::Task<int> { co_return co_await palitra::test::timerThenValue(3); }));
    QTRY_COMPARE(finished.count(), 1);
    QCOMPARE(watcher.result(), 3);
}

void tst_Submit::thenAndOnFailed() {
    EventLoopThreadRunner runner;
    QObject context; // lives on this (the test's) thread
    QThread *thenRanOn = nullptr;
    int seen = 0;
    const QFuture<void> chained =
        runner.submit([]() -> QCoro::Task<int> { co_return 20; }).then(&context, [&](int value) {
            thenRanOn = QThread::currentThread();
            seen = value + 1;
        });
    QTRY_COMPARE(seen, 21);
    QCOMPARE(thenRanOn, QThread::currentThread());

    int failedCode = 0;
    bool thenRan = false;
    QFuture<int> failed = runner.submit([]() -> QCoro::Task<int> {
        co_await palitra::sleepFor(1ms, std::stop_token{});
        throw CustomError("no", 9);
    });
    const QFuture<int> handled = failed
                                     .then(&context,
                                           [&](int value) {
                                               thenRan = true;
                                               return value;
                                           })
                                     .onFailed(&context, [&](const CustomError &e) {
                                         failedCode = e.code;
                                         return 0;
                                     });
    QTRY_COMPARE(failedCode, 9);
    QVERIFY(!thenRan);
    QTRY_VERIFY(handled.isFinished());
}

void tst_Submit::coAwaitFromAnotherRunnersLoop() {
    EventLoopThreadRunner a;
    EventLoopThreadRunner b;
    Gate *gate = a.run([&]() -> QCoro::Task<Gate *> { co_return new Gate(a.context()); });
    std::atomic<bool> bWasFree{false};
    QFuture<int> outer = b.submit([&]() -> QCoro::Task<int> {
        QFuture<bool> inner =
            a.submit([gate] { return gateOrStop(gate, palitra::currentStopToken()); });
        const bool opened = co_await inner; // b's loop keeps running meanwhile
        co_return opened ? 1 : 0;
    });
    // b's loop is not blocked while its coroutine awaits a's future: it runs another call.
    QTRY_VERIFY(a.run([gate]() -> QCoro::Task<bool> { co_return gate->hasListener(); }));
    bWasFree = b.run([]() -> QCoro::Task<bool> { co_return true; }, 10s);
    QVERIFY(bWasFree);
    QVERIFY(!outer.isFinished());
    QMetaObject::invokeMethod(gate, [gate] { gate->open(); });
    QCOMPARE(outer.result(), 1);
}

void tst_Submit::submitFromOwnLoopThreadDoesNotDeadlock() {
    EventLoopThreadRunner runner;
    const int value = runner.run(
        [&]() -> QCoro::Task<int> {
            QFuture<int> inner = runner.submit([]() -> QCoro::Task<int> { co_return 5; });
            co_return co_await inner + 1;
        },
        10s);
    QCOMPARE(value, 6);
}

void tst_Submit::cancelRequestsStopAndFinishes() {
    EventLoopThreadRunner runner;
    std::atomic<int> sawStop{0};
    std::latch started(1);
    std::latch ended(1);
    QFuture<int> future = runner.submit([&]() -> QCoro::Task<int> {
        const std::stop_token stop = palitra::currentStopToken();
        started.count_down(); // the sleep below begins before the loop can see the cancel
        const bool sleptFully = co_await palitra::sleepFor(1h, stop);
        sawStop = sleptFully ? 1 : 2;
        ended.count_down();
        co_return 1;
    });
    started.wait();
    QVERIFY(!future.isFinished());
    future.cancel();
    QVERIFY(future.isCanceled());
    QTRY_VERIFY(future.isFinished());
    ended.wait();
    QCOMPARE(sawStop.load(), 2);
    QCOMPARE(endingOf(future), Ending::Cancelled);
}

void tst_Submit::cancelBeforeStartNeverInvokes() {
    EventLoopThreadRunner runner;
    std::atomic<bool> invoked{false};
    QFuture<int> future;
    {
        LoopBlocker blocker(runner);
        future = runner.submit([&]() -> QCoro::Task<int> {
            invoked = true;
            co_return 1;
        });
        future.cancel();
    }
    QTRY_VERIFY(future.isFinished());
    QCOMPARE(endingOf(future), Ending::Cancelled);
    runner.run([]() -> QCoro::Task<> { co_return; }); // the queue has been drained
    QVERIFY(!invoked);
}

void tst_Submit::stopIsRequestedBeforeTheFutureFinishes_data() {
    QTest::addColumn<bool>("byTimeout");
    QTest::newRow("cancel()") << false;
    QTest::newRow("timeout") << true;
}

void tst_Submit::stopIsRequestedBeforeTheFutureFinishes() {
    QFETCH(bool, byTimeout);
    EventLoopThreadRunner runner;
    std::stop_token token;
    std::latch started(1);
    const auto sleeper = [&]() -> QCoro::Task<int> {
        token = palitra::currentStopToken();
        started.count_down();
        co_await palitra::sleepFor(1h, token);
        co_return 1;
    };
    QFuture<int> future = byTimeout ? runner.submit(sleeper, 200ms) : runner.submit(sleeper);
    started.wait();
    // A handler attached without a context runs where the future finishes, at that moment:
    // what it sees is what anyone who sees the future finished sees.
    std::atomic<int> stopSeen{-1};
    const auto record = [&] { stopSeen = token.stop_requested() ? 1 : 0; };
    QFuture<int> handled = byTimeout ? future.onFailed([&](const palitra::TimeoutError &) {
        record();
        return 0;
    })
                                     : future.onCanceled([&] {
                                           record();
                                           return 0;
                                       });
    if (!byTimeout)
        future.cancel();
    QTRY_VERIFY(handled.isFinished());
    QCOMPARE(stopSeen.load(), 1);
}

void tst_Submit::timeoutFinishesWithTimeoutError() {
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    std::latch ended(1);
    std::atomic<bool> invoked{false};
    std::atomic<bool> sawStop{false};
    QFuture<int> future = runner.submit(
        [&]() -> QCoro::Task<int> {
            invoked = true;
            const std::stop_token stop = palitra::currentStopToken();
            sawStop = !co_await palitra::sleepFor(1h, stop);
            ended.count_down();
            co_return 1;
        },
        200ms);
    QVERIFY_THROWS_EXCEPTION(palitra::TimeoutError, future.waitForFinished());
    // Started with a running loop it is invoked at once; if a loaded machine let the deadline
    // pass while it was still queued, it was never invoked (timeoutWhileQueuedNeverInvokes).
    if (invoked) {
        ended.wait();
        QVERIFY(sawStop);
    }
    QCOMPARE(endingOf(future), Ending::Timeout);
}

void tst_Submit::timeoutAlreadyPassedNeverInvokes_data() {
    QTest::addColumn<std::chrono::nanoseconds>("timeout");
    QTest::newRow("zero") << std::chrono::nanoseconds(0);
    QTest::newRow("negative") << std::chrono::nanoseconds(-5ms);
    QTest::newRow("minimum") << std::chrono::nanoseconds::min();
}

void tst_Submit::timeoutAlreadyPassedNeverInvokes() {
    QFETCH(std::chrono::nanoseconds, timeout);
    EventLoopThreadRunner runner;
    std::atomic<bool> invoked{false};
    QFuture<int> future = runner.submit(
        [&]() -> QCoro::Task<int> {
            invoked = true;
            co_return 1;
        },
        timeout);
    QVERIFY(future.isFinished()); // at once: nothing was queued
    QCOMPARE(endingOf(future), Ending::Timeout);
    runner.run([]() -> QCoro::Task<> { co_return; });
    QVERIFY(!invoked);
}

void tst_Submit::timeoutWhileQueuedNeverInvokes() {
    EventLoopThreadRunner runner;
    std::atomic<bool> invoked{false};
    QFuture<int> future;
    {
        LoopBlocker blocker(runner);
        future = runner.submit(
            [&]() -> QCoro::Task<int> {
                invoked = true;
                co_return 1;
            },
            1ms);
        // The deadline passes while the loop is blocked: wait for that, not for a duration.
        const auto deadline = std::chrono::steady_clock::now() + 1ms;
        while (std::chrono::steady_clock::now() < deadline)
            std::this_thread::yield();
    }
    QTRY_VERIFY(future.isFinished());
    QCOMPARE(endingOf(future), Ending::Timeout);
    QVERIFY(!invoked);
}

void tst_Submit::closeFinishesEveryPendingFuture() {
    EventLoopThreadRunner runner(palitra::RunnerOptions{.closeGracePeriod = 50ms});
    std::atomic<bool> queuedInvoked{false};
    // One in flight that ignores its stop request, one stop-aware, one still queued.
    Gate *gate = runner.run([&]() -> QCoro::Task<Gate *> { co_return new Gate(runner.context()); });
    QFuture<bool> stubborn = runner.submit([gate] { return gateOrStop(gate, std::stop_token{}); });
    QFuture<bool> stopAware =
        runner.submit([gate] { return gateOrStop(gate, palitra::currentStopToken()); });
    QTRY_VERIFY(runner.run([gate]() -> QCoro::Task<bool> { co_return gate->hasListener(); }));
    QFuture<int> queued;
    {
        LoopBlocker blocker(runner);
        queued = runner.submit([&]() -> QCoro::Task<int> {
            queuedInvoked = true;
            co_return 1;
        });
        JoiningThread closer([&] { runner.close(); });
        // close() finishes every future at once, while the loop thread is still busy.
        QTRY_VERIFY(stubborn.isFinished());
        QTRY_VERIFY(stopAware.isFinished());
        QTRY_VERIFY(queued.isFinished());
        blocker.release();
    }
    QCOMPARE(endingOf(stubborn), Ending::Closed);
    QCOMPARE(endingOf(stopAware), Ending::Closed);
    QCOMPARE(endingOf(queued), Ending::Closed);
    QVERIFY(!queuedInvoked);
}

void tst_Submit::closedRunnerGivesFailedFuture() {
    EventLoopThreadRunner runner;
    runner.close();
    std::atomic<bool> invoked{false};
    QFuture<int> future = runner.submit([&]() -> QCoro::Task<int> {
        invoked = true;
        co_return 1;
    });
    QVERIFY(future.isFinished());
    QCOMPARE(endingOf(future), Ending::Closed);
    QVERIFY(!invoked);
}

void tst_Submit::lateResultIsDropped() {
    Counted::reset();
    {
        EventLoopThreadRunner runner;
        Gate *gate =
            runner.run([&]() -> QCoro::Task<Gate *> { co_return new Gate(runner.context()); });
        std::latch ended(1);
        QFuture<Counted> future = runner.submit([gate, &ended]() -> QCoro::Task<Counted> {
            co_await gateOrStop(gate, std::stop_token{}); // ignores the stop request
            ended.count_down();
            co_return Counted(1);
        });
        QTRY_VERIFY(runner.run([gate]() -> QCoro::Task<bool> { co_return gate->hasListener(); }));
        future.cancel();
        QTRY_VERIFY(future.isFinished());
        QMetaObject::invokeMethod(gate, [gate] { gate->open(); });
        ended.wait();
        runner.run([]() -> QCoro::Task<> { co_return; });
        QCOMPARE(future.resultCount(), 0);
        QCOMPARE(endingOf(future), Ending::Cancelled);
    }
    QCOMPARE(Counted::live(), 0);
}

void tst_Submit::cancelRacingCompletion() {
    EventLoopThreadRunner runner;
    int cancelled = 0;
    std::vector<QFuture<int>> futures;
    for (int i = 0; i < 300; ++i) {
        futures.push_back(runner.submit([i]() -> QCoro::Task<int> { co_return i; }));
        if (i % 2 == 0)
            futures.back().cancel();
    }
    for (int i = 0; i < int(futures.size()); ++i) {
        QTRY_VERIFY(futures[i].isFinished());
        const Ending ending = endingOf(futures[i]);
        if (i % 2 == 0) {
            QVERIFY(ending == Ending::Cancelled || ending == Ending::Value ||
                    ending == Ending::CancelledAfterValue);
        } else {
            QCOMPARE(ending, Ending::Value);
        }
        if (ending == Ending::Value || ending == Ending::CancelledAfterValue)
            QCOMPARE(futures[i].resultAt(0), i);
        else
            ++cancelled;
    }
    // Each end counted once, in the bucket that matches what the future shows: a value Qt
    // dropped for a late cancel() is a cancelled call.
    const palitra::RunnerStats stats = runner.stats();
    QCOMPARE(stats.cancelled, cancelled);
    QCOMPARE(stats.completed, std::int64_t(futures.size()) - cancelled);
}

void tst_Submit::timeoutRacingCompletion() {
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    std::vector<QFuture<int>> futures;
    for (int i = 0; i < 200; ++i) {
        futures.push_back(runner.submit(
            []() -> QCoro::Task<int> {
                co_await palitra::sleepFor(1ms, palitra::currentStopToken());
                co_return 1;
            },
            1ms));
    }
    int values = 0;
    int timeouts = 0;
    for (auto &future : futures) {
        QTRY_VERIFY(future.isFinished());
        const Ending ending = endingOf(future);
        QVERIFY(ending == Ending::Value || ending == Ending::Timeout);
        (ending == Ending::Value ? values : timeouts)++;
    }
    QCOMPARE(values + timeouts, 200);
}

void tst_Submit::closeRacingCompletion() {
    for (int round = 0; round < 30; ++round) {
        EventLoopThreadRunner runner;
        std::vector<QFuture<int>> futures;
        JoiningThread closer([&] { runner.close(); });
        for (int i = 0; i < 50; ++i)
            futures.push_back(runner.submit([]() -> QCoro::Task<int> { co_return 1; }));
        closer.join();
        for (auto &future : futures) {
            QVERIFY(future.isFinished()); // close() returns only once every future finished
            const Ending ending = endingOf(future);
            QVERIFY(ending == Ending::Value || ending == Ending::Closed);
        }
    }
}

void tst_Submit::emptyCallableThrows() {
    EventLoopThreadRunner runner;
    std::function<QCoro::Task<int>()> empty;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, runner.submit(empty));
    QCoro::Task<int> (*null)() = nullptr;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, runner.submit(null, 1s));
    QCOMPARE(runner.submit([]() -> QCoro::Task<int> { co_return 2; }).result(), 2);
    // The free functions on the global runner check the same, before starting anything.
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, palitra::submit(empty));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, palitra::submit(null, 1s));
}

void tst_Submit::globalSubmit() {
    QFuture<QThread *> future =
        palitra::submit([]() -> QCoro::Task<QThread *> { co_return QThread::currentThread(); });
    QThread *loop = future.result();
    QVERIFY(loop != QThread::currentThread());
    QCOMPARE(loop->objectName(), QStringLiteral("palitra-global"));
    QVERIFY_THROWS_EXCEPTION(
        palitra::TimeoutError,
        palitra::submit([]() -> QCoro::Task<> { co_return; }, 0s).waitForFinished());
    palitra::shutdownGlobalRunner();
}

QTEST_GUILESS_MAIN(tst_Submit)
#include "tst_submit.moc"
