// SPDX-License-Identifier: MIT
// EventLoopThreadRunner::run() (docs/SEMANTICS.md): where code runs, no re-entrancy, state,
// results, errors, timeouts, no self-deadlock, bad input, and the decided details of each.
#include <palitra/palitra.h>

#include <palitra/detail/spin_stats.h>

#include "palitratest.h"

#include <QCoreApplication>
#include <QCoro/QCoroTimer>
#include <QEvent>
#include <QPointer>
#include <QScopeGuard>
#include <QTest>
#include <QTimer>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::test::Counted;
using palitra::test::elapsedSince;
using palitra::test::Gate;
using palitra::test::JoiningThread;
using palitra::test::LoopBlocker;
using palitra::test::NotAStdException;
using Clock = std::chrono::steady_clock;

namespace {

// The type contracts the tests below rely on.
static_assert(std::is_base_of_v<palitra::Error, palitra::TimeoutError>);
static_assert(std::is_base_of_v<palitra::Error, palitra::DeadlockError>);
static_assert(std::is_base_of_v<std::runtime_error, palitra::Error>);
static_assert(!std::is_copy_constructible_v<EventLoopThreadRunner>);
static_assert(!std::is_move_constructible_v<EventLoopThreadRunner>);

//! A user exception type with state of its own, to prove it is not sliced or wrapped.
class CustomError : public std::runtime_error {
public:
    CustomError(const std::string &what, int code) : std::runtime_error(what), code(code) {}
    int code;
};

enum class Thrown { Custom, NotStd, Int };

//! Where each step of a coroutine ran.
struct Where {
    std::atomic<QThread *> invoked{nullptr};
    std::atomic<QThread *> started{nullptr};
    std::atomic<QThread *> afterQTimer{nullptr};
    std::atomic<QThread *> afterQCoroSleep{nullptr};
    std::atomic<QThread *> afterPalitraSleep{nullptr};
};

QCoro::Task<> recordWhere(Where &where) {
    where.started = QThread::currentThread();
    QTimer timer;
    timer.setSingleShot(true);
    timer.start(1ms);
    co_await timer;
    where.afterQTimer = QThread::currentThread();
    co_await QCoro::sleepFor(1ms);
    where.afterQCoroSleep = QThread::currentThread();
    co_await palitra::sleepFor(1ms, std::stop_token{});
    where.afterPalitraSleep = QThread::currentThread();
}

QCoro::Task<int> throwing(Thrown kind, bool afterSuspension) {
    if (afterSuspension)
        co_await palitra::sleepFor(1ms, std::stop_token{});
    switch (kind) {
    case Thrown::Custom:
        throw CustomError("custom failure", 42);
    case Thrown::NotStd:
        throw NotAStdException{7};
    case Thrown::Int:
        throw 13;
    }
    co_return 0;
}

template<typename T>
QCoro::Task<T> produce(T value, bool suspendFirst) {
    if (suspendFirst)
        co_await palitra::sleepFor(1ms, std::stop_token{});
    co_return std::move(value);
}

QCoro::Task<int> fortyTwo() {
    co_return 42;
}

//! Sleeps \a ms on the loop, waking early on stop; returns 42. Tells \a sleptFully whether it
//! slept the whole time.
QCoro::Task<int> sleepThen42(std::chrono::milliseconds ms,
                             std::atomic<bool> *sleptFully = nullptr) {
    const std::stop_token stop = palitra::currentStopToken();
    const bool full = co_await palitra::sleepFor(ms, stop);
    if (sleptFully)
        *sleptFully = full;
    co_return 42;
}

using Work = std::function<QCoro::Task<int>()>;
//! One way of calling run() with a timeout of a particular duration type.
using TimedRun = std::function<int(EventLoopThreadRunner &, Work)>;

template<typename Duration>
TimedRun timedRun(Duration timeout) {
    return [timeout](EventLoopThreadRunner &runner, Work work) {
        return runner.run(std::move(work), timeout);
    };
}

//! One call that palitra refuses for its timeout before queuing it.
using RefusedCall = std::function<void(EventLoopThreadRunner &)>;

//! A callable whose every copy takes 2 ms of the caller's time: a gather of a range copies its
//! callables before it checks the deadline, so a 1 ms timeout has passed by then for sure.
struct SlowToCopy {
    SlowToCopy() = default;
    SlowToCopy(const SlowToCopy &) {
        const auto until = Clock::now() + 2ms;
        while (Clock::now() < until) {
        }
    }
    SlowToCopy &operator=(const SlowToCopy &) = default;
    ~SlowToCopy() = default;
    QCoro::Task<int> operator()() const { co_return 42; }
};

enum class Expect { Value, Timeout };
enum class Api { Run, RunTimeout, GatherTuple, GatherRange, GatherOutcomes };
enum class Via { SingleShot, InvokeMethod };
enum class Empty { Function, Pointer }; // an empty std::function, a null function pointer

//! Calls \a api on \a runner with a coroutine that sets \a invoked; returns 2 for DeadlockError
//! and its message, 1 for "returned normally", 3 for any other exception.
int callExpectingDeadlock(EventLoopThreadRunner &runner, Api api, std::atomic<bool> &invoked,
                          std::string &message) {
    auto fn = [&invoked]() -> QCoro::Task<int> {
        invoked = true;
        co_return 1;
    };
    try {
        switch (api) {
        case Api::Run:
            runner.run(fn);
            break;
        case Api::RunTimeout:
            runner.run(fn, 5s);
            break;
        case Api::GatherTuple:
            runner.gather(fn, fn);
            break;
        case Api::GatherRange:
            runner.gather(std::vector<decltype(fn)>{fn, fn});
            break;
        case Api::GatherOutcomes:
            runner.gatherOutcomes(fn, fn);
            break;
        }
        return 1;
    } catch (const palitra::DeadlockError &e) {
        message = e.what();
        return 2;
    } catch (...) {
        return 3;
    }
}

} // namespace

Q_DECLARE_METATYPE(TimedRun)
Q_DECLARE_METATYPE(RefusedCall)
Q_DECLARE_METATYPE(Thrown)
Q_DECLARE_METATYPE(Expect)
Q_DECLARE_METATYPE(Api)
Q_DECLARE_METATYPE(Via)
Q_DECLARE_METATYPE(Empty)

