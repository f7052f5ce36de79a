// SPDX-License-Identifier: MIT
// close(), the destructor, lazy start and a loop thread ended behind palitra's back
// (docs/SEMANTICS.md#close, #lazy-start).
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QFuture>
#include <QMetaObject>
#include <QObject>
#include <QPointer>
#include <QTest>
#include <QThread>

#include <atomic>
#include <functional>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::RunnerClosedError;
using palitra::RunnerOptions;
using palitra::test::Clock;
using palitra::test::Counted;
using palitra::test::elapsedSince;
using palitra::test::JoiningThread;
using palitra::test::LeakOnPurpose;
using palitra::test::MessageLog;
using palitra::test::threadsNamed;

namespace {

using IntFn = std::function<QCoro::Task<int>()>;

enum Woke : int { StillAsleep = 0, ByStop = 1, FullTime = 2 };

// Well-behaved: sleeps an hour unless stopped, and reports how it woke. Counts down \a started
// once suspended-to-be (before its first suspension).
QCoro::Task<int> sleepUntilStopped(std::shared_ptr<std::atomic<int>> woke,
                                   std::shared_ptr<std::latch> started) {
    const std::stop_token stop = palitra::currentStopToken();
    if (started)
        started->count_down();
    const bool fullTime = co_await palitra::sleepFor(1h, stop);
    woke->store(fullTime ? FullTime : ByStop);
    co_return -1;
}

// Ill-behaved: ignores stop and sleeps an hour. Only for coroutines a test abandons.
QCoro::Task<int> ignoreStop(std::shared_ptr<std::latch> started) {
    if (started)
        started->count_down();
    co_await palitra::sleepFor(1h, std::stop_token{});
    co_return -2;
}

IntFn illBehaved(std::shared_ptr<std::latch> started) {
    return [started] {
        const LeakOnPurpose leak; // the frame is abandoned on purpose (docs/SEMANTICS.md#close)
        return ignoreStop(started);
    };
}

// Options whose thread name tells this runner's thread apart from every other one.
RunnerOptions named(const char *name) {
    RunnerOptions options;
    options.threadName = QString::fromLatin1(name);
    return options;
}

QCoro::Task<int> answer(int value) {
    co_return value;
}

// How a call ended, for calls made on another thread.
enum class Ended { Value, Closed, Timeout, Other };

template<typename F>
std::future<Ended> callAsync(F f) {
    return std::async(std::launch::async, [f = std::move(f)]() mutable {
        try {
            f();
            return Ended::Value;
        } catch (const RunnerClosedError &) {
            return Ended::Closed;
        } catch (const palitra::TimeoutError &) {
            return Ended::Timeout;
        } catch (...) {
            return Ended::Other;
        }
    });
}

// What a lazyStart row does to a fresh runner.
enum class LazyAction { ConstructOnly, EmptyGather, IsRunning, Thread, Context, Run, Gather };
// The state a runner is in when four threads close it.
enum class RunnerState { NeverStarted, Idle, InFlight };
// Which call a row of callsAfterCloseThrow makes on a closed runner.
enum class ClosedCall {
    Run,
    RunWithTimeout,
    GatherVariadic,
    GatherRange,
    GatherOutcomesVariadic,
    GatherOutcomesRange,
    GatherVariadicWithTimeout,
    EmptyGatherRange,
};

// Which call a data row makes.
enum class Call { Run, RunWithTimeout, GatherVariadic, GatherRange, GatherOutcomesRange };

void makeCall(EventLoopThreadRunner &runner, Call call, const IntFn &fn) {
    switch (call) {
    case Call::Run:
        runner.run(fn);
        break;
    case Call::RunWithTimeout:
        runner.run(fn, 1h);
        break;
    case Call::GatherVariadic:
        runner.gather(fn, [] { return answer(1); });
        break;
    case Call::GatherRange:
        runner.gather(std::vector<IntFn>{fn, [] { return answer(1); }});
        break;
    case Call::GatherOutcomesRange:
        runner.gatherOutcomes(std::vector<IntFn>{fn, [] { return answer(1); }});
        break;
    }
}

void addCallRows() {
    QTest::addColumn<Call>("call");
    QTest::newRow("run") << Call::Run;
    QTest::newRow("run with timeout") << Call::RunWithTimeout;
    QTest::newRow("gather(fa, fb)") << Call::GatherVariadic;
    QTest::newRow("gather(range)") << Call::GatherRange;
    QTest::newRow("gatherOutcomes(range)") << Call::GatherOutcomesRange;
}

} // namespace

