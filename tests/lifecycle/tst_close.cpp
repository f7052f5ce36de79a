// SPDX-License-Identifier: MIT
// close(), the destructor, lazy start and a loop thread ended behind palitra's back:
// DESIGN.md 3.12, 3.13 and section 5.
#include <palitra/palitra.h>

#include "lifecycle_helpers.h"
#include "testhelpers.h"

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
using palitra::test::JoiningThread;
using palitra::test::LeakOnPurpose;
using palitra::test::msSince;
using palitra::test::PalitraMessages;
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
        const LeakOnPurpose leak; // the frame is abandoned on purpose (DESIGN 3.12)
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

// Which call a data row makes.
enum Call : int { Run, RunWithTimeout, GatherVariadic, GatherRange, GatherOutcomesRange };

void makeCall(EventLoopThreadRunner &runner, int call, const IntFn &fn) {
    switch (call) {
    case Run:
        runner.run(fn);
        break;
    case RunWithTimeout:
        runner.run(fn, 1h);
        break;
    case GatherVariadic:
        runner.gather(fn, [] { return answer(1); });
        break;
    case GatherRange:
        runner.gather(std::vector<IntFn>{fn, [] { return answer(1); }});
        break;
    case GatherOutcomesRange:
        runner.gatherOutcomes(std::vector<IntFn>{fn, [] { return answer(1); }});
        break;
    }
}

void addCallRows() {
    QTest::addColumn<int>("call");
    QTest::newRow("run") << int(Run);
    QTest::newRow("run with timeout") << int(RunWithTimeout);
    QTest::newRow("gather(fa, fb)") << int(GatherVariadic);
    QTest::newRow("gather(range)") << int(GatherRange);
    QTest::newRow("gatherOutcomes(range)") << int(GatherOutcomesRange);
}

} // namespace