class tst_Run : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Where it runs
    void invokedAndResumedOnLoopThread();

    // No re-entrancy
    void callerEventsWaitUntilRunReturns();

    // State survives
    void loopObjectsSurviveBetweenCalls();

    // Results
    void valueResult_data();
    void valueResult();
    void moveOnlyResult_data();
    void moveOnlyResult();
    void voidResult_data();
    void voidResult();
    void resultIsMovedNeverCopied_data();
    void resultIsMovedNeverCopied();

    // Errors
    void exceptionKeepsDynamicType_data();
    void exceptionKeepsDynamicType();
    void exceptionFromCallableItself();

    // Timeout
    void timeoutThrowsPromptly_data();
    void timeoutThrowsPromptly();
    void nonPositiveTimeoutFailsAtOnce_data();
    void nonPositiveTimeoutFailsAtOnce();
    void anyDurationType_data();
    void anyDurationType();
    void nanTimeoutIsInvalid_data();
    void nanTimeoutIsInvalid();
    void timeoutRequestsStop();
    void lateResultDroppedCapturesLiveUntilFrameEnds();
    void lateExceptionDropped();
    void timeoutHoldsWhileLoopIsBlocked();

    // No self-deadlock (another runner may be called from a loop thread)
    void runFromCoroutineIsDeadlockError_data();
    void runFromCoroutineIsDeadlockError();
    void runFromLoopSlotIsDeadlockError_data();
    void runFromLoopSlotIsDeadlockError();
    void otherRunnerFromLoopThread();

    // Bad input (runtime part)
    void emptyCallableIsInvalid_data();
    void emptyCallableIsInvalid();
    void functionPointerWorks();

    // thread() / context() / RunnerOptions::threadName
    void threadAndContextStartLazily();
    void callRefusedForItsTimeoutStartsNothing_data();
    void callRefusedForItsTimeoutStartsNothing();
    void threadAndContextNullAfterClose_data();
    void threadAndContextNullAfterClose();
    void contextAcceptsQueuedWork();
    void threadNameOption();
    void spinBeforeBlockingKeepsSemantics();
    void spinOffNeverSpins();
    void slowCallsMakeCallersBlock();
    void busyLoopMakesCallersBlock();
    void idleLoopSpinCatchesTheNextCall();
    void idleLoopSoonStopsSpinning();
    void idleSpinOffOrOnOneCpuNeverSpins();
    void idleSpinKeepsTimersOnTime();
    void extremeSpinBudgetsAreSafe();
};

// Where it runs ---------------------------------------------------------------------------

void tst_Run::invokedAndResumedOnLoopThread() {
    EventLoopThreadRunner runner;
    QThread *const loop = runner.thread();
    QVERIFY(loop);
    QVERIFY(loop != QThread::currentThread());

    Where where;
    runner.run([&where] {
        where.invoked = QThread::currentThread();
        return recordWhere(where);
    });
    QCOMPARE(where.invoked.load(), loop);
    QCOMPARE(where.started.load(), loop);
    QCOMPARE(where.afterQTimer.load(), loop);
    QCOMPARE(where.afterQCoroSleep.load(), loop);
    QCOMPARE(where.afterPalitraSleep.load(), loop);
}

// No re-entrancy --------------------------------------------------------------------------

void tst_Run::callerEventsWaitUntilRunReturns() {
    EventLoopThreadRunner runner;
    QObject receiver; // lives on this (the caller's) thread
    Gate sender;      // lives here too; emitted from the loop thread, so its slot is queued here
    std::atomic<bool> timerRan{false};
    std::atomic<bool> postedRan{false};
    std::atomic<bool> queuedSlotRan{false};
    QTimer::singleShot(0, &receiver, [&] { timerRan = true; });
    QMetaObject::invokeMethod(
        &receiver, [&] { postedRan = true; }, Qt::QueuedConnection);
    connect(&sender, &Gate::opened, &receiver, [&] { queuedSlotRan = true; });

    const auto anyRan = [&] { return timerRan || postedRan || queuedSlotRan; };
    const bool sawCallerEvents = runner.run([&]() -> QCoro::Task<bool> {
        sender.open(1);
        // Give a caller that (wrongly) ran its event loop plenty of chances to run them.
        for (int i = 0; i < 30 && !anyRan(); ++i)
            co_await palitra::sleepFor(10ms, std::stop_token{});
        co_return anyRan();
    });
    QVERIFY2(!sawCallerEvents, "the caller's events ran while it was blocked in run()");
    QVERIFY2(!anyRan(), "run() processed the caller's events before returning");

    // They were only deferred: the caller's own loop runs them now.
    QTRY_VERIFY(timerRan);
    QTRY_VERIFY(postedRan);
    QTRY_VERIFY(queuedSlotRan);
}

// State survives --------------------------------------------------------------------------

void tst_Run::loopObjectsSurviveBetweenCalls() {
    EventLoopThreadRunner runner;
    QPointer<QTimer> timer;
    QThread *createdOn = nullptr;
    runner.run([&]() -> QCoro::Task<> {
        timer = new QTimer(runner.context());
        timer->setSingleShot(true);
        timer->setProperty("tag", 7);
        createdOn = QThread::currentThread();
        co_return;
    });
    QVERIFY(timer);
    QCOMPARE(createdOn, runner.thread());

    QThread *usedOn = nullptr;
    QThread *timerThread = nullptr;
    int tag = 0;
    bool fired = false;
    runner.run([&]() -> QCoro::Task<> {
        usedOn = QThread::currentThread();
        timerThread = timer->thread();
        tag = timer->property("tag").toInt();
        timer->start(1ms);
        co_await timer.data();
        fired = true;
    });
    QCOMPARE(usedOn, createdOn);
    QCOMPARE(timerThread, createdOn);
    QCOMPARE(tag, 7);
    QVERIFY(fired);

    runner.run([&]() -> QCoro::Task<> {
        delete timer.data();
        co_return;
    });
    QVERIFY(!timer);
}

// Results ---------------------------------------------------------------------------------

void tst_Run::valueResult_data() {
    QTest::addColumn<bool>("suspendFirst");
    QTest::newRow("ready") << false;
    QTest::newRow("after suspension") << true;
}

void tst_Run::valueResult() {
    QFETCH(bool, suspendFirst);
    EventLoopThreadRunner runner;
    const int i = runner.run([=] { return produce(41, suspendFirst); });
    QCOMPARE(i, 41);
    const QString s = runner.run([=] { return produce(QStringLiteral("palitra"), suspendFirst); });
    QCOMPARE(s, QStringLiteral("palitra"));
    static_assert(std::is_same_v<decltype(runner.run([] { return produce(1, false); })), int>);
}

void tst_Run::moveOnlyResult_data() {
    valueResult_data();
}

void tst_Run::moveOnlyResult() {
    QFETCH(bool, suspendFirst);
    EventLoopThreadRunner runner;
    std::unique_ptr<int> p =
        runner.run([=] { return produce(std::make_unique<int>(5), suspendFirst); });
    QVERIFY(p);
    QCOMPARE(*p, 5);
}

void tst_Run::voidResult_data() {
    valueResult_data();
}

void tst_Run::voidResult() {
    QFETCH(bool, suspendFirst);
    EventLoopThreadRunner runner;
    std::atomic<bool> ran{false};
    auto fn = [&, suspendFirst]() -> QCoro::Task<> {
        if (suspendFirst)
            co_await palitra::sleepFor(1ms, std::stop_token{});
        ran = true;
    };
    static_assert(std::is_void_v<decltype(runner.run(fn))>);
    runner.run(fn);
    QVERIFY(ran);
}