Q_DECLARE_METATYPE(Call)
Q_DECLARE_METATYPE(LazyAction)
Q_DECLARE_METATYPE(RunnerState)
Q_DECLARE_METATYPE(ClosedCall)

class tst_Close : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // --- lazy start ------------------------------------------------------------------------
    void lazyStart_data();
    void lazyStart();

    void threadAndContextAreNullAfterClose();

    // --- close() is idempotent and thread-safe ------------------------------------------
    void closeTwice_data();
    void closeTwice();

    void closeFromFourThreadsAtOnce_data();
    void closeFromFourThreadsAtOnce();

    // --- after close(), run/gather throw RunnerClosedError ------------------------------
    void callsAfterCloseThrow_data();
    void callsAfterCloseThrow();

    // --- callers blocked at close() are released promptly -------------------------------
    void blockedCallerReleasedPromptly_data();
    void blockedCallerReleasedPromptly();

    // --- queued-not-started work fails and is never invoked -----------------------------
    void queuedWorkFailsAndIsNeverInvoked();

    // --- in-flight coroutines are asked to stop; well-behaved ones end in the grace ----
    void wellBehavedCoroutinesFinishWithinGrace_data();
    void wellBehavedCoroutinesFinishWithinGrace();
    void graceBeginsAfterTheStopRequests();
    void extremeGracePeriods();
    void closeFromUserCodeThatCloseRuns_data();
    void closeFromUserCodeThatCloseRuns();

    // --- ill-behaved coroutines are abandoned after the grace period, and counted -------
    void illBehavedCoroutinesAbandonedAfterGrace_data();
    void illBehavedCoroutinesAbandonedAfterGrace();

    // --- close() from the loop thread does not deadlock ---------------------------------
    void closeFromLoopThread_data();
    void closeFromLoopThread();

    // --- the destructor calls close() -----------------------------------------------------
    void destructorCloses();

    void destroyingRunnerReleasesBlockedCaller_data();
    void destroyingRunnerReleasesBlockedCaller();

    // --- the loop thread ended behind palitra's back -----------------------------------------
    void loopEndedBehindBack_data();
    void loopEndedBehindBack();

    void callRacingLoopQuitNeverHangs();
};

// lazy start ---------------------------------------------------------------------------------

void tst_Close::lazyStart_data() {
    QTest::addColumn<LazyAction>("action");
    QTest::addColumn<bool>("starts");
    QTest::newRow("construct only") << LazyAction::ConstructOnly << false;
    QTest::newRow("empty gather(range)") << LazyAction::EmptyGather << false;
    QTest::newRow("isRunning()") << LazyAction::IsRunning << false;
    QTest::newRow("thread()") << LazyAction::Thread << true;
    QTest::newRow("context()") << LazyAction::Context << true;
    QTest::newRow("run()") << LazyAction::Run << true;
    QTest::newRow("gather(fa, fb)") << LazyAction::Gather << true;
}

void tst_Close::lazyStart() {
    QFETCH(LazyAction, action);
    QFETCH(bool, starts);
    const QByteArray name = "lazy-start";
    QCOMPARE(threadsNamed(name), 0);
    {
        EventLoopThreadRunner runner(named(name));
        QCOMPARE(threadsNamed(name), 0);
        QVERIFY(!runner.isRunning());
        switch (action) {
        case LazyAction::ConstructOnly:
            break;
        case LazyAction::EmptyGather:
            QVERIFY(runner.gather(std::vector<IntFn>{}).isEmpty());
            break;
        case LazyAction::IsRunning:
            QVERIFY(!runner.isRunning());
            break;
        case LazyAction::Thread: {
            QThread *t = runner.thread();
            QVERIFY(t);
            QVERIFY(t != QThread::currentThread());
            QVERIFY(t->isRunning());
            break;
        }
        case LazyAction::Context: {
            QObject *c = runner.context();
            QVERIFY(c);
            QVERIFY(c->thread() == runner.thread());
            break;
        }
        case LazyAction::Run:
            QCOMPARE(runner.run([] { return answer(5); }), 5);
            break;
        case LazyAction::Gather: {
            const auto [a, b] = runner.gather([] { return answer(1); }, [] { return answer(2); });
            QCOMPARE(a + b, 3);
            break;
        }
        }
        QCOMPARE(runner.isRunning(), starts);
        QCOMPARE(threadsNamed(name), starts ? 1 : 0);
    }
    QTRY_COMPARE(threadsNamed(name), 0); // the destructor ended the thread
}

