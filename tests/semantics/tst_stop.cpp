// SPDX-License-Identifier: MIT
// Cooperative stop (docs/SEMANTICS.md#cooperative-stop): currentStopToken(), sleepFor(),
// awaitSignal(), StopGuard and abortOnStop().
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QCoreApplication>
#include <QPointer>
#include <QScopeGuard>
#include <QTest>
#include <QTimer>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <tuple>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::test::Abortable;
using palitra::test::elapsedSince;
using palitra::test::Gate;
using palitra::test::JoiningThread;
using palitra::test::LoopBlocker;
using Clock = std::chrono::steady_clock;

namespace {

// The type contracts the tests below rely on.
static_assert(std::is_same_v<decltype(palitra::currentStopToken()), std::stop_token>);
static_assert(std::is_nothrow_move_constructible_v<palitra::StopGuard>);
static_assert(!std::is_copy_constructible_v<palitra::StopGuard>);
static_assert(
    std::is_same_v<decltype(std::declval<palitra::SleepAwaiter &>().await_resume()), bool>);
static_assert(std::is_same_v<
              decltype(palitra::awaitSignal(std::declval<Gate *>(), &Gate::opened).await_resume()),
              std::optional<std::tuple<int, QString>>>);

QCoro::Task<int> fortyTwo() {
    co_return 42;
}

enum class StopState { NoToken, NotRequested, AlreadyRequested, RequestedWhileAsleep };

} // namespace

Q_DECLARE_METATYPE(StopState)

class tst_Stop : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // currentStopToken()
    void tokenInsideCallable();
    void tokenOutsideCallable();
    void eachCallHasItsOwnToken();
    void siblingFailureRequestsStop();
    void siblingFailureBeforeStartIsSeenAtOnce();
    void timeoutBeforeTokenIsTakenIsSeenLater();

    // sleepFor(): wakes early on stop
    void sleepFor_data();
    void sleepFor();
    void sleepForWokenByTimeout();

    // awaitSignal(): resumes on the loop thread
    void awaitSignal_data();
    void awaitSignal();
    void awaitSignalNulloptOnStop();
    void awaitSignalNulloptWhenAlreadyStopped();
    void awaitSignalEmissionQueuedBehindStop();
    void awaitSignalSecondQueuedEmissionIgnored();

    // StopGuard / abortOnStop(): the action runs on the target's thread
    void stopGuardPostsToTargetThread();
    void stopGuardAlreadyRequestedPostsAtOnce();
    void stopGuardDestroyedNeverRuns();
    void stopGuardMovedRunsOnce();
    void defaultStopGuardDoesNothing();
    void abortOnStopRunsOnLoopThread();
    void stopCallbackOnTimeoutPostsToLoop();
};

// currentStopToken() ---------------------------------------------------------------------

void tst_Stop::tokenInsideCallable() {
    EventLoopThreadRunner runner;
    std::atomic<bool> possibleInCallable{false};
    std::atomic<bool> possibleInCoroutine{false};
    std::atomic<bool> requested{true};
    runner.run([&] {
        possibleInCallable = palitra::currentStopToken().stop_possible();
        return [](std::atomic<bool> &possible, std::atomic<bool> &req) -> QCoro::Task<> {
            const std::stop_token stop = palitra::currentStopToken();
            possible = stop.stop_possible();
            req = stop.stop_requested();
            co_return;
        }(possibleInCoroutine, requested);
    });
    QVERIFY(possibleInCallable);
    QVERIFY(possibleInCoroutine);
    QVERIFY(!requested);
}

void tst_Stop::tokenOutsideCallable() {
    QVERIFY(!palitra::currentStopToken().stop_possible()); // the caller's thread

    // A slot on the loop thread is not a palitra callable either.
    EventLoopThreadRunner runner;
    std::atomic<int> possibleInSlot{-1};
    QTimer::singleShot(0, runner.context(), [&] {
        possibleInSlot = palitra::currentStopToken().stop_possible() ? 1 : 0;
    });
    QTRY_VERIFY(possibleInSlot != -1);
    QCOMPARE(possibleInSlot.load(), 0);

    // Nor is a plain std::thread.
    std::atomic<bool> possibleInThread{true};
    JoiningThread([&] { possibleInThread = palitra::currentStopToken().stop_possible(); }).join();
    QVERIFY(!possibleInThread);

    // And the scope ends with the callable: after run() the loop thread has none.
    runner.run(fortyTwo);
    possibleInSlot = -1;
    QTimer::singleShot(0, runner.context(), [&] {
        possibleInSlot = palitra::currentStopToken().stop_possible() ? 1 : 0;
    });
    QTRY_VERIFY(possibleInSlot != -1);
    QCOMPARE(possibleInSlot.load(), 0);
}