void tst_Run::resultIsMovedNeverCopied_data() {
    valueResult_data();
}

void tst_Run::resultIsMovedNeverCopied() {
    QFETCH(bool, suspendFirst);
    Counted::reset();
    {
        EventLoopThreadRunner runner;
        const Counted c = runner.run([=] { return produce(Counted(9), suspendFirst); });
        QCOMPARE(c.value, 9);
        QCOMPARE(Counted::copies.load(), 0);
        const Counted timed = runner.run([=] { return produce(Counted(10), suspendFirst); }, 30s);
        QCOMPARE(timed.value, 10);
        QCOMPARE(Counted::copies.load(), 0);
    }
    QTRY_COMPARE(Counted::live(), 0);
}

// Errors ----------------------------------------------------------------------------------

void tst_Run::exceptionKeepsDynamicType_data() {
    QTest::addColumn<Thrown>("kind");
    QTest::addColumn<bool>("afterSuspension");
    for (const bool after : {false, true}) {
        const char *when = after ? "after suspension" : "before suspension";
        QTest::addRow("custom std::exception, %s", when) << Thrown::Custom << after;
        QTest::addRow("not a std::exception, %s", when) << Thrown::NotStd << after;
        QTest::addRow("int, %s", when) << Thrown::Int << after;
    }
}

void tst_Run::exceptionKeepsDynamicType() {
    QFETCH(Thrown, kind);
    QFETCH(bool, afterSuspension);
    EventLoopThreadRunner runner;
    for (const bool withTimeout : {false, true}) {
        bool caught = false;
        try {
            if (withTimeout)
                runner.run([=] { return throwing(kind, afterSuspension); }, 30s);
            else
                runner.run([=] { return throwing(kind, afterSuspension); });
        } catch (const CustomError &e) {
            QCOMPARE(kind, Thrown::Custom);
            QCOMPARE(e.code, 42);
            QCOMPARE(QByteArray(e.what()), QByteArray("custom failure"));
            caught = true;
        } catch (const NotAStdException &e) {
            QCOMPARE(kind, Thrown::NotStd);
            QCOMPARE(e.code, 7);
            caught = true;
        } catch (int e) {
            QCOMPARE(kind, Thrown::Int);
            QCOMPARE(e, 13);
            caught = true;
        } catch (...) {
            QFAIL("the exception reached the caller with another type");
        }
        QVERIFY2(caught, "run() returned although the coroutine threw");
    }
    // Nothing escaped into the loop: the runner is still alive and well.
    QVERIFY(runner.isRunning());
    QCOMPARE(runner.run(fortyTwo), 42);
}

void tst_Run::exceptionFromCallableItself() {
    // A callable that throws before it even creates its coroutine.
    EventLoopThreadRunner runner;
    auto callable = []() -> QCoro::Task<int> { throw CustomError("from the callable", 3); };
    try {
        runner.run(callable);
        QFAIL("run() returned although the callable threw");
    } catch (const CustomError &e) {
        QCOMPARE(e.code, 3);
    }
    QVERIFY_THROWS_EXCEPTION(CustomError, runner.run(callable, 30s));
    QCOMPARE(runner.run(fortyTwo), 42);
}

// Timeout ---------------------------------------------------------------------------------

void tst_Run::timeoutThrowsPromptly_data() {
    QTest::addColumn<int>("timeoutMs");
    QTest::addColumn<bool>("cooperative");
    QTest::newRow("50ms, coroutine stops when asked") << 50 << true;
    QTest::newRow("50ms, coroutine ignores stop") << 50 << false;
    QTest::newRow("300ms, coroutine stops when asked") << 300 << true;
    QTest::newRow("300ms, coroutine ignores stop") << 300 << false;
}

void tst_Run::timeoutThrowsPromptly() {
    QFETCH(int, timeoutMs);
    QFETCH(bool, cooperative);
    const std::chrono::milliseconds timeout(timeoutMs);
    palitra::test::Watchdog watchdog(60s, "timeoutThrowsPromptly");
    EventLoopThreadRunner runner;
    runner.thread(); // start the loop first: only the call itself is timed
    // The coroutine outlasts any test run unless it is stopped (cooperative rows) or the gate
    // opens (rows that ignore the stop request; the test opens it after the TimeoutError).
    Gate gate;
    std::atomic<int> sleptFully{-1};
    std::atomic<bool> ended{false};

    // A call whose timeout passes while it is still queued is never invoked (a loaded machine may
    // not schedule the loop thread in time): then again, with a longer timeout. Every attempt
    // must throw, and not before its own timeout.
    for (auto attempt = timeout;; attempt *= 2) {
        QVERIFY2(attempt < 1min, "no call was invoked before its timeout passed");
        const auto start = Clock::now();
        bool invoked = false;
        try {
            (void)runner.run(
                [&, cooperative]() -> QCoro::Task<int> {
                    const auto stop = palitra::currentStopToken();
                    if (cooperative)
                        sleptFully = (co_await palitra::sleepFor(24h, stop)) ? 1 : 0;
                    else
                        co_await palitra::awaitSignal(&gate, &Gate::opened);
                    ended = true;
                    co_return 1;
                },
                attempt);
            QFAIL("the call returned instead of throwing TimeoutError");
        } catch (const palitra::TimeoutError &e) {
            invoked = palitra::test::invokedBeforeTimeout(e);
        }
        const auto elapsed = elapsedSince(start);
        QVERIFY2(elapsed >= attempt, "TimeoutError came before the timeout passed");
        if (invoked)
            break;
    }
    if (cooperative) {
        // Woken by the stop request the timeout made, long before its day-long sleep ended.
        QTRY_VERIFY_WITH_TIMEOUT(ended, 30000);
        QCOMPARE(sleptFully.load(), 0);
    } else {
        // The caller came back while the coroutine was still suspended: it did not wait for it.
        QVERIFY(!ended);
        // Let the coroutine end before the runner goes (a suspended one would be abandoned).
        QTRY_VERIFY(gate.hasListener());
        gate.open();
        QTRY_VERIFY_WITH_TIMEOUT(ended, 30000);
    }
}

void tst_Run::nonPositiveTimeoutFailsAtOnce_data() {
    QTest::addColumn<TimedRun>("call");
    QTest::newRow("0ms") << timedRun(0ms);
    QTest::newRow("0ns") << timedRun(0ns);
    QTest::newRow("-1ms") << timedRun(-1ms);
    QTest::newRow("-1h") << timedRun(-1h);
    QTest::newRow("milliseconds::min()") << timedRun(std::chrono::milliseconds::min());
    QTest::newRow("nanoseconds::min()") << timedRun(std::chrono::nanoseconds::min());
    QTest::newRow("hours::min()") << timedRun(std::chrono::hours::min());
    QTest::newRow("0.0s (double)") << timedRun(std::chrono::duration<double>(0.0));
    QTest::newRow("-0.5s (double)") << timedRun(std::chrono::duration<double>(-0.5));
    QTest::newRow("-inf s (double)")
        << timedRun(std::chrono::duration<double>(-std::numeric_limits<double>::infinity()));
    QTest::newRow("duration<double>::min()") << timedRun(std::chrono::duration<double>::min());
    QTest::newRow("duration<float, milli>::min()")
        << timedRun(std::chrono::duration<float, std::milli>::min());
}