void tst_Close::threadAndContextAreNullAfterClose() {
    EventLoopThreadRunner runner;
    QVERIFY(runner.context());
    runner.close();
    QVERIFY(!runner.isRunning());
    QVERIFY(runner.thread() == nullptr);
    QVERIFY(runner.context() == nullptr);

    EventLoopThreadRunner unstarted(named("never-started"));
    unstarted.close();
    QVERIFY(unstarted.thread() == nullptr); // asking a closed runner starts nothing
    QVERIFY(unstarted.context() == nullptr);
    QCOMPARE(threadsNamed("never-started"), 0);
}

// close() is idempotent and thread-safe ------------------------------------------------------

void tst_Close::closeTwice_data() {
    QTest::addColumn<bool>("start");
    QTest::newRow("started") << true;
    QTest::newRow("never started") << false;
}

void tst_Close::closeTwice() {
    QFETCH(bool, start);
    EventLoopThreadRunner runner(named("close-twice"));
    if (start)
        QCOMPARE(runner.run([] { return answer(1); }), 1);
    QCOMPARE(threadsNamed("close-twice"), start ? 1 : 0);
    runner.close();
    runner.close();
    QVERIFY(!runner.isRunning());
    QTRY_COMPARE(threadsNamed("close-twice"), 0);
    QVERIFY_THROWS_EXCEPTION(RunnerClosedError, runner.run([] { return answer(1); }));
}

void tst_Close::closeFromFourThreadsAtOnce_data() {
    QTest::addColumn<RunnerState>("state");
    QTest::newRow("never started") << RunnerState::NeverStarted;
    QTest::newRow("idle") << RunnerState::Idle;
    QTest::newRow("coroutine in flight, caller blocked") << RunnerState::InFlight;
}

void tst_Close::closeFromFourThreadsAtOnce() {
    QFETCH(RunnerState, state);
    constexpr int closers = 4;
    palitra::test::Watchdog watchdog(30s, "closeFromFourThreadsAtOnce");
    EventLoopThreadRunner runner;
    auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
    auto started = std::make_shared<std::latch>(1);
    std::future<Ended> caller;
    if (state != RunnerState::NeverStarted)
        QCOMPARE(runner.run([] { return answer(1); }), 1);
    if (state == RunnerState::InFlight) {
        caller = callAsync([&runner, woke, started] {
            runner.run([woke, started] { return sleepUntilStopped(woke, started); });
        });
        started->wait();
    }
    std::latch go(closers + 1);
    std::atomic<int> returned{0};
    {
        std::vector<JoiningThread> threads;
        for (int i = 0; i < closers; ++i) {
            threads.emplace_back([&] {
                go.arrive_and_wait();
                runner.close();
                // Every close() returns with the runner closed, not only the first one.
                if (!runner.isRunning() && runner.thread() == nullptr)
                    ++returned;
            });
        }
        go.arrive_and_wait();
    }
    QCOMPARE(returned.load(), closers);
    if (state == RunnerState::InFlight) {
        QCOMPARE(caller.get(), Ended::Closed);
        QCOMPARE(woke->load(), int(ByStop));
    }
    QVERIFY_THROWS_EXCEPTION(RunnerClosedError, runner.run([] { return answer(1); }));
}

// after close(), run/gather throw RunnerClosedError ------------------------------------------

void tst_Close::callsAfterCloseThrow_data() {
    QTest::addColumn<ClosedCall>("call");
    QTest::addColumn<bool>("started");
    QTest::newRow("run, started") << ClosedCall::Run << true;
    QTest::newRow("run, never started") << ClosedCall::Run << false;
    QTest::newRow("run with timeout") << ClosedCall::RunWithTimeout << true;
    QTest::newRow("gather(fa, fb)") << ClosedCall::GatherVariadic << true;
    QTest::newRow("gather(range)") << ClosedCall::GatherRange << true;
    QTest::newRow("gatherOutcomes(fa, fb)") << ClosedCall::GatherOutcomesVariadic << true;
    QTest::newRow("gatherOutcomes(range)") << ClosedCall::GatherOutcomesRange << true;
    QTest::newRow("gather(fa, fb, timeout)") << ClosedCall::GatherVariadicWithTimeout << true;
    QTest::newRow("empty gather(range)") << ClosedCall::EmptyGatherRange << true;
    QTest::newRow("gather(range), never started") << ClosedCall::GatherRange << false;
}

