// SPDX-License-Identifier: MIT
// palitra::currentCall() and CallContext: the call's stop token across suspensions, onCaller()
// on the blocked caller's thread, the warning for a question asked too late, deadlock cycles
// across runners, and the warning for a coroutine resumed off its loop. See
// docs/SEMANTICS.md#the-call-a-coroutine-belongs-to.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QCoro/QCoroSignal>
#include <QScopeGuard>
#include <QTest>
#include <QThread>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <future>
#include <initializer_list>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using palitra::CallContext;
using palitra::EventLoopThreadRunner;
using palitra::test::Clock;
using palitra::test::Counted;
using palitra::test::Gate;
using palitra::test::JoiningThread;
using palitra::test::LoopBlocker;
using palitra::test::MessageLog;
using palitra::test::Watchdog;

namespace {

//! How the `co_await` of an onCaller() ended, as seen by the coroutine.
enum class Ending { Value, Timeout, Closed, OtherError, NotYet };

template<typename Awaitable>
QCoro::Task<Ending> endingOf(Awaitable awaitable) {
    try {
        co_await std::move(awaitable);
        co_return Ending::Value;
    } catch (const palitra::TimeoutError &) {
        co_return Ending::Timeout;
    } catch (const palitra::RunnerClosedError &) {
        co_return Ending::Closed;
    } catch (const palitra::Error &) {
        co_return Ending::OtherError;
    }
}

//! A gather of two coroutines whose caller is kept busy: the first's onCaller() runs a given
//! function on the caller, and the second asks for its own onCaller() (after one suspension)
//! while that may still run. How each co_await ended arrives in first and second.
struct BusyCaller {
    std::promise<Ending> firstEnding;
    std::promise<Ending> secondEnding;
    std::future<Ending> first = firstEnding.get_future();
    std::future<Ending> second = secondEnding.get_future();
    std::atomic<bool> secondAsked{false};
    std::atomic<bool> secondRan{false};
    bool invoked = true; //!< false: the gather timed out before the loop started it

    //! How the gather ended for its caller.
    template<typename Hold, typename... Timeout>
    Ending gather(EventLoopThreadRunner &runner, Hold holdCaller, Timeout... timeout) {
        try {
            runner.gather(
                [this, holdCaller]() -> QCoro::Task<> {
                    const CallContext call = palitra::currentCall();
                    firstEnding.set_value(co_await endingOf(call.onCaller(holdCaller)));
                },
                [this]() -> QCoro::Task<> {
                    const CallContext call = palitra::currentCall();
                    co_await palitra::sleepFor(1ms, std::stop_token{});
                    secondAsked = true;
                    secondEnding.set_value(
                        co_await endingOf(call.onCaller([this] { secondRan = true; })));
                },
                timeout...);
            return Ending::Value;
        } catch (const palitra::TimeoutError &e) {
            invoked = palitra::test::invokedBeforeTimeout(e);
            return Ending::Timeout;
        } catch (const palitra::RunnerClosedError &) {
            return Ending::Closed;
        } catch (const palitra::Error &) {
            return Ending::OtherError;
        }
    }
};

//! A stop-aware helper that a callable calls after its first suspension: it can only stop
//! because it was handed the call's token.
QCoro::Task<bool> sleepLong(std::stop_token stop) {
    co_return co_await palitra::sleepFor(1h, stop);
}

//! Resumes on the thread of the object it awaits (QCoro's qCoro(obj, &signal)): the coroutine
//! ends off its loop thread. A named type, so that the warning can be checked for its name.
struct ResumesOffLoop {
    Gate *gate;
    QCoro::Task<Counted> operator()() const {
        co_await qCoro(gate, &Gate::opened);
        co_return Counted(7);
    }
};

} // namespace