void tst_Run::nonPositiveTimeoutFailsAtOnce() {
    QFETCH(TimedRun, call);
    EventLoopThreadRunner runner;
    runner.thread();
    std::atomic<bool> invoked{false};
    // Fails at once: a call that waited for anything would hang here (the watchdog fails it).
    palitra::test::Watchdog watchdog(30s, "nonPositiveTimeoutFailsAtOnce");
    QVERIFY_THROWS_EXCEPTION(palitra::TimeoutError, call(runner, [&] {
                                 invoked = true;
                                 return fortyTwo();
                             }));
    // Documented choice (runner.h): the callable is not invoked at all. Check after a round trip
    // through the loop so that a wrongly queued call would have run by now.
    QCOMPARE(runner.run(fortyTwo), 42);
    QVERIFY2(!invoked, "the callable of a call that had already timed out was invoked");
}

void tst_Run::anyDurationType_data() {
    QTest::addColumn<TimedRun>("call");
    QTest::addColumn<int>("workMs");
    QTest::addColumn<Expect>("expect");
    using std::chrono::duration;
    constexpr double inf = std::numeric_limits<double>::infinity();
    // Short timeouts with work that takes far longer: TimeoutError.
    QTest::newRow("0.1s (double), long work")
        << timedRun(duration<double>(0.1)) << 30000 << Expect::Timeout;
    QTest::newRow("150.5ms (float), long work")
        << timedRun(duration<float, std::milli>(150.5F)) << 30000 << Expect::Timeout;
    QTest::newRow("1e-9s (double), long work")
        << timedRun(duration<double>(1e-9)) << 30000 << Expect::Timeout;
    QTest::newRow("1ns, long work") << timedRun(1ns) << 30000 << Expect::Timeout;
    // Long or extreme timeouts with short work: the value, no overflow into "already passed".
    QTest::newRow("30.0s (double), short work")
        << timedRun(duration<double>(30.0)) << 20 << Expect::Value;
    QTest::newRow("hours::max()") << timedRun(std::chrono::hours::max()) << 20 << Expect::Value;
    QTest::newRow("seconds::max()") << timedRun(std::chrono::seconds::max()) << 20 << Expect::Value;
    QTest::newRow("milliseconds::max()")
        << timedRun(std::chrono::milliseconds::max()) << 20 << Expect::Value;
    QTest::newRow("nanoseconds::max()")
        << timedRun(std::chrono::nanoseconds::max()) << 20 << Expect::Value;
    QTest::newRow("duration<long double>::max()")
        << timedRun(duration<long double>::max()) << 20 << Expect::Value;
    QTest::newRow("duration<double>::max()")
        << timedRun(duration<double>::max()) << 20 << Expect::Value;
    QTest::newRow("+inf s (double)") << timedRun(duration<double>(inf)) << 20 << Expect::Value;
    QTest::newRow("duration<long long, std::ratio<31556952>>::max() (years)")
        << timedRun(duration<long long, std::ratio<31556952>>::max()) << 20 << Expect::Value;
}

void tst_Run::anyDurationType() {
    QFETCH(TimedRun, call);
    QFETCH(int, workMs);
    QFETCH(Expect, expect);
    EventLoopThreadRunner runner;
    runner.thread();
    std::atomic<bool> invoked{false};
    std::atomic<bool> ended{false};
    std::atomic<bool> sleptFully{false};
    const Work work = [&invoked, &ended, &sleptFully, workMs]() -> QCoro::Task<int> {
        invoked = true;
        const int value = co_await sleepThen42(std::chrono::milliseconds(workMs), &sleptFully);
        ended = true;
        co_return value;
    };
    // sleepThen42 reads currentStopToken() before its first suspension, on the caller's behalf:
    // the token is current while the callable (and its nested eager coroutines) run.
    palitra::test::Watchdog watchdog(60s, "anyDurationType");
    if (expect == Expect::Value) {
        QCOMPARE(call(runner, work), 42);
        QVERIFY(ended);
    } else {
        QVERIFY_THROWS_EXCEPTION(palitra::TimeoutError, call(runner, work));
        // With a tiny timeout the caller may leave before the loop got to the call, which is
        // then never invoked. A round trip settles which case this was.
        QCOMPARE(runner.run(fortyTwo), 42);
        if (invoked) {
            QTRY_VERIFY_WITH_TIMEOUT(ended, 20000); // woken early by the stop request
            QVERIFY2(!sleptFully, "the coroutine was not asked to stop");
        }
    }
}

void tst_Run::nanTimeoutIsInvalid_data() {
    QTest::addColumn<TimedRun>("call");
    QTest::newRow("NaN s (double)")
        << timedRun(std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN()));
    QTest::newRow("NaN ms (float)") << timedRun(
        std::chrono::duration<float, std::milli>(std::numeric_limits<float>::quiet_NaN()));
    QTest::newRow("NaN h (long double)")
        << timedRun(std::chrono::duration<long double, std::ratio<3600>>(
               std::numeric_limits<long double>::quiet_NaN()));
}

void tst_Run::nanTimeoutIsInvalid() {
    QFETCH(TimedRun, call);
    EventLoopThreadRunner runner;
    std::atomic<bool> invoked{false};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, call(runner, [&] {
                                 invoked = true;
                                 return fortyTwo();
                             }));
    QCOMPARE(runner.run(fortyTwo), 42);
    QVERIFY(!invoked);
}

void tst_Run::timeoutRequestsStop() {
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    std::atomic<bool> possibleAtStart{false};
    std::atomic<bool> requestedAtStart{true};
    std::atomic<bool> requestedAfterWake{false};
    std::atomic<int> sleptFully{-1};
    std::atomic<bool> ended{false};
    std::atomic<QThread *> wokeOn{nullptr};

    QVERIFY(palitra::test::timeOutAfterInvoking(100ms, [&](auto timeout) {
        (void)runner.run(
            [&]() -> QCoro::Task<> {
                const std::stop_token stop = palitra::currentStopToken();
                possibleAtStart = stop.stop_possible();
                requestedAtStart = stop.stop_requested();
                sleptFully = co_await palitra::sleepFor(30s, stop);
                requestedAfterWake = stop.stop_requested();
                wokeOn = QThread::currentThread();
                ended = true;
            },
            timeout);
    }));
    QTRY_VERIFY_WITH_TIMEOUT(ended, 10000);
    QVERIFY(possibleAtStart);
    QVERIFY(!requestedAtStart);
    QCOMPARE(sleptFully.load(), 0);
    QVERIFY(requestedAfterWake);
    QCOMPARE(wokeOn.load(), runner.thread());
}