void tst_Close::callsAfterCloseThrow() {
    QFETCH(ClosedCall, call);
    QFETCH(bool, started);
    EventLoopThreadRunner runner;
    if (started)
        QCOMPARE(runner.run([] { return answer(1); }), 1);
    runner.close();
    auto invoked = std::make_shared<std::atomic<int>>(0);
    IntFn fn = [invoked] {
        ++*invoked;
        return answer(2);
    };
    // Nothing is started or waited for: a call that waited would hang, and fail here.
    palitra::test::Watchdog watchdog(30s, "callsAfterCloseThrow");
    bool closed = false;
    try {
        switch (call) {
        case ClosedCall::Run:
            runner.run(fn);
            break;
        case ClosedCall::RunWithTimeout:
            runner.run(fn, 10s);
            break;
        case ClosedCall::GatherVariadic:
            runner.gather(fn, fn);
            break;
        case ClosedCall::GatherRange:
            runner.gather(std::vector<IntFn>{fn, fn});
            break;
        case ClosedCall::GatherOutcomesVariadic:
            runner.gatherOutcomes(fn, fn);
            break;
        case ClosedCall::GatherOutcomesRange:
            runner.gatherOutcomes(QList<IntFn>{fn, fn});
            break;
        case ClosedCall::GatherVariadicWithTimeout:
            runner.gather(fn, fn, 10s);
            break;
        case ClosedCall::EmptyGatherRange:
            runner.gather(std::vector<IntFn>{});
            break;
        }
    } catch (const RunnerClosedError &) {
        closed = true;
    }
    QVERIFY(closed);
    QCOMPARE(invoked->load(), 0);
    QVERIFY(!runner.isRunning());
}

// callers blocked at close() are released promptly -------------------------------------------

void tst_Close::blockedCallerReleasedPromptly_data() {
    addCallRows();
}

void tst_Close::blockedCallerReleasedPromptly() {
    // The coroutine ignores its stop request and ends only when the gate opens, which the test
    // does once the caller is back: close() is still inside its grace period (a day long) all
    // that time, so a caller that waited for close() would never come back (the watchdog fails
    // it).
    QFETCH(Call, call);
    palitra::test::Watchdog watchdog(60s, "blockedCallerReleasedPromptly");
    MessageLog messages;
    RunnerOptions options;
    options.closeGracePeriod = 24h;
    EventLoopThreadRunner runner(options);
    palitra::test::Gate gate;
    auto started = std::make_shared<std::latch>(1);
    auto ended = std::make_shared<std::atomic<bool>>(false);
    const IntFn fn = [&gate, started, ended]() -> QCoro::Task<int> {
        started->count_down();
        co_await palitra::awaitSignal(&gate, &palitra::test::Gate::opened); // no stop token
        *ended = true;
        co_return 1;
    };
    std::future<Ended> caller = callAsync([&runner, call, fn] { makeCall(runner, call, fn); });
    started->wait();
    QTRY_VERIFY(gate.hasListener());

    std::atomic<bool> closeReturned{false};
    JoiningThread closer([&] {
        runner.close();
        closeReturned = true;
    });
    caller.wait();
    QCOMPARE(caller.get(), Ended::Closed);
    // Released while close() still waits for the coroutine, which is still suspended.
    QVERIFY(!closeReturned);
    QVERIFY(!*ended);
    gate.open();
    closer.join();
    QVERIFY(*ended); // close() returned because the coroutine ended, within its grace period
    QCOMPARE(messages.countContaining(QStringLiteral("abandoned")), 0);
}

// queued-not-started work fails and is never invoked -----------------------------------------

void tst_Close::queuedWorkFailsAndIsNeverInvoked() {
    constexpr int queuedCallers = 3;
    palitra::test::Watchdog watchdog(60s, "queuedWorkFailsAndIsNeverInvoked");
    Counted::reset();
    EventLoopThreadRunner runner;
    QCOMPARE(runner.run([] { return answer(1); }), 1);

    // One call blocks the loop thread with synchronous work until released.
    std::atomic<bool> release{false};
    std::latch busy(1);
    std::future<Ended> blocker = callAsync([&] {
        runner.run([&]() -> QCoro::Task<int> {
            busy.count_down();
            while (!release.load())
                std::this_thread::yield();
            return answer(0);
        });
    });
    busy.wait();

    // More work queues up behind it from other threads; none of it may ever be invoked.
    auto invoked = std::make_shared<std::atomic<int>>(0);
    std::latch aboutToCall(queuedCallers);
    std::vector<std::future<Ended>> queued;
    for (int i = 0; i < queuedCallers; ++i) {
        queued.push_back(callAsync([&runner, &aboutToCall, invoked, i] {
            IntFn fn = [invoked, c = Counted(i)] {
                ++*invoked;
                return answer(c.value);
            };
            aboutToCall.count_down();
            makeCall(runner,
                     i == 0   ? Call::Run
                     : i == 1 ? Call::GatherVariadic
                              : Call::GatherRange,
                     fn);
        }));
    }
    aboutToCall.wait();

    JoiningThread closer([&] { runner.close(); });
    for (auto &f : queued) {
        QVERIFY(f.wait_for(10s) == std::future_status::ready);
        QCOMPARE(f.get(), Ended::Closed);
    }
    QCOMPARE(blocker.wait_for(10s), std::future_status::ready);
    QCOMPARE(blocker.get(), Ended::Closed);
    release = true;
    closer.join();

    QCOMPARE(invoked->load(), 0);
    // palitra freed the queued callables (and their captures) itself.
    QCOMPARE(Counted::live(), 0);
}