class tst_CallContext : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // The handle and its token
    void noCallOutsideCallables();
    void tokenValidAcrossSuspensions();
    void helperStopsOnTimeoutThroughHandle();
    void handleOutlivesTheCall();

    // onCaller()
    void onCallerRunsOnBlockedCaller();
    void onCallerVoidAndException();
    void onCallerMoveOnlyResultAndCallable();
    void onCallerRunsNothingElseOnCaller();
    void onCallerInOrderAcrossGather();
    void onCallerAfterTimeoutThrowsTimeout();
    void onCallerQueuedWhenCallerTimesOut();
    void onCallerAfterCloseThrowsClosed();
    void closeWhileOnCallerRunsAndQueued();
    void onCallerOnSubmittedCallIsError();
    void onCallerWithoutCallIsError();

    // Asked too late
    void currentStopTokenAfterSuspensionWarnsOnce();
    void currentCallAfterSuspensionWarnsOnce();
    void askingOffLoopThreadIsQuiet();
    void resumedInsideAnotherCallBelongsToNoCall();

    // Deadlock cycles across runners
    void twoRunnerCycleThrowsDeadlock();
    void threeRunnerCycleThrowsDeadlock();
    void cycleFormedByTwoThreadsAtOnce();
    void nestingWithoutCycleWorks();
    void cycleThroughOnCallerHopThrowsDeadlock();
    void nestedWaitKeepsTheOuterWaitInTheCycleCheck();
    void waitOfAnEndedCallIsNoCycle();

    // Resumed off the loop thread
    void resumedOffLoopWarnsOncePerType();
    void resumedOffLoopNamesAnUnnamedThreadByItsTid();
};

// ---- the handle and its token ----

void tst_CallContext::noCallOutsideCallables() {
    const CallContext none = palitra::currentCall();
    QVERIFY(!none.isValid());
    QVERIFY(!none.stopToken().stop_possible());
    QVERIFY(!CallContext().isValid());
}

void tst_CallContext::tokenValidAcrossSuspensions() {
    EventLoopThreadRunner runner;
    const bool stillPossible = runner.run([]() -> QCoro::Task<bool> {
        const CallContext call = palitra::currentCall();
        co_await palitra::sleepFor(1ms, std::stop_token{});
        // currentStopToken() would be empty here; the handle's token is the call's.
        co_return call.isValid() && call.stopToken().stop_possible() &&
            !call.stopToken().stop_requested();
    });
    QVERIFY(stillPossible);
}

void tst_CallContext::helperStopsOnTimeoutThroughHandle() {
    Watchdog watchdog(60s, "helperStopsOnTimeoutThroughHandle");
    std::promise<bool> slept;
    auto sleptFully = slept.get_future();
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    QVERIFY(palitra::test::timeOutAfterInvoking(200ms, [&](auto timeout) {
        (void)runner.run(
            [&]() -> QCoro::Task<> {
                const CallContext call = palitra::currentCall();
                co_await palitra::sleepFor(1ms, std::stop_token{});
                slept.set_value(co_await sleepLong(call.stopToken()));
            },
            timeout);
    }));
    // Only the caller's timeout can end an hour's sleep: the helper was handed the live token.
    QCOMPARE(sleptFully.wait_for(30s), std::future_status::ready);
    QCOMPARE(sleptFully.get(), false);
}

void tst_CallContext::handleOutlivesTheCall() {
    EventLoopThreadRunner runner;
    CallContext kept;
    runner.run([&]() -> QCoro::Task<> {
        kept = palitra::currentCall();
        co_return;
    });
    // The call has ended; the handle still refers to it and is safe to use and drop.
    QVERIFY(kept.isValid());
    QVERIFY(kept.stopToken().stop_possible());
    CallContext copy = kept;
    kept = CallContext();
    QVERIFY(copy.isValid());
    QVERIFY(!kept.isValid());
}

// ---- onCaller() ----

void tst_CallContext::onCallerRunsOnBlockedCaller() {
    EventLoopThreadRunner runner;
    QThread *const caller = QThread::currentThread();
    struct Seen {
        QThread *fnRanOn = nullptr;
        QThread *resumedOn = nullptr;
        int value = 0;
    };
    const Seen seen = runner.run([]() -> QCoro::Task<Seen> {
        const CallContext call = palitra::currentCall();
        Seen s;
        s.value = co_await call.onCaller([&s] {
            s.fnRanOn = QThread::currentThread();
            return 42;
        });
        s.resumedOn = QThread::currentThread();
        co_return s;
    });
    QCOMPARE(seen.fnRanOn, caller);
    QCOMPARE(seen.resumedOn, runner.thread());
    QCOMPARE(seen.value, 42);
}