void tst_Run::lateResultDroppedCapturesLiveUntilFrameEnds() {
    Counted::reset();
    {
        EventLoopThreadRunner runner;
        palitra::test::startLoop(runner);
        Gate gate; // opened from this thread; the coroutine resumes on the loop thread
        std::atomic<bool> armed{false};
        std::atomic<bool> resumed{false};
        std::atomic<int> captureSeenAtResume{0};
        std::atomic<int> liveAtResume{0};

        QVERIFY(palitra::test::timeOutAfterInvoking(300ms, [&](auto timeout) {
            (void)runner.run(
                [&, captured = Counted(42)]() -> QCoro::Task<Counted> {
                    armed = true;
                    // Ignores the stop request on purpose: only the gate
                    // resumes it.
                    co_await palitra::awaitSignal(&gate, &Gate::opened);
                    captureSeenAtResume = captured.value;
                    liveAtResume = Counted::live();
                    resumed = true;
                    co_return Counted(99); // the late result: dropped
                },
                timeout);
        }));

        // The coroutine is still suspended: its callable and capture must still be alive.
        QTRY_VERIFY(armed);
        QCOMPARE(Counted::live(), 1);
        QTRY_VERIFY(gate.hasListener());
        gate.open();
        QTRY_VERIFY_WITH_TIMEOUT(resumed, 10000);
        QCOMPARE(captureSeenAtResume.load(), 42);
        QVERIFY(liveAtResume.load() >= 1);
        // Once the frame has ended the capture and the late result are freed, without the
        // caller ever taking anything.
        QTRY_COMPARE(Counted::live(), 0);
        QCOMPARE(Counted::copies.load(), 0);
        QCOMPARE(runner.run(fortyTwo), 42);
    }
    QCOMPARE(Counted::live(), 0);
}

void tst_Run::lateExceptionDropped() {
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    Gate gate;
    std::atomic<bool> threw{false};
    QVERIFY(palitra::test::timeOutAfterInvoking(200ms, [&](auto timeout) {
        (void)runner.run(
            [&]() -> QCoro::Task<int> {
                co_await palitra::awaitSignal(&gate, &Gate::opened);
                threw = true;
                throw CustomError("too late", 1);
            },
            timeout);
    }));
    QTRY_VERIFY(gate.hasListener());
    gate.open();
    QTRY_VERIFY_WITH_TIMEOUT(threw, 10000);
    // The late exception went nowhere: not into the loop (that would terminate), not into the
    // next call.
    QCOMPARE(runner.run(fortyTwo), 42);
    QVERIFY(runner.isRunning());
}

void tst_Run::timeoutHoldsWhileLoopIsBlocked() {
    Counted::reset();
    {
        EventLoopThreadRunner runner;
        LoopBlocker blocker(runner); // another caller's coroutine hogs the loop thread
        QVERIFY(!blocker.failed());
        auto release = qScopeGuard([&] { blocker.release(); });

        QVERIFY_THROWS_EXCEPTION(
            palitra::TimeoutError,
            runner.run([c = Counted(1)]() -> QCoro::Task<int> { co_return c.value; }, 200ms));
        // The caller got its TimeoutError while the loop thread was still held: it did not wait
        // for the busy loop thread (which is held until released, or a minute has passed).
        QVERIFY2(blocker.isBlocking(), "the caller's deadline waited for the busy loop thread");

        release.dismiss();
        blocker.release();
        // The loop recovers and the abandoned call's callable is freed.
        QCOMPARE(runner.run(fortyTwo), 42);
        QTRY_COMPARE(Counted::live(), 0);
    }
    QCOMPARE(Counted::live(), 0);
}

// No self-deadlock ------------------------------------------------------------------------

static void addDeadlockApis() {
    QTest::addColumn<Api>("api");
    QTest::newRow("run") << Api::Run;
    QTest::newRow("run with timeout") << Api::RunTimeout;
    QTest::newRow("gather(fa, fb)") << Api::GatherTuple;
    QTest::newRow("gather(range)") << Api::GatherRange;
    QTest::newRow("gatherOutcomes") << Api::GatherOutcomes;
}

void tst_Run::runFromCoroutineIsDeadlockError_data() {
    addDeadlockApis();
}

void tst_Run::runFromCoroutineIsDeadlockError() {
    QFETCH(Api, api);
    EventLoopThreadRunner runner;
    std::atomic<bool> invoked{false};
    std::string messageBefore;
    std::string messageAfter;
    // A call that waited for its own loop thread would never return (the watchdog fails it).
    palitra::test::Watchdog watchdog(60s, "runFromCoroutineIsDeadlockError");

    const auto [before, after] = runner.run([&]() -> QCoro::Task<std::pair<int, int>> {
        const int b = callExpectingDeadlock(runner, api, invoked, messageBefore);
        co_await palitra::sleepFor(1ms, std::stop_token{});
        const int a = callExpectingDeadlock(runner, api, invoked, messageAfter);
        co_return std::pair{b, a};
    });
    QCOMPARE(before, 2);
    QCOMPARE(after, 2);
    QVERIFY(!invoked);
    QVERIFY2(QByteArray::fromStdString(messageBefore).contains("co_await"), messageBefore.c_str());
    QVERIFY(QByteArray::fromStdString(messageAfter).contains("co_await"));
    QCOMPARE(runner.run(fortyTwo), 42);
}

void tst_Run::runFromLoopSlotIsDeadlockError_data() {
    QTest::addColumn<Via>("via");
    QTest::addColumn<Api>("api");
    const std::pair<Via, const char *> vias[] = {{Via::SingleShot, "QTimer::singleShot"},
                                                 {Via::InvokeMethod, "invokeMethod"}};
    const std::pair<Api, const char *> apis[] = {{Api::Run, "run"},
                                                 {Api::RunTimeout, "run with timeout"},
                                                 {Api::GatherTuple, "gather(fa, fb)"},
                                                 {Api::GatherRange, "gather(range)"},
                                                 {Api::GatherOutcomes, "gatherOutcomes"}};
    for (const auto &[via, viaName] : vias)
        for (const auto &[api, apiName] : apis)
            QTest::addRow("%s, %s", viaName, apiName) << via << api;
}