void tst_Stop::eachCallHasItsOwnToken() {
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    std::stop_token first;
    std::atomic<bool> ended{false};
    QVERIFY(palitra::test::timeOutAfterInvoking(50ms, [&](auto timeout) {
        runner.run(
            [&]() -> QCoro::Task<> {
                first = palitra::currentStopToken();
                co_await palitra::sleepFor(30s, first);
                ended = true;
            },
            timeout);
    }));
    QTRY_VERIFY_WITH_TIMEOUT(ended, 10000);
    QVERIFY(first.stop_requested());

    // The next call is not affected by the previous one's stop.
    const bool secondRequested = runner.run([]() -> QCoro::Task<bool> {
        const std::stop_token stop = palitra::currentStopToken();
        co_return !stop.stop_possible() || stop.stop_requested();
    });
    QVERIFY(!secondRequested);
}

void tst_Stop::siblingFailureRequestsStop() {
    EventLoopThreadRunner runner;
    std::atomic<int> siblingSleptFully{-1};
    std::atomic<bool> siblingPossible{false};
    auto failing = []() -> QCoro::Task<int> {
        co_await palitra::sleepFor(10ms, std::stop_token{});
        throw std::runtime_error("sibling failed");
    };
    auto sleeper = [&]() -> QCoro::Task<int> {
        const std::stop_token stop = palitra::currentStopToken();
        siblingPossible = stop.stop_possible();
        siblingSleptFully = co_await palitra::sleepFor(30s, stop) ? 1 : 0;
        co_return 1;
    };
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, runner.gather(failing, sleeper));
    QVERIFY(siblingPossible);
    QTRY_VERIFY_WITH_TIMEOUT(siblingSleptFully != -1, 10000);
    QCOMPARE(siblingSleptFully.load(), 0); // woken by the stop request, not by its 30 s
}

void tst_Stop::siblingFailureBeforeStartIsSeenAtOnce() {
    // The first coroutine fails before the second one has started, so the stop is requested
    // before anything has asked for the call's token: the second one's first look must see it.
    // Declared before the runner: the caller may return (its gather failed) before the second
    // coroutine has started, so the loop may still write it until the runner is gone.
    std::atomic<int> requestedAtStart{-1};
    EventLoopThreadRunner runner;
    auto failsAtOnce = []() -> QCoro::Task<int> {
        throw std::runtime_error("failed before suspending");
        co_return 0;
    };
    auto looksAtItsToken = [&] {
        const std::stop_token stop = palitra::currentStopToken();
        requestedAtStart = stop.stop_possible() && stop.stop_requested() ? 1 : 0;
        return fortyTwo();
    };
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, runner.gather(failsAtOnce, looksAtItsToken));
    QTRY_VERIFY_WITH_TIMEOUT(requestedAtStart != -1, 10000);
    QCOMPARE(requestedAtStart.load(), 1);
}

void tst_Stop::timeoutBeforeTokenIsTakenIsSeenLater() {
    // A coroutine that keeps its CallContext but asks for the token only after its caller has
    // timed out gets a token that is already stopped, with a stop callback run at once.
    std::atomic<int> invoked{0}; // before the runner, which may outlive a failed check
    std::atomic<int> resumed{0};
    std::atomic<int> sawStopped{0};
    std::atomic<int> callbackRan{0};
    Gate gate;
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    QVERIFY(palitra::test::timeOutAfterInvoking(50ms, [&](auto timeout) {
        runner.run(
            [&]() -> QCoro::Task<> {
                const palitra::CallContext call = palitra::currentCall();
                ++invoked;
                co_await palitra::awaitSignal(&gate, &Gate::opened); // deaf to the stop
                const std::stop_token stop = call.stopToken();
                if (stop.stop_requested())
                    ++sawStopped;
                const std::stop_callback onStop(stop, [&] { ++callbackRan; });
                ++resumed;
            },
            timeout);
    }));
    QTRY_VERIFY(gate.hasListener());
    // Queued to the loop thread, where the awaiting coroutines resume.
    QMetaObject::invokeMethod(runner.context(), [&] { gate.open(); });
    QTRY_VERIFY_WITH_TIMEOUT(resumed == invoked, 10000);
    QVERIFY(resumed > 0);
    QCOMPARE(sawStopped.load(), resumed.load()); // every attempt ended in TimeoutError
    QCOMPARE(callbackRan.load(), resumed.load());
}

