// SPDX-License-Identifier: MIT
// RunnerOptions::stallWarning: one qCWarning per loop step that runs past the threshold (naming
// the callable a step was starting) and per caller blocked past it (naming the caller's thread);
// nothing at all when it is off. See docs/SEMANTICS.md#stats-and-stall-warnings.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QFuture>
#include <QTest>
#include <QThread>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <type_traits>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::RunnerOptions;
using palitra::test::JoiningThread;
using palitra::test::MessageLog;
using palitra::test::Watchdog;

namespace {

static_assert(std::is_same_v<decltype(RunnerOptions::stallWarning), std::chrono::nanoseconds>);

constexpr auto threshold = 20ms;

RunnerOptions warningAfter(std::chrono::nanoseconds after) {
    RunnerOptions options;
    options.threadName = QStringLiteral("stall-test");
    options.stallWarning = after;
    return options;
}

//! Blocks the loop thread synchronously, before its coroutine's first suspension, until released.
struct SlowStartCallable {
    std::atomic<bool> *released;
    QCoro::Task<int> operator()() const {
        released->wait(false);
        co_return 1;
    }
};

//! Suspends until stopped: the loop is free, only its caller waits.
struct PatientCallable {
    QCoro::Task<int> operator()() const {
        const std::stop_token stop = palitra::currentStopToken();
        co_await palitra::sleepFor(1h, stop);
        co_return 2;
    }
};

//! Like PatientCallable, for submit(), which has no blocked caller to warn about.
struct SubmittedCallable {
    QCoro::Task<int> operator()() const {
        const std::stop_token stop = palitra::currentStopToken();
        co_await palitra::sleepFor(1h, stop);
        co_return 3;
    }
};

//! Runs \a callable on \a runner from a new thread named \a name (by objectName, or, with
//! \a osName, only by its OS name), until close() releases it.
JoiningThread blockedCaller(EventLoopThreadRunner &runner, const char *name, bool osName = false) {
    return JoiningThread([&runner, name, osName] {
        if (osName)
            pthread_setname_np(pthread_self(), name);
        else
            QThread::currentThread()->setObjectName(QString::fromLatin1(name));
        try {
            runner.run(PatientCallable{});
        } catch (const palitra::RunnerClosedError &) {
        }
    });
}

//! Unblocks a step that waits on \a flag; its destructor does too, so that a failing check never
//! leaves the loop blocked and the test hanging in a join.
//! Closes \a runner when the scope ends, releasing its blocked callers before they are joined,
//! however the test left the scope.
struct CloseAtEnd {
    EventLoopThreadRunner &runner;
    ~CloseAtEnd() { runner.close(); }
};

struct Release {
    std::atomic<bool> &flag;
    void operator()() const {
        flag = true;
        flag.notify_all();
    }
    ~Release() { (*this)(); }
};

QString loopStep() {
    return QStringLiteral("a loop step of runner stall-test");
}

QString blocked() {
    return QStringLiteral("has been blocked");
}

//! How many of palitra's warnings contain both \a what and \a name. Each check names the step or
//! caller it is about: on a loaded machine (or under a sanitizer) another step, such as the
//! loop thread's start, may pass a short threshold too, and is rightly warned about.
int warningsAbout(const MessageLog &messages, const QString &what, const QString &name) {
    int n = 0;
    for (const QString &w : messages.warnings())
        n += w.contains(what) && w.contains(name) ? 1 : 0;
    return n;
}

} // namespace

class tst_StallWarning : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void offPrintsNothing();
    void stuckStepWarnsOnceNamingTheCallable();
    void stuckStepOutsideACallStart();
    void blockedCallerWarnsOnceNamingItsThread();
};

void tst_StallWarning::offPrintsNothing() {
    Watchdog watchdog(60s, "offPrintsNothing");
    MessageLog messages;
    RunnerOptions options; // stallWarning off by default
    QCOMPARE(options.stallWarning, 0ns);
    EventLoopThreadRunner runner(options);
    std::atomic<bool> released{false};
    {
        JoiningThread caller([&] { runner.run(SlowStartCallable{&released}); });
        const Release release{released};
        // Both the loop step and its caller have gone on far past what a warning would need.
        QTRY_VERIFY(runner.stats().longestStall >= 200ms);
        release();
    }
    runner.close();
    QCOMPARE(messages.warnings(), QStringList());
}