void tst_CallContext::onCallerVoidAndException() {
    EventLoopThreadRunner runner;
    int touched = 0;
    const QString message = runner.run([&touched]() -> QCoro::Task<QString> {
        const CallContext call = palitra::currentCall();
        co_await call.onCaller([&touched] { ++touched; });
        try {
            co_await call.onCaller([]() -> int { throw std::logic_error("from the caller"); });
        } catch (const std::logic_error &error) { // its own type, on the loop thread
            co_return QString::fromUtf8(error.what());
        }
        co_return QString();
    });
    QCOMPARE(touched, 1);
    QCOMPARE(message, QStringLiteral("from the caller"));
}

void tst_CallContext::onCallerMoveOnlyResultAndCallable() {
    EventLoopThreadRunner runner;
    auto owned = std::make_unique<int>(5);
    const int value = runner.run([&owned]() -> QCoro::Task<int> {
        const CallContext call = palitra::currentCall();
        // A move-only callable (it owns a unique_ptr) giving a move-only result. Named first:
        // g++ 12 destroys a lambda temporary with an init-capture inside a co_await twice.
        auto giveBack = [taken = std::move(owned)]() mutable { return std::move(taken); };
        std::unique_ptr<int> result = co_await call.onCaller(std::move(giveBack));
        co_return *result;
    });
    QCOMPARE(value, 5);
    QVERIFY(!owned);
}

void tst_CallContext::onCallerRunsNothingElseOnCaller() {
    // A queued call to the caller's thread, posted before it blocks: the caller's wait runs
    // the routed work and never this event, which runs only once the caller's own loop does.
    EventLoopThreadRunner runner;
    bool queuedRan = false;
    QMetaObject::invokeMethod(
        this, [&queuedRan] { queuedRan = true; }, Qt::QueuedConnection);
    const bool ranDuringCall = runner.run([&queuedRan]() -> QCoro::Task<bool> {
        const CallContext call = palitra::currentCall();
        co_return co_await call.onCaller([&queuedRan] { return queuedRan; });
    });
    QVERIFY(!ranDuringCall);
    QVERIFY(!queuedRan);
    QTRY_VERIFY(queuedRan);
}

void tst_CallContext::onCallerInOrderAcrossGather() {
    EventLoopThreadRunner runner;
    std::vector<int> order; // touched on the caller's thread only
    const auto routeOne = [&order](int index) {
        return [&order, index]() -> QCoro::Task<int> {
            const CallContext call = palitra::currentCall();
            co_return co_await call.onCaller([&order, index] {
                order.push_back(index);
                return index * 10;
            });
        };
    };
    const auto [a, b, c] = runner.gather(routeOne(0), routeOne(1), routeOne(2));
    QCOMPARE(a, 0);
    QCOMPARE(b, 10);
    QCOMPARE(c, 20);
    QCOMPARE(order, (std::vector<int>{0, 1, 2}));
}

void tst_CallContext::onCallerAfterTimeoutThrowsTimeout() {
    Watchdog watchdog(60s, "onCallerAfterTimeoutThrowsTimeout");
    std::promise<Ending> ending;
    auto ended = ending.get_future();
    std::atomic<bool> fnRan{false};
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    QVERIFY(palitra::test::timeOutAfterInvoking(100ms, [&](auto timeout) {
        (void)runner.run(
            [&]() -> QCoro::Task<> {
                const CallContext call = palitra::currentCall();
                co_await palitra::sleepFor(1h, call.stopToken());
                ending.set_value(co_await endingOf(call.onCaller([&fnRan] { fnRan = true; })));
            },
            timeout);
    }));
    QCOMPARE(ended.wait_for(30s), std::future_status::ready);
    QCOMPARE(ended.get(), Ending::Timeout);
    QVERIFY(!fnRan);
}

