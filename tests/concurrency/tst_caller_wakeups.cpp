// SPDX-License-Identifier: MIT
// Callers that sleep on the loop thread's CPU: a drain holds their wake-ups to its end and makes
// them together (docs/SEMANTICS.md#callers-on-the-loop-threads-cpu). Every call is still answered,
// and a held caller is never kept waiting on the drain's later callables, even one that waits for
// that very caller. The whole process runs on one CPU here, so every caller shares the loop
// thread's.
#include <palitra/detail/spin_stats.h>
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QDir>
#include <QFile>
#include <QTest>

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::test::JoiningThread;
using palitra::test::OneCpu;
using palitra::test::threadsNamed;
using palitra::test::Watchdog;

namespace {

QCoro::Task<int> echo(int value) {
    co_return value;
}

//! \a threads callers, \a calls each, every answer checked. Returns the number of wrong ones.
int hammer(EventLoopThreadRunner &runner, int threads, int calls) {
    std::atomic<int> wrong{0};
    {
        std::vector<JoiningThread> callers;
        for (int t = 0; t < threads; ++t) {
            callers.emplace_back([&, t] {
                for (int i = 0; i < calls; ++i) {
                    const int expected = t * calls + i;
                    if (runner.run([expected] { return echo(expected); }) != expected)
                        ++wrong;
                }
            });
        }
    }
    return wrong.load();
}

//! Whether thread \a tid of this process sleeps (blocked in a system call) now.
bool isAsleep(pid_t tid) {
    QFile stat(QStringLiteral("/proc/self/task/%1/stat").arg(tid));
    if (!stat.open(QIODevice::ReadOnly))
        return false;
    const QByteArray text = stat.readAll();
    const qsizetype state = text.lastIndexOf(')') + 2; // after "tid (comm) "
    return state < text.size() && text.at(state) == 'S';
}

//! Yields this thread's CPU until \a runner has \a count calls in flight and the thread \a tid
//! (which made the latest of them) sleeps in its wait, so the call is queued. Not QTRY_*: its
//! 50 ms naps would outlast the keeper's watch, and the case would not be reached.
void waitUntilQueued(EventLoopThreadRunner &runner, std::int64_t count,
                     const std::atomic<pid_t> &tid) {
    while (runner.stats().inFlight != count || tid.load() == 0 || !isAsleep(tid.load()))
        std::this_thread::yield();
}

//! The blocked-signal masks (/proc's SigBlk, hex) of this process's threads named \a name.
QList<QByteArray> blockedSignalsOfThreadsNamed(const QByteArray &name) {
    QList<QByteArray> masks;
    const QDir tasks(QStringLiteral("/proc/self/task"));
    for (const QString &id : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile comm(tasks.filePath(id + QStringLiteral("/comm")));
        if (!comm.open(QIODevice::ReadOnly) || comm.readAll().trimmed() != name)
            continue;
        QFile status(tasks.filePath(id + QStringLiteral("/status")));
        if (!status.open(QIODevice::ReadOnly))
            continue;
        for (const QByteArray &line : status.readAll().split('\n')) {
            if (line.startsWith("SigBlk:"))
                masks.append(line.mid(7).trimmed());
        }
    }
    return masks;
}

} // namespace

class tst_CallerWakeups : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void callersOnTheLoopsCpuAreAllAnswered();
    void aHeldCallerIsNotKeptByALaterCallableWaitingForIt();
    void theKeeperTakesNoSignalAndEndsWithTheLoop();
};

// Eight callers on one CPU: their wake-ups are held to the end of each drain (the stats say
// so) and every one of their calls still gets its own answer.
void tst_CallerWakeups::callersOnTheLoopsCpuAreAllAnswered() {
    const OneCpu pinned;
    QVERIFY(pinned.isPinned());
    const Watchdog watchdog(120s, "callersOnTheLoopsCpuAreAllAnswered");
    EventLoopThreadRunner runner;
    constexpr int threads = 8;
    constexpr int calls = 2000;
    QCOMPARE(hammer(runner, threads, calls), 0);
    QCOMPARE(runner.stats().completed, std::int64_t(threads) * calls);
    QCOMPARE(runner.stats().inFlight, 0);
    QVERIFY2(palitra::detail::wakeBatchStats(runner).held > 0,
             "no drain held a wake-up: callers on the loop's CPU were woken one by one");
}