// in-flight coroutines are asked to stop; well-behaved ones end in the grace -----------------

void tst_Close::wellBehavedCoroutinesFinishWithinGrace_data() {
    addCallRows();
}

void tst_Close::wellBehavedCoroutinesFinishWithinGrace() {
    QFETCH(Call, call);
    MessageLog messages;
    Counted::reset();
    RunnerOptions options;
    // A grace period no test run could wait out: close() returns because the coroutine ended,
    // not because its grace period did (the watchdog fails a close() that waits for it).
    options.closeGracePeriod = 24h;
    palitra::test::Watchdog watchdog(60s, "wellBehavedCoroutinesFinishWithinGrace");
    EventLoopThreadRunner runner(options);
    auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
    auto started = std::make_shared<std::latch>(1);
    std::optional<IntFn> fn(std::in_place, [woke, started, c = Counted(1)] {
        return sleepUntilStopped(woke, started);
    });
    std::future<Ended> caller = callAsync([&runner, call, &fn] { makeCall(runner, call, *fn); });
    started->wait();

    runner.close();
    QCOMPARE(woke->load(), int(ByStop)); // it ended before close() returned
    caller.wait();
    QCOMPARE(caller.get(), Ended::Closed);
    QCOMPARE(messages.countContaining(QStringLiteral("abandoned")), 0);
    QCOMPARE(messages.warnings(), QStringList());
    fn.reset();
    QCOMPARE(Counted::live(), 0); // the runner has freed every copy of the callable
}

void tst_Close::graceBeginsAfterTheStopRequests() {
    // The closer asks every coroutine to stop before the grace period begins: a closer slow to
    // make the requests (preempted, or running a slow stop callback, as here) does not eat into
    // the coroutines' time. This one ignores the stop and ends 2 s after it started; the grace is
    // 1.5 s, and the stop callback holds the closer for 1 s. A grace counted from the call to
    // close() would have ended at 1.5 s and abandoned it; counted from the requests, at 2.5 s.
    MessageLog messages;
    RunnerOptions options;
    options.closeGracePeriod = 1500ms;
    palitra::test::Watchdog watchdog(60s, "graceBeginsAfterTheStopRequests");
    EventLoopThreadRunner runner(options);
    auto started = std::make_shared<std::latch>(1);
    auto ended = std::make_shared<std::atomic<bool>>(false);
    QThread *const closer = QThread::currentThread();
    auto callbackOn = std::make_shared<std::atomic<QThread *>>(nullptr);
    QFuture<int> future = runner.submit([started, ended, callbackOn]() -> QCoro::Task<int> {
        const std::stop_callback slow(palitra::currentStopToken(), [callbackOn] {
            *callbackOn = QThread::currentThread();
            std::this_thread::sleep_for(1s); // slow user code on the requesting thread
        });
        started->count_down();
        co_await QCoro::sleepFor(2s); // deaf to the stop request
        *ended = true;
        co_return 1;
    });
    started->wait();
    runner.close();
    QCOMPARE(callbackOn->load(), closer); // the stop was requested by close() itself
    QVERIFY2(ended->load(), "the coroutine was abandoned: the grace period began too early");
    QCOMPARE(runner.stats().abandoned, 0);
    QCOMPARE(messages.countContaining(QStringLiteral("abandoned")), 0);
    QVERIFY_THROWS_EXCEPTION(RunnerClosedError, future.waitForFinished());
}