void tst_CallContext::onCallerQueuedWhenCallerTimesOut() {
    // The caller is busy in a first onCaller() until past its deadline while a second one is
    // queued (or arrives after the timeout): the caller leaves on time and the second never
    // runs; its co_await throws TimeoutError.
    Watchdog watchdog(60s, "onCallerQueuedWhenCallerTimesOut");
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    // The first onCaller() runs only if the loop starts the gather and the caller takes the work
    // before the deadline; a loaded machine may delay either past it: then try a longer one.
    for (auto timeout = 100ms;; timeout *= 2) {
        QVERIFY2(timeout < 1min, "the caller never took its first onCaller() in time");
        BusyCaller busy;
        const Ending caller = busy.gather(
            runner,
            [&] {
                // Held until the caller's deadline has passed for sure: palitra took it when the
                // gather began, before this runs, so now + timeout is later. (A bound taken
                // before the gather could end first, and the caller would rightly run the second.)
                const auto callerDeadlinePassed = Clock::now() + timeout;
                while (!busy.secondAsked || Clock::now() < callerDeadlinePassed)
                    std::this_thread::yield();
            },
            timeout);
        QCOMPARE(caller, Ending::Timeout);
        if (!busy.invoked)
            continue; // never started, never will be
        QCOMPARE(busy.first.wait_for(30s), std::future_status::ready);
        QCOMPARE(busy.second.wait_for(30s), std::future_status::ready);
        const Ending first = busy.first.get();
        QCOMPARE(busy.second.get(), Ending::Timeout); // however the first went
        QVERIFY(!busy.secondRan);
        if (first == Ending::Timeout)
            continue;                   // taken too late to run
        QCOMPARE(first, Ending::Value); // it ran: it was taken before the deadline
        break;
    }
}

void tst_CallContext::onCallerAfterCloseThrowsClosed() {
    Watchdog watchdog(60s, "onCallerAfterCloseThrowsClosed");
    std::promise<Ending> ending;
    auto ended = ending.get_future();
    std::atomic<bool> fnRan{false};
    std::latch suspended{1};
    EventLoopThreadRunner runner;
    JoiningThread closer([&] {
        suspended.wait();
        runner.close();
    });
    QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError, runner.run([&]() -> QCoro::Task<> {
        const CallContext call = palitra::currentCall();
        suspended.count_down();
        co_await palitra::sleepFor(1h, call.stopToken());
        ending.set_value(co_await endingOf(call.onCaller([&fnRan] { fnRan = true; })));
    }));
    QCOMPARE(ended.wait_for(30s), std::future_status::ready);
    QCOMPARE(ended.get(), Ending::Closed);
    QVERIFY(!fnRan);
}

void tst_CallContext::closeWhileOnCallerRunsAndQueued() {
    // close() from a third thread while the caller runs a first onCaller() and a second is
    // queued: the first completes normally, the second never runs (RunnerClosedError), and the
    // caller is released with RunnerClosedError.
    Watchdog watchdog(60s, "closeWhileOnCallerRunsAndQueued");
    std::latch firstRunning{1};
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    BusyCaller busy;
    JoiningThread closer([&] {
        firstRunning.wait();
        while (!busy.secondAsked)
            std::this_thread::yield();
        runner.close();
    });
    const Ending caller = busy.gather(runner, [&] {
        firstRunning.count_down();
        while (runner.isRunning()) // until close() has begun
            std::this_thread::yield();
    });
    QCOMPARE(caller, Ending::Closed);
    QCOMPARE(busy.first.wait_for(30s), std::future_status::ready);
    QCOMPARE(busy.second.wait_for(30s), std::future_status::ready);
    QCOMPARE(busy.first.get(), Ending::Value);
    QCOMPARE(busy.second.get(), Ending::Closed);
    QVERIFY(!busy.secondRan);
}