// sleepFor() -----------------------------------------------------------------------------

void tst_Stop::sleepFor_data() {
    QTest::addColumn<StopState>("state");
    QTest::addColumn<int>("sleepMs");
    QTest::addColumn<bool>("expectFull");
    QTest::newRow("no token, 20ms") << StopState::NoToken << 20 << true;
    QTest::newRow("no token, 0ms") << StopState::NoToken << 0 << true;
    QTest::newRow("no token, -5ms") << StopState::NoToken << -5 << true;
    QTest::newRow("not requested, 20ms") << StopState::NotRequested << 20 << true;
    QTest::newRow("already requested, 30s") << StopState::AlreadyRequested << 30000 << false;
    QTest::newRow("requested while asleep, 30s")
        << StopState::RequestedWhileAsleep << 30000 << false;
}

void tst_Stop::sleepFor() {
    QFETCH(StopState, state);
    QFETCH(int, sleepMs);
    QFETCH(bool, expectFull);
    EventLoopThreadRunner runner;
    std::stop_source source;
    if (state == StopState::AlreadyRequested)
        source.request_stop();
    const std::stop_token token =
        state == StopState::NoToken ? std::stop_token{} : source.get_token();

    std::atomic<bool> asleep{false};
    std::atomic<QThread *> resumedOn{nullptr};
    // Another thread requests the stop once the coroutine is about to sleep: not the loop thread.
    JoiningThread requester([&] {
        if (state != StopState::RequestedWhileAsleep)
            return;
        asleep.wait(false);
        source.request_stop();
    });
    auto unblockRequester = qScopeGuard([&] { // should run() fail before the coroutine sleeps
        asleep = true;
        asleep.notify_all();
    });
    palitra::test::Watchdog watchdog(60s, "sleepFor"); // a sleep that never wakes fails
    const auto start = Clock::now();
    const bool full = runner.run(
        [&]() -> QCoro::Task<bool> {
            asleep = true;
            asleep.notify_all();
            const bool result =
                co_await palitra::sleepFor(std::chrono::milliseconds(sleepMs), token);
            resumedOn = QThread::currentThread();
            co_return result;
        },
        60s);
    const auto elapsed = elapsedSince(start);
    QCOMPARE(full, expectFull);
    QCOMPARE(resumedOn.load(), runner.thread());
    // A sleep that woke early says so (false): the stop request, not its 30 s, ended it.
    if (expectFull)
        QVERIFY2(elapsed >= std::chrono::milliseconds(std::max(sleepMs, 0)), "woke too early");
}

void tst_Stop::sleepForWokenByTimeout() {
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    std::atomic<int> full{-1};
    std::atomic<QThread *> resumedOn{nullptr};
    QVERIFY(palitra::test::timeOutAfterInvoking(100ms, [&](auto timeout) {
        (void)runner.run(
            [&]() -> QCoro::Task<> {
                const auto stop = palitra::currentStopToken();
                const bool slept = co_await palitra::sleepFor(30s, stop);
                resumedOn = QThread::currentThread();
                full = slept ? 1 : 0;
            },
            timeout);
    }));
    QTRY_VERIFY_WITH_TIMEOUT(full != -1, 10000);
    QCOMPARE(full.load(), 0);                    // woken by the stop request, not by its 30 s
    QCOMPARE(resumedOn.load(), runner.thread()); // the stop came from this thread, not the loop
}

// awaitSignal() --------------------------------------------------------------------------

