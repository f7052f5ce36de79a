// SPDX-License-Identifier: MIT
// RunnerStats: what EventLoopThreadRunner::stats() and palitra::globalStats() count, for run,
// gather and submit, and how each way a call can end is counted. See
// docs/SEMANTICS.md#stats-and-stall-warnings.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QFuture>
#include <QTest>

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::RunnerOptions;
using palitra::RunnerStats;
using palitra::test::JoiningThread;
using palitra::test::LeakOnPurpose;
using palitra::test::LoopBlocker;
using palitra::test::MessageLog;
using palitra::test::threadsNamed;
using palitra::test::Watchdog;

namespace {

// The struct users copy around: plain, copyable, value-initialised to zero.
static_assert(std::is_trivially_copyable_v<RunnerStats>);
static_assert(std::is_same_v<decltype(RunnerStats::longestStall), std::chrono::nanoseconds>);
static_assert(
    std::is_same_v<decltype(std::declval<const EventLoopThreadRunner &>().stats()), RunnerStats>);
static_assert(std::is_same_v<decltype(palitra::globalStats()), RunnerStats>);

//! Every count of \a s in one line, so that a failing QCOMPARE shows all of them.
QString counts(const RunnerStats &s) {
    return QStringLiteral("inFlight %1 completed %2 failed %3 timedOut %4 closedOut %5 "
                          "cancelled %6 abandoned %7")
        .arg(s.inFlight)
        .arg(s.completed)
        .arg(s.failed)
        .arg(s.timedOut)
        .arg(s.closedOut)
        .arg(s.cancelled)
        .arg(s.abandoned);
}

QString expected(qint64 inFlight, qint64 completed, qint64 failed, qint64 timedOut,
                 qint64 closedOut, qint64 cancelled = 0, qint64 abandoned = 0) {
    RunnerStats s;
    s.inFlight = inFlight;
    s.completed = completed;
    s.failed = failed;
    s.timedOut = timedOut;
    s.closedOut = closedOut;
    s.cancelled = cancelled;
    s.abandoned = abandoned;
    return counts(s);
}

QCoro::Task<int> value(int v) {
    co_return v;
}

QCoro::Task<int> failure() {
    throw std::runtime_error("failed on purpose");
    co_return 0;
}

// Sleeps an hour unless stopped (well-behaved: a timeout or close() ends it at once).
QCoro::Task<int> untilStopped() {
    const std::stop_token stop = palitra::currentStopToken();
    co_await palitra::sleepFor(1h, stop);
    co_return -1;
}

// Ignores stop: only for a coroutine the test abandons on purpose.
QCoro::Task<int> ignoringStop(std::shared_ptr<std::latch> started) {
    started->count_down();
    co_await palitra::sleepFor(1h, std::stop_token{});
    co_return -2;
}

//! Unblocks a step that waits on \a flag; its destructor does too, so that a failing check never
//! leaves the loop blocked and the test hanging in a join.
struct Release {
    std::atomic<bool> &flag;
    void operator()() const {
        flag = true;
        flag.notify_all();
    }
    ~Release() { (*this)(); }
};

RunnerOptions named(const char *name) {
    RunnerOptions options;
    options.threadName = QString::fromLatin1(name);
    return options;
}

} // namespace

class tst_Stats : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // --- nothing yet --------------------------------------------------------------------------
    void freshRunnerIsZeroAndStartsNothing();
    void globalStatsNeverCreatesTheRunner();

    // --- each way a call ends ----------------------------------------------------------------
    void runCounts();
    void gatherCountsOneCallEach();
    void submitCounts();
    void abandonedCoroutinesCounted();
    void inFlightCountsQueuedAndRunningCalls();

    // --- loop steps ----------------------------------------------------------------------------
    void longestStallSeesABlockingStep();

    // --- many threads ------------------------------------------------------------------------
    void racingThreadsCountEveryCall();
};

// nothing yet ----------------------------------------------------------------------------------

void tst_Stats::freshRunnerIsZeroAndStartsNothing() {
    EventLoopThreadRunner runner(named("stats-fresh"));
    QCOMPARE(counts(runner.stats()), expected(0, 0, 0, 0, 0));
    QCOMPARE(runner.stats().longestStall, 0ns);
    QVERIFY(!runner.isRunning());
    QCOMPARE(threadsNamed("stats-fresh"), 0);
    runner.close();
    QCOMPARE(counts(runner.stats()), expected(0, 0, 0, 0, 0)); // and after close()
}

void tst_Stats::globalStatsNeverCreatesTheRunner() {
    palitra::shutdownGlobalRunner();
    QCOMPARE(counts(palitra::globalStats()), expected(0, 0, 0, 0, 0));
    QCOMPARE(palitra::globalStats().longestStall, 0ns);
    QVERIFY(!palitra::isRunnerAlive()); // globalStats() made none

    QCOMPARE(palitra::run([] { return value(1); }), 1);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, palitra::run([] { return failure(); }));
    QCOMPARE(counts(palitra::globalStats()), expected(0, 1, 1, 0, 0));

    // A fresh global runner starts from zero.
    palitra::shutdownGlobalRunner();
    QCOMPARE(counts(palitra::globalStats()), expected(0, 0, 0, 0, 0));
    QCOMPARE(palitra::run([] { return value(2); }), 2);
    QCOMPARE(counts(palitra::globalStats()), expected(0, 1, 0, 0, 0));
    palitra::shutdownGlobalRunner();
}