void tst_StallWarning::stuckStepWarnsOnceNamingTheCallable() {
    Watchdog watchdog(60s, "stuckStepWarnsOnceNamingTheCallable");
    MessageLog messages(MessageLog::Palitra::Quiet);
    EventLoopThreadRunner runner(warningAfter(threshold));
    palitra::test::startLoop(runner);
    std::atomic<bool> released{false};
    {
        JoiningThread caller([&] { runner.run(SlowStartCallable{&released}); });
        const Release release{released};
        // Seen while the step still blocks: the warning comes from the watchdog thread.
        const QString name = QStringLiteral("SlowStartCallable");
        QTRY_COMPARE(warningsAbout(messages, loopStep(), name), 1);
        QCOMPARE(warningsAbout(messages, QStringLiteral("has been running for"), name), 1);
        // Ten thresholds on, the watchdog has looked again many times: still one warning.
        QTRY_VERIFY(runner.stats().longestStall >= 10 * threshold);
        QCOMPARE(warningsAbout(messages, loopStep(), name), 1);
        release();
    }
    const QString name = QStringLiteral("SlowStartCallable");
    // The step's end does not report it a second time.
    QCOMPARE(warningsAbout(messages, loopStep(), name), 1);
    // Its caller was blocked past the threshold too, and is named as well.
    QTRY_COMPARE(warningsAbout(messages, blocked(), name), 1);
    runner.close();
    QCOMPARE(warningsAbout(messages, loopStep(), name), 1);
}

void tst_StallWarning::stuckStepOutsideACallStart() {
#if !PALITRA_USES_QT_PRIVATE
    QSKIP("palitra was built without Qt's private headers (PALITRA_USE_QT_PRIVATE=OFF): Qt's own "
          "dispatcher measures only the steps that start calls");
#endif
    Watchdog watchdog(60s, "stuckStepOutsideACallStart");
    MessageLog messages(MessageLog::Palitra::Quiet);
    EventLoopThreadRunner runner(warningAfter(threshold));
    std::atomic<bool> released{false};
    // A slot posted to the loop: no call is starting, so none is named.
    QVERIFY(QMetaObject::invokeMethod(
        runner.context(), [&released] { released.wait(false); }, Qt::QueuedConnection));
    const Release release{released};
    // Seen while the slot still blocks (other slow steps of a loaded machine may be warned
    // about too, so this asks for at least one).
    QTRY_VERIFY(
        warningsAbout(messages, loopStep(), QStringLiteral("outside the start of any call")) >= 1);
    release();
    QCOMPARE(runner.run([]() -> QCoro::Task<int> { co_return 4; }), 4);
}

void tst_StallWarning::blockedCallerWarnsOnceNamingItsThread() {
    Watchdog watchdog(60s, "blockedCallerWarnsOnceNamingItsThread");
    MessageLog messages(MessageLog::Palitra::Quiet);
    EventLoopThreadRunner runner(warningAfter(threshold));
    // A submitted call has no blocked caller: it is never warned about.
    QFuture<int> submitted = runner.submit(SubmittedCallable{});
    {
        JoiningThread first = blockedCaller(runner, "stall-caller-A");
        const CloseAtEnd closeFirst{runner};
        QTRY_COMPARE(messages.countContaining(QStringLiteral("\"stall-caller-A\"")), 1);
        const QString warning =
            messages.containing(QStringLiteral("\"stall-caller-A\"")).constFirst();
        QVERIFY2(warning.contains(QStringLiteral("tid ")), qPrintable(warning));
        QVERIFY2(warning.contains(QStringLiteral("PatientCallable")), qPrintable(warning));

        // A thread with only an OS name, blocked later: by its warning, the watchdog has looked
        // at the first caller several more times.
        JoiningThread second = blockedCaller(runner, "stall-os-name", /*osName=*/true);
        const CloseAtEnd closeSecond{runner};
        QTRY_COMPARE(messages.countContaining(QStringLiteral("\"stall-os-name\"")), 1);
        QCOMPARE(messages.countContaining(QStringLiteral("\"stall-caller-A\"")), 1);
        // Never as a blocked caller (a preempted loop thread may still make the step that
        // starts it a slow one, which is rightly warned about as a loop step).
        QCOMPARE(warningsAbout(messages, blocked(), QStringLiteral("SubmittedCallable")), 0);
        // The start of a call that suspends at once is no stall, unless the machine made it one.
        if (runner.stats().longestStall < threshold)
            QCOMPARE(warningsAbout(messages, loopStep(), QStringLiteral("PatientCallable")), 0);
        runner.close(); // releases both callers
    }
    QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError, submitted.waitForFinished());
    QCOMPARE(warningsAbout(messages, blocked(), QStringLiteral("PatientCallable")), 2);
}

QTEST_GUILESS_MAIN(tst_StallWarning)
#include "tst_stall_warning.moc"