void tst_Stop::awaitSignal_data() {
    QTest::addColumn<QString>("emitter");
    QTest::newRow("sender on this thread, emitted here") << QStringLiteral("main");
    QTest::newRow("sender on this thread, emitted from a std::thread")
        << QStringLiteral("std::thread");
    QTest::newRow("sender on the loop thread, emitted there") << QStringLiteral("loop");
}

void tst_Stop::awaitSignal() {
    QFETCH(QString, emitter);
    EventLoopThreadRunner runner;
    Gate mainGate; // lives on this thread
    Gate *gate = &mainGate;
    if (emitter == QLatin1String("loop")) {
        gate = new Gate;
        gate->moveToThread(runner.thread());
    }
    auto deleteLoopGate = qScopeGuard([&] {
        if (gate != &mainGate)
            QMetaObject::invokeMethod(gate, &QObject::deleteLater);
    });

    using Args = std::optional<std::tuple<int, QString>>;
    Args received;
    std::atomic<QThread *> resumedOn{nullptr};
    std::atomic<bool> done{false};
    // The caller that blocks is a helper thread, so that this thread stays free to emit.
    JoiningThread caller([&] {
        try {
            received = runner.run(
                [&]() -> QCoro::Task<Args> {
                    const auto stop = palitra::currentStopToken();
                    Args args = co_await palitra::awaitSignal(gate, &Gate::opened, stop);
                    resumedOn = QThread::currentThread();
                    co_return args;
                },
                30s);
        } catch (...) {
        }
        done = true;
    });
    QTRY_VERIFY(gate->hasListener());
    if (emitter == QLatin1String("main")) {
        gate->open(7, QStringLiteral("seven"));
    } else if (emitter == QLatin1String("std::thread")) {
        JoiningThread([&] { gate->open(7, QStringLiteral("seven")); }).join();
    } else {
        QTimer::singleShot(0, gate, [gate] { gate->open(7, QStringLiteral("seven")); });
    }
    QTRY_VERIFY_WITH_TIMEOUT(done, 10000);
    QVERIFY(received.has_value());
    QCOMPARE(std::get<0>(*received), 7);
    QCOMPARE(std::get<1>(*received), QStringLiteral("seven"));
    QCOMPARE(resumedOn.load(), runner.thread());
    QVERIFY(!gate->hasListener()); // one emission, then it lets go
}

void tst_Stop::awaitSignalNulloptOnStop() {
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    Gate gate;
    std::atomic<int> hadValue{-1};
    std::atomic<QThread *> resumedOn{nullptr};
    QVERIFY(palitra::test::timeOutAfterInvoking(100ms, [&](auto timeout) {
        (void)runner.run(
            [&]() -> QCoro::Task<> {
                const auto stop = palitra::currentStopToken();
                const auto args = co_await palitra::awaitSignal(&gate, &Gate::opened, stop);
                resumedOn = QThread::currentThread();
                hadValue = args.has_value() ? 1 : 0;
            },
            timeout);
    }));
    QTRY_VERIFY_WITH_TIMEOUT(hadValue != -1, 10000);
    QCOMPARE(hadValue.load(), 0); // ended by the stop request: the gate never opened
    QCOMPARE(resumedOn.load(), runner.thread());
    QTRY_VERIFY(!gate.hasListener());
    gate.open(1); // nobody listens any more: harmless
    QCOMPARE(runner.run(fortyTwo), 42);
}

void tst_Stop::awaitSignalNulloptWhenAlreadyStopped() {
    EventLoopThreadRunner runner;
    Gate gate;
    std::stop_source source;
    source.request_stop();
    const bool hadValue = runner.run(
        [&]() -> QCoro::Task<bool> {
            const auto args =
                co_await palitra::awaitSignal(&gate, &Gate::opened, source.get_token());
            co_return args.has_value();
        },
        30s);
    QVERIFY(!hadValue);
    QVERIFY(!gate.hasListener());
}