void tst_Close::extremeGracePeriods() {
    palitra::test::Watchdog watchdog(60s, "extremeGracePeriods");
    {
        // "As long as it takes" (beyond what a Qt timer can arm: taken as its longest): a
        // well-behaved coroutine still ends the loop as soon as it stops, and no sum overflows
        // (UBSan checks the arithmetic in the sanitizer build).
        RunnerOptions options;
        options.closeGracePeriod = std::chrono::milliseconds::max();
        EventLoopThreadRunner runner(options);
        auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
        auto started = std::make_shared<std::latch>(1);
        QFuture<int> future =
            runner.submit([woke, started] { return sleepUntilStopped(woke, started); });
        started->wait();
        runner.close();
        QCOMPARE(woke->load(), int(ByStop));
        QCOMPARE(runner.stats().abandoned, 0);
    }
    for (const auto grace : {std::chrono::milliseconds::min(), std::chrono::milliseconds(-1)}) {
        // No grace at all: an ill-behaved coroutine is abandoned at once, and close() returns.
        MessageLog messages;
        RunnerOptions options;
        options.closeGracePeriod = grace;
        EventLoopThreadRunner runner(options);
        auto started = std::make_shared<std::latch>(1);
        QFuture<int> future = runner.submit(illBehaved(started));
        started->wait();
        runner.close();
        QCOMPARE(runner.stats().abandoned, 1);
        QCOMPARE(messages.countContaining(QStringLiteral("abandoned")), 1);
        QVERIFY_THROWS_EXCEPTION(RunnerClosedError, future.waitForFinished());
    }
}

void tst_Close::closeFromUserCodeThatCloseRuns_data() {
    QTest::addColumn<QString>("where");
    QTest::newRow("a future continuation closes") << QStringLiteral("continuation");
    QTest::newRow("a stop callback closes") << QStringLiteral("stop callback");
    QTest::newRow("a future continuation destroys the runner") << QStringLiteral("destroy");
}

void tst_Close::closeFromUserCodeThatCloseRuns() {
    // close() runs user code on its own thread (stop callbacks, continuations attached without a
    // context); a close() from there returns at once and the outer one finishes the job.
    QFETCH(QString, where);
    palitra::test::Watchdog watchdog(60s, "closeFromUserCodeThatCloseRuns");
    auto runner = std::make_unique<EventLoopThreadRunner>();
    auto started = std::make_shared<std::latch>(1);
    auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
    QThread *const closer = QThread::currentThread();
    std::atomic<QThread *> nestedOn{nullptr};
    std::atomic<int> nested{0};
    const auto closeAgain = [&] {
        nestedOn = QThread::currentThread();
        if (where == QLatin1String("destroy"))
            runner.reset();
        else
            runner->close();
        ++nested;
    };
    QFuture<int> chained;
    if (where == QLatin1String("stop callback")) {
        chained = runner->submit([started, woke, &closeAgain, &nested]() -> QCoro::Task<int> {
            const std::stop_callback again(palitra::currentStopToken(), closeAgain);
            const int value = co_await sleepUntilStopped(woke, started);
            // The sleep's own stop callback may run first and wake this frame while the closer
            // is still running the others: keep `again` registered until it has run.
            nested.wait(0);
            co_return value;
        });
    } else {
        chained = runner->submit([woke, started] { return sleepUntilStopped(woke, started); })
                      .onFailed([&closeAgain](const RunnerClosedError &) {
                          closeAgain();
                          return 0;
                      });
    }
    // And a caller blocked in run() meanwhile: it is released, and touches nothing of a runner
    // object destroyed under it (ASan checks).
    auto callerWoke = std::make_shared<std::atomic<int>>(StillAsleep);
    auto callerStarted = std::make_shared<std::latch>(1);
    std::future<Ended> caller = callAsync([raw = runner.get(), callerWoke, callerStarted] {
        raw->run(
            [callerWoke, callerStarted] { return sleepUntilStopped(callerWoke, callerStarted); });
    });
    started->wait();
    callerStarted->wait();
    EventLoopThreadRunner *const raw = runner.get();
    raw->close(); // the runner may be gone when this returns ("destroy")
    QCOMPARE(caller.get(), Ended::Closed);
    QCOMPARE(nested.load(), 1);
    QCOMPARE(nestedOn.load(), closer);
    QCOMPARE(woke->load(), int(ByStop)); // the outer close() gave it its grace and joined
    if (runner) {
        QVERIFY(!runner->isRunning());
        QCOMPARE(runner->thread(), nullptr);
    }
}

// ill-behaved coroutines are abandoned after the grace period, and counted -------------------