void tst_CallContext::onCallerOnSubmittedCallIsError() {
    EventLoopThreadRunner runner;
    std::atomic<bool> fnRan{false};
    QFuture<Ending> future = runner.submit([&fnRan]() -> QCoro::Task<Ending> {
        const CallContext call = palitra::currentCall();
        co_return co_await endingOf(call.onCaller([&fnRan] { fnRan = true; }));
    });
    QCOMPARE(future.result(), Ending::OtherError);
    QVERIFY(!fnRan);
}

void tst_CallContext::onCallerWithoutCallIsError() {
    EventLoopThreadRunner runner;
    const Ending ending = runner.run([]() -> QCoro::Task<Ending> {
        co_return co_await endingOf(CallContext().onCaller([] {}));
    });
    QCOMPARE(ending, Ending::OtherError);
}

// ---- asked too late ----

void tst_CallContext::currentStopTokenAfterSuspensionWarnsOnce() {
    MessageLog messages(MessageLog::Palitra::Quiet);
    EventLoopThreadRunner runner;
    const bool possible = runner.run([]() -> QCoro::Task<bool> {
        co_await palitra::sleepFor(1ms, std::stop_token{});
        bool any = false;
        for (int i = 0; i < 3; ++i) // one place in the code: one warning
            any = any || palitra::currentStopToken().stop_possible();
        co_return any;
    });
    QVERIFY(!possible);
    QCOMPARE(messages.countContaining(QStringLiteral("palitra::currentStopToken()")), 1);
    QCOMPARE(messages.countContaining(QStringLiteral("read it at the top of the callable")), 1);
}

void tst_CallContext::currentCallAfterSuspensionWarnsOnce() {
    MessageLog messages(MessageLog::Palitra::Quiet);
    EventLoopThreadRunner runner;
    for (int call = 0; call < 2; ++call) {
        const bool valid = runner.run([]() -> QCoro::Task<bool> {
            co_await palitra::sleepFor(1ms, std::stop_token{});
            co_return palitra::currentCall().isValid();
        });
        QVERIFY(!valid);
    }
    QCOMPARE(messages.countContaining(QStringLiteral("palitra::currentCall()")), 1);
}

void tst_CallContext::resumedInsideAnotherCallBelongsToNoCall() {
    MessageLog messages(MessageLog::Palitra::Quiet);
    EventLoopThreadRunner runner;
    Gate *gate =
        runner.run([&runner]() -> QCoro::Task<Gate *> { co_return new Gate(runner.context()); });
    std::atomic<int> sawACall{-1};
    QFuture<void> waiting = runner.submit([gate, &sawACall]() -> QCoro::Task<> {
        co_await palitra::awaitSignal(gate, &Gate::opened, std::stop_token{});
        sawACall = palitra::currentCall().isValid() ? 1 : 0;
    });
    QTRY_VERIFY(runner.run([gate]() -> QCoro::Task<bool> { co_return gate->hasListener(); }));
    // The emission in this call's synchronous part resumes the waiting coroutine at once, inside
    // it: that coroutine is past its own synchronous part and must not see this call as its own.
    const bool emitterStillSeesItsCall = runner.run([gate]() -> QCoro::Task<bool> {
        gate->open();
        co_return palitra::currentCall().isValid();
    });
    waiting.waitForFinished();
    QCOMPARE(sawACall.load(), 0);
    QCOMPARE(messages.countContaining(QStringLiteral("palitra::currentCall()")), 1);
    QVERIFY(emitterStillSeesItsCall);
}

void tst_CallContext::askingOffLoopThreadIsQuiet() {
    MessageLog messages(MessageLog::Palitra::Quiet);
    QVERIFY(!palitra::currentStopToken().stop_possible());
    QVERIFY(!palitra::currentCall().isValid());
    EventLoopThreadRunner runner;
    // Inside the synchronous part the answer is the call: nothing to warn about either.
    const bool valid = runner.run([]() -> QCoro::Task<bool> {
        const bool known =
            palitra::currentCall().isValid() && palitra::currentStopToken().stop_possible();
        co_return known;
    });
    QVERIFY(valid);
    QCOMPARE(messages.warnings(), QStringList());
}