// each way a call ends -------------------------------------------------------------------------

void tst_Stats::runCounts() {
    Watchdog watchdog(60s, "runCounts");
    EventLoopThreadRunner runner;
    QCOMPARE(runner.run([] { return value(7); }), 7);
    QCOMPARE(counts(runner.stats()), expected(0, 1, 0, 0, 0));

    QVERIFY_THROWS_EXCEPTION(std::runtime_error, runner.run([] { return failure(); }));
    QCOMPARE(counts(runner.stats()), expected(0, 1, 1, 0, 0));

    QVERIFY_THROWS_EXCEPTION(palitra::TimeoutError,
                             runner.run([] { return untilStopped(); }, 50ms));
    // Out of flight at once, even if its coroutine is still on its way to stop.
    QCOMPARE(counts(runner.stats()), expected(0, 1, 1, 1, 0));

    // Refused up front, so never accepted: not counted.
    QVERIFY_THROWS_EXCEPTION(palitra::TimeoutError, runner.run([] { return value(0); }, 0ms));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             runner.run(std::function<QCoro::Task<int>()>{}));
    QCOMPARE(counts(runner.stats()), expected(0, 1, 1, 1, 0));

    // A caller blocked when close() releases it.
    std::atomic<bool> closedOut{false};
    {
        JoiningThread caller([&] {
            try {
                runner.run([] { return untilStopped(); });
            } catch (const palitra::RunnerClosedError &) {
                closedOut = true;
            }
        });
        QTRY_COMPARE(runner.stats().inFlight, 1);
        runner.close();
    }
    QVERIFY(closedOut.load());
    QCOMPARE(counts(runner.stats()), expected(0, 1, 1, 1, 1));

    QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError, runner.run([] { return value(0); }));
    QCOMPARE(counts(runner.stats()), expected(0, 1, 1, 1, 1)); // refused: not counted
}

void tst_Stats::gatherCountsOneCallEach() {
    Watchdog watchdog(60s, "gatherCountsOneCallEach");
    EventLoopThreadRunner runner;
    runner.gather([] { return value(1); }, [] { return value(2); }, [] { return value(3); });
    QCOMPARE(counts(runner.stats()), expected(0, 1, 0, 0, 0));

    QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                             runner.gather([] { return value(1); }, [] { return failure(); }));
    QCOMPARE(counts(runner.stats()), expected(0, 1, 1, 0, 0));

    // gatherOutcomes() ends with every slot filled, exceptions included: completed.
    const auto outcomes = runner.gatherOutcomes([] { return value(1); }, [] { return failure(); });
    QVERIFY(!std::get<1>(outcomes).hasValue());
    QCOMPARE(counts(runner.stats()), expected(0, 2, 1, 0, 0));

    const std::vector<std::function<QCoro::Task<int>()>> range(5, [] { return value(4); });
    QCOMPARE(runner.gather(range).size(), 5);
    QCOMPARE(counts(runner.stats()), expected(0, 3, 1, 0, 0));

    QVERIFY_THROWS_EXCEPTION(
        palitra::TimeoutError,
        runner.gather([] { return untilStopped(); }, [] { return untilStopped(); }, 50ms));
    QCOMPARE(counts(runner.stats()), expected(0, 3, 1, 1, 0));

    // An empty gather returns at once: nothing was accepted.
    runner.gather(std::vector<std::function<QCoro::Task<int>()>>{});
    QCOMPARE(counts(runner.stats()), expected(0, 3, 1, 1, 0));
}

void tst_Stats::submitCounts() {
    Watchdog watchdog(60s, "submitCounts");
    EventLoopThreadRunner runner;
    QFuture<int> ok = runner.submit([] { return value(5); });
    ok.waitForFinished();
    QCOMPARE(ok.result(), 5);
    QCOMPARE(counts(runner.stats()), expected(0, 1, 0, 0, 0));

    QFuture<int> failed = runner.submit([] { return failure(); });
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, failed.waitForFinished());
    QCOMPARE(counts(runner.stats()), expected(0, 1, 1, 0, 0));

    QFuture<int> late = runner.submit([] { return untilStopped(); }, 50ms);
    QVERIFY_THROWS_EXCEPTION(palitra::TimeoutError, late.waitForFinished());
    QCOMPARE(counts(runner.stats()), expected(0, 1, 1, 1, 0));

    QFuture<int> cancelled = runner.submit([] { return untilStopped(); });
    QTRY_COMPARE(runner.stats().inFlight, 1);
    cancelled.cancel();
    QTRY_VERIFY(cancelled.isFinished());
    QCOMPARE(counts(runner.stats()), expected(0, 1, 1, 1, 0, 1));

    QFuture<int> closed = runner.submit([] { return untilStopped(); });
    QTRY_COMPARE(runner.stats().inFlight, 1);
    runner.close();
    QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError, closed.waitForFinished());
    QCOMPARE(counts(runner.stats()), expected(0, 1, 1, 1, 1, 1));

    // Refused (the runner is closed): the future fails, nothing is counted.
    QFuture<int> refused = runner.submit([] { return value(0); });
    QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError, refused.waitForFinished());
    QCOMPARE(counts(runner.stats()), expected(0, 1, 1, 1, 1, 1));
}