void tst_Close::illBehavedCoroutinesAbandonedAfterGrace_data() {
    QTest::addColumn<int>("illBehavedCount");
    QTest::newRow("one") << 1;
    QTest::newRow("three, beside a well-behaved one") << 3;
}

void tst_Close::illBehavedCoroutinesAbandonedAfterGrace() {
    QFETCH(int, illBehavedCount);
    constexpr auto grace = 500ms;
    MessageLog messages;
    RunnerOptions options;
    options.closeGracePeriod = grace;
    EventLoopThreadRunner runner(options);
    palitra::test::Watchdog watchdog(60s, "illBehavedCoroutinesAbandonedAfterGrace");
    auto started = std::make_shared<std::latch>(illBehavedCount + 1);
    auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
    std::vector<IntFn> fns(std::size_t(illBehavedCount), illBehaved(started));
    fns.push_back([woke, started] { return sleepUntilStopped(woke, started); });
    std::future<Ended> caller = callAsync([&runner, fns] { runner.gatherOutcomes(fns); });
    started->wait();

    const auto start = Clock::now();
    runner.close();
    const qint64 took = elapsedSince(start).count();
    // It waited the grace period out (the watchdog fails one that never ends).
    QVERIFY2(took >= grace.count() - 50,
             qPrintable(QStringLiteral("close() took %1 ms").arg(took)));
    QCOMPARE(woke->load(), int(ByStop));
    QCOMPARE(caller.get(), Ended::Closed);
    const QStringList warnings = messages.warnings();
    QCOMPARE(messages.countContaining(QStringLiteral("abandoned")), 1);
    bool counted = false;
    for (const QString &w : warnings)
        counted = counted || (w.contains(QStringLiteral("abandoned")) &&
                              w.contains(QStringLiteral("%1 coroutine").arg(illBehavedCount)));
    QVERIFY2(counted, qPrintable(warnings.join(QLatin1Char('\n'))));
}

// close() from the loop thread does not deadlock ---------------------------------------------

void tst_Close::closeFromLoopThread_data() {
    QTest::addColumn<bool>("fromCoroutine");
    QTest::newRow("inside a coroutine, its caller blocked") << true;
    QTest::newRow("in a slot posted to context()") << false;
}

void tst_Close::closeFromLoopThread() {
    QFETCH(bool, fromCoroutine);
    palitra::test::Watchdog watchdog(30s, "closeFromLoopThread");
    {
        EventLoopThreadRunner runner(named("close-on-loop"));
        auto closedInside = std::make_shared<std::atomic<int>>(-1);
        EventLoopThreadRunner *r = &runner;
        if (fromCoroutine) {
            QVERIFY_THROWS_EXCEPTION(RunnerClosedError,
                                     runner.run([r, closedInside]() -> QCoro::Task<int> {
                                         r->close();
                                         *closedInside = r->isRunning() ? 0 : 1;
                                         co_return 1;
                                     }));
            // close() released the caller first; the coroutine then carries on.
            QTRY_COMPARE_WITH_TIMEOUT(closedInside->load(), 1, 5000);
        } else {
            QVERIFY(QMetaObject::invokeMethod(
                runner.context(),
                [r, closedInside] {
                    r->close();
                    *closedInside = r->isRunning() ? 0 : 1;
                },
                Qt::QueuedConnection));
            QTRY_COMPARE_WITH_TIMEOUT(closedInside->load(), 1, 5000);
        }
        QVERIFY(!runner.isRunning());
        QVERIFY_THROWS_EXCEPTION(RunnerClosedError, runner.run([] { return answer(1); }));
        runner.close(); // from here: joins the thread (the watchdog fails one that hangs)
    }
    QTRY_COMPARE(threadsNamed("close-on-loop"), 0);
}

// the destructor calls close() ---------------------------------------------------------------

void tst_Close::destructorCloses() {
    auto childDestroyed = std::make_shared<std::atomic<bool>>(false);
    std::optional<EventLoopThreadRunner> runner(std::in_place, named("destructor"));
    QObject *context = runner->context();
    QPointer<QThread> thread = runner->thread();
    runner->run([context, childDestroyed]() -> QCoro::Task<void> {
        auto *child = new QObject(context); // close() deletes the context and its children
        QObject::connect(child, &QObject::destroyed, [childDestroyed] { *childDestroyed = true; });
        co_return;
    });
    QCOMPARE(threadsNamed("destructor"), 1);
    runner.reset();
    QVERIFY(childDestroyed->load());
    QVERIFY(thread.isNull()); // the QThread was joined and deleted
    QTRY_COMPARE(threadsNamed("destructor"), 0);
}