// ---- deadlock cycles across runners ----

namespace {

//! path[0].run(a coroutine that runs path[1].run(... the last one sets innermostRan ...)):
//! each runner's loop thread blocks in the next runner's call.
void runNested(std::initializer_list<EventLoopThreadRunner *> path, std::atomic<bool> &innermostRan,
               std::size_t depth = 0) {
    if (depth == path.size()) {
        innermostRan = true;
        return;
    }
    path.begin()[depth]->run([path, depth, &innermostRan]() -> QCoro::Task<> {
        runNested(path, innermostRan, depth + 1);
        co_return;
    });
}

} // namespace

void tst_CallContext::twoRunnerCycleThrowsDeadlock() {
    Watchdog watchdog(60s, "twoRunnerCycleThrowsDeadlock");
    EventLoopThreadRunner a(palitra::RunnerOptions{.threadName = QStringLiteral("A")});
    EventLoopThreadRunner b(palitra::RunnerOptions{.threadName = QStringLiteral("B")});
    std::atomic<bool> innermostRan{false};
    QString message;
    try {
        // A's loop blocks in B, whose coroutine blocks in A: a cycle.
        runNested({&a, &b, &a}, innermostRan);
        QFAIL("the cycle was not refused");
    } catch (const palitra::DeadlockError &error) {
        message = QString::fromUtf8(error.what());
    }
    QVERIFY(!innermostRan);
    QVERIFY2(message.contains(QStringLiteral("\"B\" -> \"A\" -> \"B\"")), qPrintable(message));
    // Both runners stay usable.
    QCOMPARE(a.run([]() -> QCoro::Task<int> { co_return 1; }), 1);
    QCOMPARE(b.run([]() -> QCoro::Task<int> { co_return 2; }), 2);
}

void tst_CallContext::threeRunnerCycleThrowsDeadlock() {
    Watchdog watchdog(60s, "threeRunnerCycleThrowsDeadlock");
    EventLoopThreadRunner a(palitra::RunnerOptions{.threadName = QStringLiteral("A")});
    EventLoopThreadRunner b(palitra::RunnerOptions{.threadName = QStringLiteral("B")});
    EventLoopThreadRunner c(palitra::RunnerOptions{.threadName = QStringLiteral("C")});
    std::atomic<bool> innermostRan{false};
    QVERIFY_THROWS_EXCEPTION(palitra::DeadlockError, runNested({&a, &b, &c, &a}, innermostRan));
    QVERIFY(!innermostRan);
}

void tst_CallContext::cycleFormedByTwoThreadsAtOnce() {
    // Both loops block on each other at the same moment: at least one call is refused, and
    // nothing hangs (the watchdog fails the test if it does).
    Watchdog watchdog(60s, "cycleFormedByTwoThreadsAtOnce");
    EventLoopThreadRunner a;
    EventLoopThreadRunner b;
    for (int round = 0; round < 20; ++round) {
        std::latch together{2};
        std::atomic<int> refused{0};
        std::atomic<int> finished{0};
        const auto crossCall = [&](EventLoopThreadRunner &from, EventLoopThreadRunner &to) {
            try {
                from.run([&]() -> QCoro::Task<> {
                    together.arrive_and_wait(); // both loop threads line up
                    to.run([]() -> QCoro::Task<> { co_return; });
                    co_return;
                });
                ++finished;
            } catch (const palitra::DeadlockError &) {
                ++refused;
            }
        };
        {
            JoiningThread other([&] { crossCall(b, a); });
            crossCall(a, b);
        }
        QVERIFY(refused >= 1);
        QCOMPARE(refused + finished, 2);
    }
}

void tst_CallContext::nestingWithoutCycleWorks() {
    EventLoopThreadRunner a;
    EventLoopThreadRunner b;
    // A's loop blocks in B, whose coroutine only awaits: legitimate nesting.
    const int value = a.run([&]() -> QCoro::Task<int> {
        const int inner = b.run([]() -> QCoro::Task<int> {
            co_await palitra::sleepFor(5ms, std::stop_token{});
            co_return 20;
        });
        co_return inner + 1;
    });
    QCOMPARE(value, 21);
}