void tst_Stats::abandonedCoroutinesCounted() {
    Watchdog watchdog(60s, "abandonedCoroutinesCounted");
    MessageLog messages(MessageLog::Palitra::Quiet);
    RunnerOptions options;
    options.closeGracePeriod = 100ms;
    EventLoopThreadRunner runner(options);
    auto started = std::make_shared<std::latch>(2);
    const auto ignoring = [started] {
        const LeakOnPurpose leak; // the frames are abandoned on purpose
        return ignoringStop(started);
    };
    // One gather of two ill-behaved coroutines: one call, two abandoned coroutines.
    QFuture<int> submitted = runner.submit([] { return untilStopped(); });
    std::atomic<bool> closedOut{false};
    {
        JoiningThread caller([&] {
            try {
                runner.gather(ignoring, ignoring);
            } catch (const palitra::RunnerClosedError &) {
                closedOut = true;
            }
        });
        started->wait();
        QTRY_COMPARE(runner.stats().inFlight, 2);
        runner.close(); // joins the loop: the abandoned ones are counted by now
    }
    QVERIFY(closedOut.load());
    QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError, submitted.waitForFinished());
    QCOMPARE(counts(runner.stats()), expected(0, 0, 0, 0, 2, 0, 2));
    QCOMPARE(messages.countContaining(QStringLiteral("2 coroutine(s)")), 1);
}

void tst_Stats::inFlightCountsQueuedAndRunningCalls() {
    Watchdog watchdog(60s, "inFlightCountsQueuedAndRunningCalls");
    EventLoopThreadRunner runner;
    QFuture<int> first;
    QFuture<int> second;
    {
        LoopBlocker blocker(runner); // one call running, holding the loop
        QCOMPARE(runner.stats().inFlight, 1);
        first = runner.submit([] { return value(1); });
        second = runner.submit([] { return value(2); });
        QCOMPARE(runner.stats().inFlight, 3); // two of them queued behind it
        QVERIFY(blocker.isBlocking());
    }
    first.waitForFinished();
    second.waitForFinished();
    QTRY_COMPARE(counts(runner.stats()), expected(0, 3, 0, 0, 0));
}

// loop steps -----------------------------------------------------------------------------------

void tst_Stats::longestStallSeesABlockingStep() {
    Watchdog watchdog(60s, "longestStallSeesABlockingStep");
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    std::atomic<bool> released{false};
    {
        JoiningThread caller([&] {
            runner.run([&released]() -> QCoro::Task<> {
                released.wait(false); // synchronous: the loop thread can do nothing else
                co_return;
            });
        });
        const Release release{released};
        // The step running now counts, so this is seen while it still blocks.
        QTRY_VERIFY(runner.stats().longestStall >= 100ms);
        release();
    }
    // And kept once it has ended.
    QVERIFY(runner.stats().longestStall >= 100ms);
}

// many threads ---------------------------------------------------------------------------------

void tst_Stats::racingThreadsCountEveryCall() {
    Watchdog watchdog(120s, "racingThreadsCountEveryCall");
    constexpr int threads = 4;
    constexpr int callsEach = 200;
    EventLoopThreadRunner runner;
    std::atomic<int> running{threads};
    std::atomic<bool> readerSawBadValue{false};
    {
        // A reader racing the writers: every count only grows, and nothing is ever negative.
        // (Not longestStall: a look at a step that is ending may see it a little longer than
        // its final length.)
        JoiningThread reader([&] {
            RunnerStats last;
            while (running.load() > 0) {
                const RunnerStats now = runner.stats();
                if (now.inFlight < 0 || now.completed < last.completed ||
                    now.failed < last.failed || now.completed + now.failed > threads * callsEach)
                    readerSawBadValue = true;
                last = now;
            }
        });
        std::vector<JoiningThread> writers;
        for (int t = 0; t < threads; ++t) {
            writers.emplace_back([&runner, &running, t] {
                for (int i = 0; i < callsEach; ++i) {
                    // Failures through run() only: an exception inside a QFuture is handed over
                    // in uninstrumented Qt, which ThreadSanitizer cannot follow.
                    const bool fail = i % 4 == 0;
                    try {
                        if (t % 2 == 0)
                            runner.run([fail] { return fail ? failure() : value(1); });
                        else
                            runner.submit([] { return value(1); }).waitForFinished();
                    } catch (const std::runtime_error &) {
                    }
                }
                running.fetch_sub(1);
            });
        }
    }
    QVERIFY(!readerSawBadValue.load());
    QCOMPARE(counts(runner.stats()),
             expected(0, threads * callsEach * 7 / 8, threads * callsEach / 8, 0, 0));
}

QTEST_GUILESS_MAIN(tst_Stats)
#include "tst_stats.moc"