void tst_Run::runFromLoopSlotIsDeadlockError() {
    QFETCH(Via, via);
    QFETCH(Api, api);
    EventLoopThreadRunner runner;
    std::atomic<bool> invoked{false};
    std::atomic<int> result{0};
    std::atomic<QThread *> slotThread{nullptr};
    std::string message;
    const auto slot = [&] {
        slotThread = QThread::currentThread();
        std::string m;
        const int r = callExpectingDeadlock(runner, api, invoked, m);
        message = m;
        result = r;
    };
    if (via == Via::SingleShot)
        QTimer::singleShot(0, runner.context(), slot);
    else
        QMetaObject::invokeMethod(runner.context(), slot, Qt::QueuedConnection);
    QTRY_VERIFY(result != 0);
    QCOMPARE(slotThread.load(), runner.thread());
    QCOMPARE(result.load(), 2);
    QVERIFY(!invoked);
    QVERIFY(QByteArray::fromStdString(message).contains("co_await"));
    QCOMPARE(runner.run(fortyTwo), 42);
    QVERIFY(!invoked);
}

void tst_Run::otherRunnerFromLoopThread() {
    EventLoopThreadRunner a;
    EventLoopThreadRunner b;
    QThread *const aThread = a.thread();
    QThread *const bThread = b.thread();
    QVERIFY(aThread != bThread);
    std::atomic<QThread *> ranOn{nullptr};
    const auto [viaRun, viaGather] = a.run(
        [&]() -> QCoro::Task<std::pair<int, int>> {
            // Blocks A's loop while B works: allowed, the user's choice
            // (docs/SEMANTICS.md#no-self-deadlock).
            const int r = b.run([&]() -> QCoro::Task<int> {
                ranOn = QThread::currentThread();
                co_await palitra::sleepFor(1ms, std::stop_token{});
                co_return 5;
            });
            const auto [x, y] = b.gather(fortyTwo, fortyTwo);
            co_return std::pair{r, x + y};
        },
        30s);
    QCOMPARE(viaRun, 5);
    QCOMPARE(viaGather, 84);
    QCOMPARE(ranOn.load(), bThread);
}

// Bad input (runtime part) ---------------------------------------------------------------

void tst_Run::emptyCallableIsInvalid_data() {
    QTest::addColumn<Empty>("which");
    QTest::addColumn<bool>("withTimeout");
    QTest::newRow("empty std::function") << Empty::Function << false;
    QTest::newRow("empty std::function, with timeout") << Empty::Function << true;
    QTest::newRow("null function pointer") << Empty::Pointer << false;
    QTest::newRow("null function pointer, with timeout") << Empty::Pointer << true;
}

void tst_Run::emptyCallableIsInvalid() {
    QFETCH(Empty, which);
    QFETCH(bool, withTimeout);
    EventLoopThreadRunner runner;
    const std::function<QCoro::Task<int>()> emptyFunction;
    QCoro::Task<int> (*const nullPointer)() = nullptr;
    const auto call = [&] {
        if (which == Empty::Function)
            return withTimeout ? runner.run(emptyFunction, 5s) : runner.run(emptyFunction);
        return withTimeout ? runner.run(nullPointer, 5s) : runner.run(nullPointer);
    };
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, call());
    // Nothing was dispatched: this lazily started runner did not even start its loop.
    QVERIFY(!runner.isRunning());
    QCOMPARE(runner.run(fortyTwo), 42);
    // And on a running runner the same input fails the same way and leaves it usable.
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, call());
    QVERIFY(runner.isRunning());
    QCOMPARE(runner.run(fortyTwo), 42);
}

void tst_Run::functionPointerWorks() {
    EventLoopThreadRunner runner;
    QCoro::Task<int> (*const pointer)() = fortyTwo;
    QCOMPARE(runner.run(pointer), 42);
    QCOMPARE(runner.run(&fortyTwo, 5s), 42);
    const std::function<QCoro::Task<int>()> function = fortyTwo;
    QCOMPARE(runner.run(function), 42);
}

// thread() / context() / RunnerOptions::threadName -----------------------------------------

void tst_Run::threadAndContextStartLazily() {
    {
        EventLoopThreadRunner runner;
        QVERIFY(!runner.isRunning());
        QThread *const thread = runner.thread();
        QVERIFY(thread);
        QVERIFY(runner.isRunning());
        QVERIFY(thread->isRunning());
        QVERIFY(thread != QThread::currentThread());
        QObject *const context = runner.context();
        QVERIFY(context);
        QCOMPARE(context->thread(), thread);
        QCOMPARE(runner.thread(), thread); // stable
    }
    {
        EventLoopThreadRunner runner;
        QObject *const context = runner.context(); // context() first also starts it
        QVERIFY(context);
        QVERIFY(runner.isRunning());
        QCOMPARE(context->thread(), runner.thread());
    }
}

void tst_Run::callRefusedForItsTimeoutStartsNothing_data() {
    QTest::addColumn<RefusedCall>("call");
    QTest::newRow("run, 0ms") << RefusedCall(
        [](EventLoopThreadRunner &r) { (void)r.run(fortyTwo, 0ms); });
    QTest::newRow("gather, 0ms") << RefusedCall(
        [](EventLoopThreadRunner &r) { (void)r.gather(fortyTwo, fortyTwo, 0ms); });
    QTest::newRow("gatherOutcomes, -1ms")
        << RefusedCall([](EventLoopThreadRunner &r) { (void)r.gatherOutcomes(fortyTwo, -1ms); });
    // The positive timeout that passes before the call is queued: what a preempted caller with a
    // short timeout meets.
    QTest::newRow("gather of a range, 1ms passed while copying")
        << RefusedCall([](EventLoopThreadRunner &r) {
               const std::vector<SlowToCopy> calls(1);
               (void)r.gather(calls, 1ms);
           });
}

void tst_Run::callRefusedForItsTimeoutStartsNothing() {
    QFETCH(RefusedCall, call);
    EventLoopThreadRunner runner;
    std::string message;
    try {
        call(runner);
    } catch (const palitra::TimeoutError &e) {
        message = e.what();
    }
    // The message says the call never ran (not the "asked to stop" of a call that did).
    QVERIFY2(message.find("no callable was invoked") != std::string::npos, message.c_str());
    // Lazy start: a call that needs no loop (it can never be queued) starts none.
    QVERIFY2(!runner.isRunning(), "a call refused for its timeout started the loop thread");
    QCOMPARE(runner.run(fortyTwo), 42);
    QVERIFY(runner.isRunning());
}

void tst_Run::threadAndContextNullAfterClose_data() {
    QTest::addColumn<bool>("startFirst");
    QTest::newRow("started") << true;
    QTest::newRow("never started") << false;
}

void tst_Run::threadAndContextNullAfterClose() {
    QFETCH(bool, startFirst);
    EventLoopThreadRunner runner;
    QPointer<QThread> thread;
    if (startFirst) {
        thread = runner.thread();
        QVERIFY(thread);
    }
    runner.close();
    QVERIFY(!runner.isRunning());
    QCOMPARE(runner.thread(), nullptr);
    QCOMPARE(runner.context(), nullptr);
    QVERIFY(!runner.isRunning()); // asking after close() starts nothing
    runner.close();               // idempotent
    QCOMPARE(runner.thread(), nullptr);
    QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError, runner.run(fortyTwo));
}