class tst_Close : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // --- 3.13 lazy start ------------------------------------------------------------------------
    void lazyStart_data() {
        QTest::addColumn<int>("action");
        QTest::addColumn<bool>("starts");
        QTest::newRow("construct only") << 0 << false;
        QTest::newRow("empty gather(range)") << 1 << false;
        QTest::newRow("isRunning()") << 2 << false;
        QTest::newRow("thread()") << 3 << true;
        QTest::newRow("context()") << 4 << true;
        QTest::newRow("run()") << 5 << true;
        QTest::newRow("gather(fa, fb)") << 6 << true;
    }
    void lazyStart() {
        QFETCH(int, action);
        QFETCH(bool, starts);
        const QByteArray name = "lazy-start";
        QCOMPARE(threadsNamed(name), 0);
        {
            EventLoopThreadRunner runner(named(name));
            QCOMPARE(threadsNamed(name), 0);
            QVERIFY(!runner.isRunning());
            switch (action) {
            case 1:
                QVERIFY(runner.gather(std::vector<IntFn>{}).isEmpty());
                break;
            case 2:
                QVERIFY(!runner.isRunning());
                break;
            case 3: {
                QThread *t = runner.thread();
                QVERIFY(t);
                QVERIFY(t != QThread::currentThread());
                QVERIFY(t->isRunning());
                break;
            }
            case 4: {
                QObject *c = runner.context();
                QVERIFY(c);
                QVERIFY(c->thread() == runner.thread());
                break;
            }
            case 5:
                QCOMPARE(runner.run([] { return answer(5); }), 5);
                break;
            case 6: {
                const auto [a, b] =
                    runner.gather([] { return answer(1); }, [] { return answer(2); });
                QCOMPARE(a + b, 3);
                break;
            }
            }
            QCOMPARE(runner.isRunning(), starts);
            QCOMPARE(threadsNamed(name), starts ? 1 : 0);
        }
        QTRY_COMPARE(threadsNamed(name), 0); // the destructor ended the thread
    }

    void threadAndContextAreNullAfterClose() {
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

    // --- 3.12 close() is idempotent and thread-safe ------------------------------------------
    void closeTwice_data() {
        QTest::addColumn<bool>("start");
        QTest::newRow("started") << true;
        QTest::newRow("never started") << false;
    }
    void closeTwice() {
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

    void closeFromFourThreadsAtOnce_data() {
        QTest::addColumn<int>("state");
        QTest::newRow("never started") << 0;
        QTest::newRow("idle") << 1;
        QTest::newRow("coroutine in flight, caller blocked") << 2;
    }
    void closeFromFourThreadsAtOnce() {
        QFETCH(int, state);
        constexpr int closers = 4;
        palitra::test::Watchdog watchdog(30s, "closeFromFourThreadsAtOnce");
        EventLoopThreadRunner runner;
        auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
        auto started = std::make_shared<std::latch>(1);
        std::future<Ended> caller;
        if (state >= 1)
            QCOMPARE(runner.run([] { return answer(1); }), 1);
        if (state == 2) {
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
        if (state == 2) {
            QCOMPARE(caller.get(), Ended::Closed);
            QCOMPARE(woke->load(), int(ByStop));
        }
        QVERIFY_THROWS_EXCEPTION(RunnerClosedError, runner.run([] { return answer(1); }));
    }

    // --- 3.12 after close(), run/gather throw RunnerClosedError ------------------------------
    void callsAfterCloseThrow_data() {
        QTest::addColumn<int>("call");
        QTest::addColumn<bool>("started");
        QTest::newRow("run, started") << 0 << true;
        QTest::newRow("run, never started") << 0 << false;
        QTest::newRow("run with timeout") << 1 << true;
        QTest::newRow("gather(fa, fb)") << 2 << true;
        QTest::newRow("gather(range)") << 3 << true;
        QTest::newRow("gatherOutcomes(fa, fb)") << 4 << true;
        QTest::newRow("gatherOutcomes(range)") << 5 << true;
        QTest::newRow("gather(fa, fb, timeout)") << 6 << true;
        QTest::newRow("empty gather(range)") << 7 << true;
        QTest::newRow("gather(range), never started") << 3 << false;
    }
    void callsAfterCloseThrow() {
        QFETCH(int, call);
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
        const auto start = Clock::now();
        bool closed = false;
        try {
            switch (call) {
            case 0:
                runner.run(fn);
                break;
            case 1:
                runner.run(fn, 10s);
                break;
            case 2:
                runner.gather(fn, fn);
                break;
            case 3:
                runner.gather(std::vector<IntFn>{fn, fn});
                break;
            case 4:
                runner.gatherOutcomes(fn, fn);
                break;
            case 5:
                runner.gatherOutcomes(QList<IntFn>{fn, fn});
                break;
            case 6:
                runner.gather(fn, fn, 10s);
                break;
            case 7:
                runner.gather(std::vector<IntFn>{});
                break;
            }
        } catch (const RunnerClosedError &) {
            closed = true;
        }
        QVERIFY(closed);
        QVERIFY(msSince(start) < 1000);
        QCOMPARE(invoked->load(), 0);
        QVERIFY(!runner.isRunning());
    }

    // --- 3.12 callers blocked at close() are released promptly -------------------------------
    void blockedCallerReleasedPromptly_data() { addCallRows(); }
    void blockedCallerReleasedPromptly() {
        // The coroutine ignores stop, so close() itself takes the whole grace period: the
        // caller must not wait for it.
        QFETCH(int, call);
        PalitraMessages messages;
        RunnerOptions options;
        options.closeGracePeriod = 3s;
        EventLoopThreadRunner runner(options);
        auto started = std::make_shared<std::latch>(1);
        const IntFn fn = illBehaved(started);
        std::future<Ended> caller = callAsync([&runner, call, fn] { makeCall(runner, call, fn); });
        started->wait();

        const auto start = Clock::now();
        std::atomic<qint64> closeTook{-1};
        JoiningThread closer([&] {
            runner.close();
            closeTook = msSince(start);
        });
        QVERIFY(caller.wait_for(10s) == std::future_status::ready);
        const qint64 released = msSince(start);
        QCOMPARE(caller.get(), Ended::Closed);
        QVERIFY2(released < 1500,
                 qPrintable(QStringLiteral("caller released after %1 ms").arg(released)));
        closer.join();
        QVERIFY2(closeTook >= 2500 && closeTook < 3000 + 2500,
                 qPrintable(QStringLiteral("close() took %1 ms").arg(closeTook.load())));
        QCOMPARE(messages.countContaining(QStringLiteral("abandoned")), 1);
    }

    // --- 3.12 queued-not-started work fails and is never invoked -----------------------------
    void queuedWorkFailsAndIsNeverInvoked() {
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
                makeCall(runner, i == 0 ? Run : i == 1 ? GatherVariadic : GatherRange, fn);
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
        QCOMPARE(Counted::live.load(), 0);
    }

    // --- 3.12 in-flight coroutines are asked to stop; well-behaved ones end in the grace ----
    void wellBehavedCoroutinesFinishWithinGrace_data() { addCallRows(); }
    void wellBehavedCoroutinesFinishWithinGrace() {
        QFETCH(int, call);
        PalitraMessages messages;
        Counted::reset();
        RunnerOptions options;
        options.closeGracePeriod = 3s;
        EventLoopThreadRunner runner(options);
        auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
        auto started = std::make_shared<std::latch>(1);
        std::optional<IntFn> fn(std::in_place, [woke, started, c = Counted(1)] {
            return sleepUntilStopped(woke, started);
        });
        std::future<Ended> caller =
            callAsync([&runner, call, &fn] { makeCall(runner, call, *fn); });
        started->wait();

        const auto start = Clock::now();
        runner.close();
        const qint64 took = msSince(start);
        QVERIFY2(took < 1500, qPrintable(QStringLiteral("close() took %1 ms").arg(took)));
        QCOMPARE(woke->load(), int(ByStop)); // it ended before close() returned
        QVERIFY(caller.wait_for(10s) == std::future_status::ready);
        QCOMPARE(caller.get(), Ended::Closed);
        QCOMPARE(messages.countContaining(QStringLiteral("abandoned")), 0);
        QCOMPARE(messages.warnings(), QStringList());
        fn.reset();
        QCOMPARE(Counted::live.load(), 0); // the runner has freed every copy of the callable
    }

    // --- 3.12 ill-behaved coroutines are abandoned after the grace period, and counted -------
    void illBehavedCoroutinesAbandonedAfterGrace_data() {
        QTest::addColumn<int>("illBehavedCount");
        QTest::newRow("one") << 1;
        QTest::newRow("three, beside a well-behaved one") << 3;
    }
    void illBehavedCoroutinesAbandonedAfterGrace() {
        QFETCH(int, illBehavedCount);
        constexpr auto grace = 500ms;
        PalitraMessages messages;
        RunnerOptions options;
        options.closeGracePeriod = grace;
        EventLoopThreadRunner runner(options);
        auto started = std::make_shared<std::latch>(illBehavedCount + 1);
        auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
        std::vector<IntFn> fns(std::size_t(illBehavedCount), illBehaved(started));
        fns.push_back([woke, started] { return sleepUntilStopped(woke, started); });
        std::future<Ended> caller = callAsync([&runner, fns] { runner.gatherOutcomes(fns); });
        started->wait();

        const auto start = Clock::now();
        runner.close();
        const qint64 took = msSince(start);
        QVERIFY2(took >= grace.count() - 50 && took < grace.count() + 2500,
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

    // --- 3.12 close() from the loop thread does not deadlock ---------------------------------
    void closeFromLoopThread_data() {
        QTest::addColumn<bool>("fromCoroutine");
        QTest::newRow("inside a coroutine, its caller blocked") << true;
        QTest::newRow("in a slot posted to context()") << false;
    }
    void closeFromLoopThread() {
        QFETCH(bool, fromCoroutine);
        palitra::test::Watchdog watchdog(30s, "closeFromLoopThread");
        {
            EventLoopThreadRunner runner(named("close-on-loop"));
            auto closedInside = std::make_shared<std::atomic<int>>(-1);
            EventLoopThreadRunner *r = &runner;
            if (fromCoroutine) {
                const auto start = Clock::now();
                QVERIFY_THROWS_EXCEPTION(RunnerClosedError,
                                         runner.run([r, closedInside]() -> QCoro::Task<int> {
                                             r->close();
                                             *closedInside = r->isRunning() ? 0 : 1;
                                             co_return 1;
                                         }));
                QVERIFY(msSince(start) < 5000);
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
            const auto start = Clock::now();
            runner.close(); // from here: joins the thread
            QVERIFY(msSince(start) < 5000);
        }
        QTRY_COMPARE(threadsNamed("close-on-loop"), 0);
    }

    // --- 3.12 the destructor calls close() -----------------------------------------------------
    void destructorCloses() {
        auto childDestroyed = std::make_shared<std::atomic<bool>>(false);
        std::optional<EventLoopThreadRunner> runner(std::in_place, named("destructor"));
        QObject *context = runner->context();
        QPointer<QThread> thread = runner->thread();
        runner->run([context, childDestroyed]() -> QCoro::Task<void> {
            auto *child = new QObject(context); // close() deletes the context and its children
            QObject::connect(child, &QObject::destroyed,
                             [childDestroyed] { *childDestroyed = true; });
            co_return;
        });
        QCOMPARE(threadsNamed("destructor"), 1);
        runner.reset();
        QVERIFY(childDestroyed->load());
        QVERIFY(thread.isNull()); // the QThread was joined and deleted
        QTRY_COMPARE(threadsNamed("destructor"), 0);
    }

    void destroyingRunnerReleasesBlockedCaller_data() { addCallRows(); }
    void destroyingRunnerReleasesBlockedCaller() {
        QFETCH(int, call);
        palitra::test::Watchdog watchdog(30s, "destroyingRunnerReleasesBlockedCaller");
        std::optional<EventLoopThreadRunner> runner(std::in_place);
        auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
        auto started = std::make_shared<std::latch>(1);
        const IntFn fn = [woke, started] { return sleepUntilStopped(woke, started); };
        EventLoopThreadRunner *r = &*runner;
        std::future<Ended> caller = callAsync([r, call, fn] { makeCall(*r, call, fn); });
        started->wait();
        const auto start = Clock::now();
        runner.reset();
        QVERIFY(msSince(start) < 1500);
        QVERIFY(caller.wait_for(10s) == std::future_status::ready);
        QCOMPARE(caller.get(), Ended::Closed);
        QCOMPARE(woke->load(), int(ByStop));
    }

    // --- 5 the loop thread ended behind palitra's back -----------------------------------------
    void loopEndedBehindBack_data() {
        QTest::addColumn<bool>("viaThread");
        QTest::addColumn<bool>("callerBlocked");
        QTest::newRow("quit in a slot on context(), caller blocked") << false << true;
        QTest::newRow("thread()->quit(), caller blocked") << true << true;
        QTest::newRow("quit in a slot on context(), idle") << false << false;
        QTest::newRow("thread()->quit(), idle") << true << false;
    }
    void loopEndedBehindBack() {
        QFETCH(bool, viaThread);
        QFETCH(bool, callerBlocked);
        palitra::test::Watchdog watchdog(30s, "loopEndedBehindBack");
        PalitraMessages messages;
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
                    runner.context(), [] { QThread::currentThread()->quit(); },
                    Qt::QueuedConnection);
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
            QVERIFY_THROWS_EXCEPTION(RunnerClosedError, runner.gather([] { return answer(1); },
                                                                      [] { return answer(2); }));
            QVERIFY(messages.countContaining(QStringLiteral("outside palitra")) == 1);
            runner.close();
        }
        QTRY_COMPARE(threadsNamed("behind-back"), 0);
    }

    void callRacingLoopQuitNeverHangs() {
        palitra::test::Watchdog watchdog(60s, "callRacingLoopQuitNeverHangs");
        PalitraMessages messages;
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
};

QTEST_GUILESS_MAIN(tst_Close)
#include "tst_close.moc"