void tst_CallContext::cycleThroughOnCallerHopThrowsDeadlock() {
    // A's loop blocks in B; B's coroutine hops onto A's loop thread (the blocked caller) with
    // onCaller(), and the hop blocks in a call on B again, whose coroutine calls back into A.
    Watchdog watchdog(60s, "cycleThroughOnCallerHopThrowsDeadlock");
    EventLoopThreadRunner a(palitra::RunnerOptions{.threadName = QStringLiteral("A")});
    EventLoopThreadRunner b(palitra::RunnerOptions{.threadName = QStringLiteral("B")});
    std::atomic<bool> innermostRan{false};
    std::atomic<QThread *> hopRanOn{nullptr};
    QVERIFY_THROWS_EXCEPTION(palitra::DeadlockError, a.run([&]() -> QCoro::Task<> {
        b.run([&]() -> QCoro::Task<> {
            const CallContext call = palitra::currentCall();
            co_await call.onCaller([&] {
                hopRanOn = QThread::currentThread();
                b.run([&]() -> QCoro::Task<> {
                    a.run([&]() -> QCoro::Task<> {
                        innermostRan = true;
                        co_return;
                    });
                    co_return;
                });
            });
        });
        co_return;
    }));
    QCOMPARE(hopRanOn.load(), a.thread());
    QVERIFY(!innermostRan);
}

void tst_CallContext::nestedWaitKeepsTheOuterWaitInTheCycleCheck() {
    // A's loop blocks in B's gather; one coroutine of it hops onto A's loop thread, whose hop
    // blocks in a call on C. A's loop now waits on B *and* on C: when the gather's other
    // coroutine, on B's loop, calls into A, that closes a cycle through the outer wait.
    Watchdog watchdog(60s, "nestedWaitKeepsTheOuterWaitInTheCycleCheck");
    EventLoopThreadRunner a(palitra::RunnerOptions{.threadName = QStringLiteral("A")});
    EventLoopThreadRunner b(palitra::RunnerOptions{.threadName = QStringLiteral("B")});
    EventLoopThreadRunner c(palitra::RunnerOptions{.threadName = QStringLiteral("C")});
    Gate *onB = b.run([&]() -> QCoro::Task<Gate *> { co_return new Gate(b.context()); });
    Gate *onC = c.run([&]() -> QCoro::Task<Gate *> { co_return new Gate(c.context()); });
    std::atomic<bool> refused{false};
    std::atomic<bool> timedOut{false};
    a.run([&]() -> QCoro::Task<> {
        b.gather(
            [&]() -> QCoro::Task<> {
                co_await palitra::currentCall().onCaller([&] {
                    c.run([&]() -> QCoro::Task<> {
                        // A's loop thread is blocked in this call: tell B's other coroutine.
                        QMetaObject::invokeMethod(onB, [onB] { onB->open(); });
                        co_await palitra::awaitSignal(onC, &Gate::opened, std::stop_token{});
                    });
                });
            },
            [&]() -> QCoro::Task<> {
                co_await palitra::awaitSignal(onB, &Gate::opened, std::stop_token{});
                try {
                    // Bounded, so that a missed cycle fails the test instead of hanging it.
                    a.run([]() -> QCoro::Task<> { co_return; }, 5s);
                } catch (const palitra::DeadlockError &) {
                    refused = true;
                } catch (const palitra::TimeoutError &) {
                    timedOut = true;
                }
                QMetaObject::invokeMethod(onC, [onC] { onC->open(); });
            });
        co_return;
    });
    QVERIFY(!timedOut);
    QVERIFY(refused);
}