void tst_Run::contextAcceptsQueuedWork() {
    EventLoopThreadRunner runner;
    std::atomic<QThread *> timerOn{nullptr};
    std::atomic<QThread *> invokedOn{nullptr};
    QTimer::singleShot(1ms, runner.context(), [&] { timerOn = QThread::currentThread(); });
    QMetaObject::invokeMethod(
        runner.context(), [&] { invokedOn = QThread::currentThread(); }, Qt::QueuedConnection);
    QTRY_VERIFY(timerOn.load() != nullptr);
    QTRY_VERIFY(invokedOn.load() != nullptr);
    QCOMPARE(timerOn.load(), runner.thread());
    QCOMPARE(invokedOn.load(), runner.thread());
}

void tst_Run::threadNameOption() {
    {
        palitra::RunnerOptions options;
        options.threadName = QStringLiteral("semantics-loop");
        EventLoopThreadRunner runner(options);
        QCOMPARE(runner.thread()->objectName(), QStringLiteral("semantics-loop"));
        const QString inside = runner.run(
            []() -> QCoro::Task<QString> { co_return QThread::currentThread()->objectName(); });
        QCOMPARE(inside, QStringLiteral("semantics-loop"));
    }
    {
        EventLoopThreadRunner runner;
        QCOMPARE(runner.thread()->objectName(), QStringLiteral("palitra"));
    }
}

// RunnerOptions::spinBeforeBlocking: a spinning caller still gets values, exceptions and its
// deadline, also when the loop is busy (then it spins at most the budget and blocks).
void tst_Run::spinBeforeBlockingKeepsSemantics() {
    palitra::RunnerOptions options;
    options.spinBeforeBlocking = 50us;
    EventLoopThreadRunner runner(options);
    for (int i = 0; i < 1000; ++i)
        QCOMPARE(runner.run([i]() -> QCoro::Task<int> { co_return i; }), i);
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, runner.run([]() -> QCoro::Task<int> {
        throw std::out_of_range("spun");
        co_return 0;
    }));

    LoopBlocker blocker(runner);
    QVERIFY(!blocker.failed());
    QVERIFY_THROWS_EXCEPTION(palitra::TimeoutError,
                             runner.run([]() -> QCoro::Task<int> { co_return 1; }, 100ms));
    QVERIFY(blocker.isBlocking()); // the deadline held while the loop thread was busy
    blocker.release();
    QCOMPARE(runner.run([]() -> QCoro::Task<int> { co_return 7; }), 7);
}

namespace {
bool mayUseTwoCpus() {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    return sched_getaffinity(0, sizeof cpus, &cpus) != 0 || CPU_COUNT(&cpus) >= 2;
}
} // namespace

// The adaptive spin's decisions are counted (palitra::detail::spinStats): these tests check
// what it decided, never how long anything took.
void tst_Run::spinOffNeverSpins() {
    palitra::RunnerOptions options;
    options.spinBeforeBlocking = std::chrono::nanoseconds::zero();
    EventLoopThreadRunner runner(options);
    for (int i = 0; i < 100; ++i)
        QCOMPARE(runner.run([i]() -> QCoro::Task<int> { co_return i; }), i);
    const auto stats = palitra::detail::spinStats(runner);
    QCOMPARE(stats.spins, 0u);
    QCOMPARE(stats.blockedCold + stats.blockedBusy + stats.blockedCrowded, 0u); // none made
}

// Calls that cannot end within the budget (each sleeps 2 ms): after two missed spins callers
// block at once, and only an occasional probe spins, ever more rarely.
void tst_Run::slowCallsMakeCallersBlock() {
    if (!mayUseTwoCpus())
        QSKIP("this process may run on one CPU only, where palitra never spins");
    EventLoopThreadRunner runner; // default options: the adaptive spin is on
    constexpr int calls = 100;
    for (int i = 0; i < calls; ++i) {
        runner.run([]() -> QCoro::Task<void> {
            co_await palitra::sleepFor(2ms, palitra::currentStopToken());
        });
    }
    const auto stats = palitra::detail::spinStats(runner);
    QCOMPARE(stats.caught, 0u);
    // 2 misses, then probes after 16, 32 and 64 blocked calls: at most 5 spins in 100 calls.
    QVERIFY2(stats.spins >= 2 && stats.spins <= 5, QByteArray::number(stats.spins));
    QCOMPARE(stats.spins + stats.blockedCold + stats.blockedBusy + stats.blockedCrowded,
             std::uint64_t(calls));

    // Turned off, the same calls never spin.
    palitra::RunnerOptions off;
    off.spinBeforeBlocking = std::chrono::nanoseconds::zero();
    EventLoopThreadRunner quiet(off);
    for (int i = 0; i < 10; ++i) {
        quiet.run([]() -> QCoro::Task<void> {
            co_await palitra::sleepFor(2ms, palitra::currentStopToken());
        });
    }
    QCOMPARE(palitra::detail::spinStats(quiet).spins, 0u);
}

// A caller that queues while a callable keeps the loop thread busy blocks without spinning, and
// the spinning goes on once the loop is free again.
void tst_Run::busyLoopMakesCallersBlock() {
    if (!mayUseTwoCpus())
        QSKIP("this process may run on one CPU only, where palitra never spins");
    EventLoopThreadRunner runner;
    runner.run([]() -> QCoro::Task<void> { co_return; });
    const auto before = palitra::detail::spinStats(runner);
    QCOMPARE(before.spins, 1u); // the first call found the loop idle
    {
        LoopBlocker blocker(runner);
        QVERIFY(!blocker.failed());
        // The drain running the blocker began before the blocker said so: once the clock has
        // moved on by more than the spin budget from here, that drain has lasted longer.
        const auto blocked = Clock::now();
        while (Clock::now() - blocked < 1ms)
            std::this_thread::yield();
        QVERIFY_THROWS_EXCEPTION(palitra::TimeoutError,
                                 runner.run([]() -> QCoro::Task<int> { co_return 1; }, 100ms));
        QVERIFY(blocker.isBlocking());
        QCOMPARE(palitra::detail::spinStats(runner).blockedBusy, before.blockedBusy + 1);
        // Only the blocker's own call spun (it counts once its spin has ended).
        QTRY_COMPARE(palitra::detail::spinStats(runner).spins, before.spins + 1);
    }
    QCOMPARE(runner.run([]() -> QCoro::Task<int> { co_return 7; }), 7);
    const auto after = palitra::detail::spinStats(runner);
    QCOMPARE(after.spins + after.blockedCold + after.blockedBusy + after.blockedCrowded,
             std::uint64_t(4));
}

// The idle loop thread's spin before it sleeps (palitra::detail::idleSpinStats) is counted the
// same way: these tests check its decisions, never a time.