void tst_Stop::awaitSignalEmissionQueuedBehindStop() {
    // The stop wake-up and a queued emission both wait behind a busy loop; the stop wins, the
    // coroutine resumes and its awaiter is gone when the emission is delivered. That emission
    // must not touch the finished frame (run under ASan to see a violation).
    EventLoopThreadRunner runner;
    Gate gate; // on this thread: emissions are queued to the loop thread
    std::stop_source source;
    std::atomic<int> hadValue{-1};
    std::atomic<bool> armed{false};
    JoiningThread caller([&] {
        try {
            runner.run([&]() -> QCoro::Task<> {
                armed = true;
                const auto args =
                    co_await palitra::awaitSignal(&gate, &Gate::opened, source.get_token());
                hadValue = args.has_value() ? 1 : 0;
            });
        } catch (...) {
            hadValue = 2;
        }
    });
    QTRY_VERIFY(gate.hasListener());
    {
        LoopBlocker blocker(runner);
        QVERIFY(!blocker.failed());
        source.request_stop(); // posts the wake-up to the loop
        gate.open(5);          // queued behind it
    }
    QTRY_VERIFY_WITH_TIMEOUT(hadValue != -1, 10000);
    QCOMPARE(hadValue.load(), 0);
    // More loop work after the stale emission: the loop and the runner are intact.
    for (int i = 0; i < 10; ++i)
        QCOMPARE(runner.run([]() -> QCoro::Task<int> {
            co_await palitra::sleepFor(1ms, std::stop_token{});
            co_return 42;
        }),
                 42);
}

void tst_Stop::awaitSignalSecondQueuedEmissionIgnored() {
    // Two emissions from another thread are queued before the loop gets to them: the first
    // resumes the coroutine, which ends; the second must not touch the finished frame (run under
    // ASan to see a violation).
    EventLoopThreadRunner runner;
    Gate gate; // on this thread: emissions are queued to the loop thread
    std::atomic<int> code{-1};
    JoiningThread caller([&] {
        try {
            runner.run([&]() -> QCoro::Task<> {
                const auto args = co_await palitra::awaitSignal(&gate, &Gate::opened);
                code = args ? std::get<0>(*args) : 0;
            });
        } catch (...) {
            code = -2;
        }
    });
    QTRY_VERIFY(gate.hasListener());
    {
        LoopBlocker blocker(runner);
        QVERIFY(!blocker.failed());
        gate.open(1);
        gate.open(2);
    }
    QTRY_VERIFY_WITH_TIMEOUT(code != -1, 10000);
    QCOMPARE(code.load(), 1);
    for (int i = 0; i < 10; ++i)
        QCOMPARE(runner.run([]() -> QCoro::Task<int> {
            co_await palitra::sleepFor(1ms, std::stop_token{});
            co_return 42;
        }),
                 42);
}

// StopGuard / abortOnStop() --------------------------------------------------------------

void tst_Stop::stopGuardPostsToTargetThread() {
    QObject target; // on this thread
    std::stop_source source;
    std::atomic<int> runs{0};
    std::atomic<QThread *> ranOn{nullptr};
    palitra::StopGuard guard(source.get_token(), &target, [&] {
        ranOn = QThread::currentThread();
        ++runs;
    });
    JoiningThread([&] { source.request_stop(); }).join();
    // Posted, never run inline on the requesting thread; this thread has not run events yet.
    QCOMPARE(runs.load(), 0);
    QTRY_COMPARE(runs.load(), 1);
    QCOMPARE(ranOn.load(), QThread::currentThread());
}

void tst_Stop::stopGuardAlreadyRequestedPostsAtOnce() {
    EventLoopThreadRunner runner;
    QObject *const target = runner.context(); // on the loop thread
    std::stop_source source;
    source.request_stop();
    std::atomic<int> runs{0};
    std::atomic<QThread *> ranOn{nullptr};
    palitra::StopGuard guard(source.get_token(), target, [&] {
        ranOn = QThread::currentThread();
        ++runs;
    });
    QTRY_COMPARE(runs.load(), 1);
    QCOMPARE(ranOn.load(), runner.thread());
}

void tst_Stop::stopGuardDestroyedNeverRuns() {
    QObject target;
    std::stop_source source;
    std::atomic<bool> ran{false};
    {
        palitra::StopGuard guard(source.get_token(), &target, [&] { ran = true; });
    }
    source.request_stop();
    // Anything posted by the request would be delivered before this later posted event.
    std::atomic<bool> sentinel{false};
    QMetaObject::invokeMethod(
        &target, [&] { sentinel = true; }, Qt::QueuedConnection);
    QTRY_VERIFY(sentinel);
    QVERIFY(!ran);
}