void tst_Close::destroyingRunnerReleasesBlockedCaller_data() {
    addCallRows();
}

void tst_Close::destroyingRunnerReleasesBlockedCaller() {
    QFETCH(Call, call);
    palitra::test::Watchdog watchdog(30s, "destroyingRunnerReleasesBlockedCaller");
    // A grace period no test run could wait out: the destructor returns because the coroutine
    // stopped when asked, not because its grace period ended (else the watchdog fails it).
    RunnerOptions options;
    options.closeGracePeriod = 24h;
    std::optional<EventLoopThreadRunner> runner(std::in_place, options);
    auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
    auto started = std::make_shared<std::latch>(1);
    const IntFn fn = [woke, started] { return sleepUntilStopped(woke, started); };
    EventLoopThreadRunner *r = &*runner;
    std::future<Ended> caller = callAsync([r, call, fn] { makeCall(*r, call, fn); });
    started->wait();
    runner.reset();
    caller.wait();
    QCOMPARE(caller.get(), Ended::Closed);
    QCOMPARE(woke->load(), int(ByStop));
}

// the loop thread ended behind palitra's back ---------------------------------------------------

void tst_Close::loopEndedBehindBack_data() {
    QTest::addColumn<bool>("viaThread");
    QTest::addColumn<bool>("callerBlocked");
    QTest::newRow("quit in a slot on context(), caller blocked") << false << true;
    QTest::newRow("thread()->quit(), caller blocked") << true << true;
    QTest::newRow("quit in a slot on context(), idle") << false << false;
    QTest::newRow("thread()->quit(), idle") << true << false;
}

void tst_Close::loopEndedBehindBack() {
    QFETCH(bool, viaThread);
    QFETCH(bool, callerBlocked);
    palitra::test::Watchdog watchdog(30s, "loopEndedBehindBack");
    MessageLog messages;
    {
        EventLoopThreadRunner runner(named("behind-back"));
        QCOMPARE(runner.run([] { return answer(1); }), 1);
        std::future<Ended> caller;
        if (callerBlocked) {
            auto started = std::make_shared<std::latch>(1);
            auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
            // Abandoned with the loop: the stop request can no longer be delivered.
            const IntFn fn = [started, woke] {
                const LeakOnPurpose leak;
                return sleepUntilStopped(woke, started);
            };
            caller = callAsync([&runner, fn] { runner.run(fn); });
            started->wait();
        }
        if (viaThread)
            runner.thread()->quit();
        else
            QMetaObject::invokeMethod(
                runner.context(), [] { QThread::currentThread()->quit(); }, Qt::QueuedConnection);
        if (callerBlocked) {
            QVERIFY(caller.wait_for(10s) == std::future_status::ready);
            QCOMPARE(caller.get(), Ended::Closed);
        }
        QTRY_VERIFY_WITH_TIMEOUT(!runner.isRunning(), 10000);
        QVERIFY(runner.thread() == nullptr);
        QVERIFY(runner.context() == nullptr);
        bool saysEnded = false;
        try {
            runner.run([] { return answer(2); });
        } catch (const RunnerClosedError &e) {
            saysEnded = QByteArray(e.what()).contains("ended");
        }
        QVERIFY(saysEnded);
        QVERIFY_THROWS_EXCEPTION(RunnerClosedError,
                                 runner.gather([] { return answer(1); }, [] { return answer(2); }));
        QVERIFY(messages.countContaining(QStringLiteral("outside palitra")) == 1);
        runner.close();
    }
    QTRY_COMPARE(threadsNamed("behind-back"), 0);
}

void tst_Close::callRacingLoopQuitNeverHangs() {
    palitra::test::Watchdog watchdog(60s, "callRacingLoopQuitNeverHangs");
    MessageLog messages;
    int values = 0;
    int closed = 0;
    for (int i = 0; i < 20; ++i) {
        EventLoopThreadRunner runner;
        QThread *thread = runner.thread();
        std::latch go(2);
        JoiningThread quitter([&] {
            go.arrive_and_wait();
            thread->quit();
        });
        go.arrive_and_wait();
        try {
            QCOMPARE(runner.run([] { return answer(7); }), 7);
            ++values;
        } catch (const RunnerClosedError &) {
            ++closed;
        }
    }
    QCOMPARE(values + closed, 20);
}

QTEST_GUILESS_MAIN(tst_Close)
#include "tst_close.moc"