// Where the loop thread never spins: on one CPU, and in a build without its futex dispatcher.
#define SKIP_UNLESS_LOOP_SPINS()                                                                   \
    do {                                                                                           \
        if (!mayUseTwoCpus())                                                                      \
            QSKIP("this process may run on one CPU only, where palitra never spins");              \
        if (!palitra::detail::loopSpinsWhenIdle())                                                 \
            QSKIP("this build's loop thread sleeps in Qt's own dispatcher, which never spins");    \
    } while (false)

// Calls made one after another from one thread: the loop, watching for the next call when it
// has none, takes one without being woken. A budget of milliseconds, so that a machine busy with
// other work (the caller not scheduled for a while) cannot make every spin miss: the first
// spin already comes with no misses on record, and each later catch keeps the spin on.
void tst_Run::idleLoopSpinCatchesTheNextCall() {
    SKIP_UNLESS_LOOP_SPINS();
    palitra::RunnerOptions options;
    options.spinBeforeBlocking = 2ms; // the idle loop's: 10 ms
    EventLoopThreadRunner runner(options);
    for (int i = 0; i < 2000 && palitra::detail::idleSpinStats(runner).caught == 0; ++i)
        QCOMPARE(runner.run([i]() -> QCoro::Task<int> { co_return i; }), i);
    QVERIFY(palitra::detail::idleSpinStats(runner).caught > 0);
}

// A loop that keeps waking for its own timer but gets no call: after two missed spins it
// sleeps at once, and probes only after 16, 32, 64, ... sleeps.
void tst_Run::idleLoopSoonStopsSpinning() {
    SKIP_UNLESS_LOOP_SPINS();
    EventLoopThreadRunner runner;
    std::atomic<int> ticks{0};
    QPointer<QTimer> timer;
    runner.run([&]() -> QCoro::Task<void> {
        timer = new QTimer(runner.context());
        QObject::connect(timer, &QTimer::timeout, [&ticks] { ++ticks; });
        timer->start(1);
        co_return;
    });
    const auto before = palitra::detail::idleSpinStats(runner);
    QTRY_VERIFY_WITH_TIMEOUT(ticks.load() >= 200, 30000);
    const auto after = palitra::detail::idleSpinStats(runner);
    runner.run([&]() -> QCoro::Task<void> {
        delete timer.data();
        co_return;
    });
    const auto spins = after.spins - before.spins;
    const auto sleptAtOnce = after.blockedCold - before.blockedCold;
    // Every spin of that time missed (no call came). 200 passes or more, each one a decision:
    // at most 2 misses, then one probe per doubling (16 .. 1024 sleeps) -- far fewer than 20.
    QCOMPARE(after.caught, before.caught);
    QVERIFY2(spins <= 20, QByteArray::number(spins));
    QVERIFY2(sleptAtOnce >= 100, QByteArray::number(sleptAtOnce));
}

void tst_Run::idleSpinOffOrOnOneCpuNeverSpins() {
    const auto calls = [](EventLoopThreadRunner &runner) {
        for (int i = 0; i < 50; ++i)
            QCOMPARE(runner.run([i]() -> QCoro::Task<int> { co_return i; }), i);
    };
    palitra::RunnerOptions off;
    off.spinBeforeBlocking = std::chrono::nanoseconds::zero();
    EventLoopThreadRunner quiet(off);
    calls(quiet);
    QCOMPARE(palitra::detail::idleSpinStats(quiet).spins, 0u);
    QCOMPARE(palitra::detail::idleSpinStats(quiet).blockedCold, 0u); // no decision made at all

    // A runner made while its process may use one CPU only never spins, on either side.
    const palitra::test::OneCpu oneCpu;
    QVERIFY(oneCpu.isPinned());
    EventLoopThreadRunner pinned;
    calls(pinned);
    QCOMPARE(palitra::detail::idleSpinStats(pinned).spins, 0u);
    QCOMPARE(palitra::detail::spinStats(pinned).spins, 0u);
}

// An idle spin ends at the loop's next timer at the latest, and the loop then sleeps only for
// what is left: a timer due within the spin fires on time, not a whole interval late.
void tst_Run::idleSpinKeepsTimersOnTime() {
    SKIP_UNLESS_LOOP_SPINS();
    palitra::RunnerOptions options;
    options.spinBeforeBlocking = 20ms; // an idle spin of up to 100 ms: longer than the timer
    EventLoopThreadRunner runner(options);
    constexpr auto interval = 60ms;
    // Sleeping the whole interval again after the spin would make every timer a full interval
    // late. One attempt may be late for another reason (the loop thread preempted around the
    // deadline on a loaded machine), three in a row only for that one.
    QList<qint64> lateness;
    for (int attempt = 0; attempt < 3; ++attempt) {
        std::atomic<Clock::rep> armedAt{0};
        std::atomic<Clock::rep> firedAt{0};
        runner.run([&]() -> QCoro::Task<void> {
            armedAt = Clock::now().time_since_epoch().count();
            QTimer::singleShot(interval, runner.context(),
                               [&] { firedAt = Clock::now().time_since_epoch().count(); });
            co_return;
        });
        QTRY_VERIFY_WITH_TIMEOUT(firedAt.load() != 0, 10000);
        const auto late = Clock::duration(firedAt.load() - armedAt.load()) - interval;
        if (late < interval)
            return;
        lateness.append(std::chrono::duration_cast<std::chrono::milliseconds>(late).count());
    }
    QByteArray why = "every timer was late by a full interval or more (ms):";
    for (const qint64 ms : std::as_const(lateness))
        why += ' ' + QByteArray::number(ms);
    QFAIL(why.constData());
}

// The budget's extremes are taken as they are meant, with no overflow (UBSan checks the
// arithmetic in the sanitizer build): the most negative never spins; the largest spins on each
// side until there is something to take, and close() still ends the idle loop's spin at once.
void tst_Run::extremeSpinBudgetsAreSafe() {
    for (const auto budget : {std::chrono::nanoseconds::min(), std::chrono::nanoseconds::max()}) {
        palitra::RunnerOptions options;
        options.spinBeforeBlocking = budget;
        EventLoopThreadRunner runner(options);
        for (int i = 0; i < 20; ++i)
            QCOMPARE(runner.run([i]() -> QCoro::Task<int> { co_return i; }), i);
        const auto callers = palitra::detail::spinStats(runner);
        const auto loop = palitra::detail::idleSpinStats(runner);
        if (budget < std::chrono::nanoseconds::zero() || !mayUseTwoCpus()) {
            QCOMPARE(callers.spins, 0u);
            QCOMPARE(loop.spins, 0u);
        } else {
            QCOMPARE(callers.caught, callers.spins); // a day's budget: no spin runs out
        }
        runner.close(); // wakes the idle loop out of its spin
        QVERIFY(!runner.isRunning());
    }
}

QTEST_GUILESS_MAIN(tst_Run)
#include "tst_run.moc"