void tst_Stop::stopGuardMovedRunsOnce() {
    QObject target;
    std::stop_source source;
    std::atomic<int> runs{0};
    palitra::StopGuard moved;
    {
        palitra::StopGuard guard(source.get_token(), &target, [&] { ++runs; });
        moved = std::move(guard);
    } // the moved-from guard ends here; the callback lives on in `moved`
    source.request_stop();
    std::atomic<bool> sentinel{false};
    QMetaObject::invokeMethod(
        &target, [&] { sentinel = true; }, Qt::QueuedConnection);
    QTRY_VERIFY(sentinel);
    QCOMPARE(runs.load(), 1);
}

void tst_Stop::defaultStopGuardDoesNothing() {
    palitra::StopGuard guard;
    palitra::StopGuard other(std::move(guard));
    guard = std::move(other);
    // A guard on a token that can never be stopped, and one without a target, do nothing.
    std::atomic<bool> ran{false};
    palitra::StopGuard noToken(std::stop_token{}, this, [&] { ran = true; });
    std::stop_source source;
    palitra::StopGuard noTarget(source.get_token(), nullptr, [&] { ran = true; });
    source.request_stop();
    std::atomic<bool> sentinel{false};
    QMetaObject::invokeMethod(
        this, [&] { sentinel = true; }, Qt::QueuedConnection);
    QTRY_VERIFY(sentinel);
    QVERIFY(!ran);
}

void tst_Stop::abortOnStopRunsOnLoopThread() {
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    QPointer<Abortable> abortable;
    std::atomic<bool> resumed{false};
    std::atomic<QThread *> resumedOn{nullptr};
    QVERIFY(palitra::test::timeOutAfterInvoking(100ms, [&](auto timeout) {
        (void)runner.run(
            [&]() -> QCoro::Task<> {
                const auto stop = palitra::currentStopToken();
                auto *op = new Abortable; // like a QNetworkReply made on the loop thread
                abortable = op;
                {
                    const auto guard = palitra::abortOnStop(op, stop);
                    // Waits without a stop token: only abort() can end it.
                    co_await palitra::awaitSignal(op, &Abortable::aborted);
                }
                resumedOn = QThread::currentThread();
                resumed = true;
            },
            timeout);
    }));
    // Only abort() can end the await, and only the stop request calls it.
    QTRY_VERIFY_WITH_TIMEOUT(resumed, 10000);
    QVERIFY(abortable);
    QCOMPARE(abortable->abortCount.load(), 1);
    QCOMPARE(abortable->abortedOn.load(), runner.thread());
    QCOMPARE(resumedOn.load(), runner.thread());
    runner.run([&]() -> QCoro::Task<> {
        delete abortable.data();
        co_return;
    });
}

void tst_Stop::stopCallbackOnTimeoutPostsToLoop() {
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    std::atomic<QThread *> rawCallbackOn{nullptr};
    std::atomic<QThread *> guardActionOn{nullptr};
    std::atomic<bool> ended{false};
    QThread *const caller = QThread::currentThread();
    QVERIFY(palitra::test::timeOutAfterInvoking(100ms, [&](auto timeout) {
        (void)runner.run(
            [&]() -> QCoro::Task<> {
                const auto stop = palitra::currentStopToken();
                // A raw callback runs on whichever thread requests the stop...
                std::stop_callback raw(stop, [&] { rawCallbackOn = QThread::currentThread(); });
                // ...a StopGuard posts its action to the target's thread.
                palitra::StopGuard guard(stop, runner.context(),
                                         [&] { guardActionOn = QThread::currentThread(); });
                co_await palitra::sleepFor(30s, stop);
                // The sleep's own stop callback may run first and wake this frame while the
                // caller is still running the others: keep `raw` registered until it has run.
                rawCallbackOn.wait(nullptr);
                ended = true; // the guard's action is queued already; it still runs
            },
            timeout);
    }));
    QTRY_VERIFY_WITH_TIMEOUT(ended, 10000);
    QCOMPARE(rawCallbackOn.load(), caller); // the timeout is requested by the caller
    QTRY_VERIFY(guardActionOn.load() != nullptr);
    QCOMPARE(guardActionOn.load(), runner.thread());
}

QTEST_GUILESS_MAIN(tst_Stop)
#include "tst_stop.moc"