// X holds a lock until its run() returns; Y's callable, queued right behind X's in the same
// drain, takes that lock on the loop thread. X's wake-up, held to the end of the drain, would
// then never come: the keeper makes it, X returns and unlocks, and Y's callable goes on.
void tst_CallerWakeups::aHeldCallerIsNotKeptByALaterCallableWaitingForIt() {
    const OneCpu pinned;
    QVERIFY(pinned.isPinned());
    const Watchdog watchdog(120s, "aHeldCallerIsNotKeptByALaterCallableWaitingForIt");
    EventLoopThreadRunner runner;
    // Whether the drain holds X's wake-up depends on the keeper watching at that moment, which
    // a loaded machine may delay: tried until it did, and then it must have ended well.
    bool rescued = false;
    for (int attempt = 0; attempt < 20 && !rescued; ++attempt) {
        QCOMPARE(hammer(runner, 4, 200), 0); // holds wake-ups: the keeper watches now
        const std::uint64_t madeBefore = palitra::detail::wakeBatchStats(runner).madeByKeeper;
        const std::int64_t completedBefore = runner.stats().completed;

        // The loop is kept in a callable while X's and Y's calls queue, so that they are
        // started by the same drain, X's first.
        std::atomic<bool> gateRunning{false};
        std::atomic<bool> gateOpen{false};
        JoiningThread gate([&] {
            runner.run([&]() -> QCoro::Task<void> {
                gateRunning = true;
                gateRunning.notify_all();
                gateOpen.wait(false);
                co_return;
            });
        });
        gateRunning.wait(false);

        std::mutex heldUntilReturn;
        std::atomic<bool> xLocked{false};
        std::atomic<int> xAnswer{0};
        std::atomic<int> yAnswer{0};
        std::atomic<pid_t> xTid{0};
        std::atomic<pid_t> yTid{0};
        JoiningThread x([&] {
            xTid = gettid();
            const std::lock_guard lock(heldUntilReturn);
            xLocked = true;
            xLocked.notify_all();
            xAnswer = runner.run([] { return echo(1); });
        });
        xLocked.wait(false);
        waitUntilQueued(runner, 2, xTid); // the gate and X's call
        // What Y's callable saw as it began, before it waited for X: X's wake-up held already,
        // and nothing the keeper made yet.
        std::atomic<std::uint64_t> heldAtY{0};
        std::atomic<std::uint64_t> madeAtY{0};
        const std::uint64_t heldBefore = palitra::detail::wakeBatchStats(runner).held;
        JoiningThread y([&] {
            yTid = gettid();
            yAnswer = runner.run([&]() -> QCoro::Task<int> {
                heldAtY = palitra::detail::wakeBatchStats(runner).held;
                madeAtY = palitra::detail::wakeBatchStats(runner).madeByKeeper;
                const std::lock_guard lock(heldUntilReturn); // until X's run() has returned
                co_return 2;
            });
        });
        waitUntilQueued(runner, 3, yTid);
        gateOpen = true;
        gateOpen.notify_all();
        gate.join();
        x.join();
        y.join();
        QCOMPARE(xAnswer.load(), 1);
        QCOMPARE(yAnswer.load(), 2);
        QCOMPARE(runner.stats().completed, completedBefore + 3);
        // X's wake-up was held when Y's callable began, and the keeper made one after that: X's,
        // the only one held while Y's callable waited.
        rescued = heldAtY.load() > heldBefore && madeAtY.load() == madeBefore &&
                  palitra::detail::wakeBatchStats(runner).madeByKeeper > madeAtY.load();
    }
    QVERIFY2(rescued, "the drain never held X's wake-up: the case was not reached");
}

// The keeper runs no user code, so no signal of the program's may be delivered to it; and it is
// the loop's, so it is gone once the runner has closed.
void tst_CallerWakeups::theKeeperTakesNoSignalAndEndsWithTheLoop() {
    const OneCpu pinned;
    QVERIFY(pinned.isPinned());
    const Watchdog watchdog(120s, "theKeeperTakesNoSignalAndEndsWithTheLoop");
    QCOMPARE(threadsNamed("palitra-wakes"), 0);
    {
        EventLoopThreadRunner runner;
        QCOMPARE(hammer(runner, 4, 200), 0); // its drains held wake-ups: the keeper is running
        QVERIFY(palitra::detail::wakeBatchStats(runner).held > 0);
        const QList<QByteArray> masks = blockedSignalsOfThreadsNamed("palitra-wakes");
        QCOMPARE(masks.size(), 1);
        bool ok = false;
        const quint64 blocked = masks.first().toULongLong(&ok, 16);
        QVERIFY2(ok, masks.first().constData());
        for (const int signal : {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
                                 SIGTERM, SIGCHLD, SIGWINCH}) {
            QVERIFY2(blocked & (quint64(1) << (signal - 1)),
                     qPrintable(QStringLiteral("signal %1 is not blocked in the keeper (SigBlk %2)")
                                    .arg(signal)
                                    .arg(QString::fromLatin1(masks.first()))));
        }
        runner.close();
    }
    QCOMPARE(threadsNamed("palitra-wakes"), 0); // joined before close() returned
}

QTEST_GUILESS_MAIN(tst_CallerWakeups)
#include "tst_caller_wakeups.moc"