void tst_CallContext::waitOfAnEndedCallIsNoCycle() {
    // B's loop blocks in a call on A that A's loop has just finished; before B's loop thread
    // has woken to leave the graph, A's loop runs a call that calls into B. B's loop is about
    // to be free: that is no cycle, and the call works.
    EventLoopThreadRunner a(palitra::RunnerOptions{.threadName = QStringLiteral("A")});
    EventLoopThreadRunner b(palitra::RunnerOptions{.threadName = QStringLiteral("B")});
    palitra::test::startLoop(b);
    for (int round = 0; round < 20; ++round) {
        QFuture<void> bIntoA;
        QFuture<int> aIntoB;
        {
            LoopBlocker blocker(a);
            // Both calls land in one drain of A's loop: B's first, then the one calling B.
            bIntoA = b.submit([&a]() -> QCoro::Task<> {
                a.run([]() -> QCoro::Task<> { co_return; });
                co_return;
            });
            QTRY_COMPARE(a.stats().inFlight, 2);
            aIntoB = a.submit([&b]() -> QCoro::Task<int> {
                co_return b.run([]() -> QCoro::Task<int> { co_return 3; });
            });
        }
        QCOMPARE(aIntoB.result(), 3); // rethrows a DeadlockError
        bIntoA.waitForFinished();
    }
}

// ---- resumed off the loop thread ----

namespace {

//! A Gate living on a thread of its own, with an event loop: what QCoro's qCoro() resumes on.
class GateOnItsOwnThread {
public:
    explicit GateOnItsOwnThread(const QString &threadName) {
        m_thread.setObjectName(threadName);
        m_thread.start();
        m_gate->moveToThread(&m_thread);
    }
    ~GateOnItsOwnThread() {
        QMetaObject::invokeMethod(
            m_gate, [gate = m_gate] { delete gate; }, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }
    Gate *gate() const { return m_gate; }
    //! Opens the gate from its own thread once a coroutine awaits it.
    void openWhenAwaited() {
        QTRY_VERIFY(m_gate->hasListener());
        QMetaObject::invokeMethod(
            m_gate, [gate = m_gate] { gate->open(); }, Qt::QueuedConnection);
    }

private:
    QThread m_thread;
    Gate *m_gate = new Gate;
};

} // namespace

void tst_CallContext::resumedOffLoopWarnsOncePerType() {
    MessageLog messages(MessageLog::Palitra::Quiet);
    GateOnItsOwnThread gateThread(QStringLiteral("gate-thread"));

    EventLoopThreadRunner runner;
    for (int round = 0; round < 2; ++round) {
        Counted::reset();
        QFuture<Counted> future = runner.submit(ResumesOffLoop{gateThread.gate()});
        gateThread.openWhenAwaited();
        QTRY_VERIFY(future.isFinished());
        QCOMPARE(future.result().value, 7); // the call still completes correctly
        // Only the future's value is left: the call (with the moved-from value it kept) is
        // gone, though its future finished on another thread; nothing that watched it on the
        // loop keeps it until the runner closes.
        QTRY_COMPARE(Counted::live(), 1);
    }
    QCOMPARE(messages.countContaining(QStringLiteral("ResumesOffLoop")), 1);
    QCOMPARE(messages.countContaining(QStringLiteral("gate-thread")), 1);
    QCOMPARE(messages.countContaining(QStringLiteral("palitra::awaitSignal()")), 1);
}

void tst_CallContext::resumedOffLoopNamesAnUnnamedThreadByItsTid() {
    MessageLog messages(MessageLog::Palitra::Quiet);
    GateOnItsOwnThread gateThread{QString()};
    EventLoopThreadRunner runner;
    Gate *gate = gateThread.gate();
    QFuture<int> future = runner.submit([gate]() -> QCoro::Task<int> {
        co_await qCoro(gate, &Gate::opened);
        co_return 8;
    });
    gateThread.openWhenAwaited();
    QTRY_VERIFY(future.isFinished());
    QCOMPARE(future.result(), 8);
    // Qt's QThread gives its OS thread the class name; the tid tells it from any other.
    QCOMPARE(messages.countContaining(QStringLiteral("ended on thread \"QThread\" (tid ")), 1);
}

QTEST_GUILESS_MAIN(tst_CallContext)
#include "tst_call_context.moc"
