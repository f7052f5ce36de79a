// SPDX-License-Identifier: MIT
// The application dies before the runners (docs/SEMANTICS.md#with-or-without-an-application). An
// explicit runner keeps working and closes cleanly afterwards; the global runner is shut down by
// palitra's post routine when the application dies, and the next free-function call creates a fresh
// one. Each new application gets the post routine again.
#include "palitratest.h"

#include <palitra/palitra.h>

#include <QCoreApplication>
#include <QScopeGuard>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <QCoro/QCoroTimer>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <optional>
#include <stop_token>

using namespace std::chrono_literals;
using palitra::test::MessageLog;
using palitra::test::timerThenValue;

namespace {

// QCoreApplication keeps a reference to argc.
int g_argc = 1;
char g_arg0[] = "tst_appdestroyed";
char *g_argv[] = {g_arg0, nullptr};

std::unique_ptr<QCoreApplication> makeApp() {
    return std::make_unique<QCoreApplication>(g_argc, g_argv);
}

} // namespace

class tst_AppDestroyed : public QObject {
    Q_OBJECT
    // What Qt and palitra print during one test function, from init() to cleanup().
    std::optional<MessageLog> m_messages;

private Q_SLOTS:
    void init();
    void cleanup();

    // An explicit runner outlives the application
    void explicitRunnerWorksAfterApplication();
    void coroutineSpansApplicationDestruction();

    // The global runner dies with the application
    void globalRunnerShutDownWithApplication();
    void globalRunnerShutDownForEachApplication();
    void globalRunnerParksBlockedCallerWhenApplicationDies_data();
    void globalRunnerParksBlockedCallerWhenApplicationDies();
    void explicitShutdownThenApplicationDies();
};

void tst_AppDestroyed::init() {
    m_messages.emplace();
}

void tst_AppDestroyed::cleanup() {
    const auto closeLog = qScopeGuard([this] { m_messages.reset(); });
    palitra::shutdownGlobalRunner();
    QVERIFY(!QCoreApplication::instance());
    QCOMPARE(m_messages->containing(QStringLiteral("Cannot be used without")), QStringList());
    QCOMPARE(m_messages->containing(QStringLiteral("QThread: Destroyed")), QStringList());
    QCOMPARE(m_messages->foreignWarnings(), QStringList());
}

// ---- An explicit runner outlives the application ----

// Each case here uses a runner after ~QCoreApplication, which needs Qt's private headers.
#define SKIP_WITHOUT_QT_PRIVATE()                                                                  \
    do {                                                                                           \
        if (!PALITRA_USES_QT_PRIVATE)                                                              \
            QSKIP("palitra was built without Qt's private headers (PALITRA_USE_QT_PRIVATE=OFF): "  \
                  "a runner does not work once the application is gone");                          \
    } while (false)

void tst_AppDestroyed::explicitRunnerWorksAfterApplication() {
    SKIP_WITHOUT_QT_PRIVATE();
    auto app = makeApp();
    palitra::EventLoopThreadRunner runner;
    QCOMPARE(runner.run([] { return timerThenValue(1); }), 1);
    QThread *const loopThread = runner.thread();

    app.reset();

    QVERIFY(runner.isRunning());
    QCOMPARE(runner.thread(), loopThread);
    QCOMPARE(runner.run([] { return timerThenValue(2); }), 2);
    const auto [a, b] =
        runner.gather([] { return timerThenValue(3); }, [] { return timerThenValue(4); });
    QCOMPARE(a + b, 7);
    QVERIFY_THROWS_EXCEPTION(
        palitra::TimeoutError,
        runner.run(
            []() -> QCoro::Task<> { co_await palitra::sleepFor(1h, palitra::currentStopToken()); },
            20ms));
    std::latch reached(1);
    QTimer::singleShot(0, runner.context(), [&] { reached.count_down(); });
    reached.wait();

    runner.close();
    QVERIFY(!runner.isRunning());
    QVERIFY(!runner.thread());
}

void tst_AppDestroyed::coroutineSpansApplicationDestruction() {
    SKIP_WITHOUT_QT_PRIVATE();
    // A caller on another thread is blocked in run() while the application is destroyed: the
    // coroutine keeps running on the explicit runner and its value arrives.
    auto app = makeApp();
    palitra::EventLoopThreadRunner runner;
    std::latch started(1);
    std::stop_source wakeUp;
    std::optional<int> result;
    {
        palitra::test::JoiningThread caller([&] {
            result = runner.run(
                [&]() -> QCoro::Task<int> {
                    started.count_down();
                    // Woken by a call posted to the loop thread, after the application is gone.
                    if (co_await palitra::sleepFor(1h, wakeUp.get_token()))
                        co_return -1; // slept the whole hour: the wake-up was lost
                    co_return co_await timerThenValue(5);
                },
                60s);
        });
        started.wait();
        app.reset();
        wakeUp.request_stop();
    }
    QCOMPARE(result, std::optional<int>(5));
    runner.close();
}

// ---- The global runner dies with the application ----

void tst_AppDestroyed::globalRunnerShutDownWithApplication() {
    SKIP_WITHOUT_QT_PRIVATE();
    auto app = makeApp();
    QVERIFY(!palitra::isRunnerAlive());
    QCOMPARE(palitra::run([] { return timerThenValue(1); }), 1);
    QVERIFY(palitra::isRunnerAlive());

    app.reset();
    QVERIFY(!palitra::isRunnerAlive()); // right after ~QCoreApplication

    // The next call creates a fresh runner, which works without the application.
    QCOMPARE(palitra::run([] { return timerThenValue(2); }), 2);
    QVERIFY(palitra::isRunnerAlive());
    palitra::shutdownGlobalRunner();
    QVERIFY(!palitra::isRunnerAlive());
}

void tst_AppDestroyed::globalRunnerShutDownForEachApplication() {
    SKIP_WITHOUT_QT_PRIVATE();
    for (int round = 0; round < 3; ++round) {
        auto app = makeApp();
        QCOMPARE(palitra::run([round] { return timerThenValue(round); }), round);
        QVERIFY(palitra::isRunnerAlive());
        app.reset();
        QVERIFY2(!palitra::isRunnerAlive(), qPrintable(QStringLiteral("round %1").arg(round)));
    }
    // Between applications, a runner created with no application is not tied to the next one
    // until it is used with it.
    QCOMPARE(palitra::run([] { return timerThenValue(3); }), 3);
    auto app = makeApp();
    QVERIFY(palitra::isRunnerAlive());
    QCOMPARE(palitra::run([] { return timerThenValue(4); }), 4);
    app.reset();
    QVERIFY(!palitra::isRunnerAlive());
}

void tst_AppDestroyed::globalRunnerParksBlockedCallerWhenApplicationDies_data() {
    // How the program, which went on after ~QCoreApplication, releases the parked caller.
    QTest::addColumn<bool>("byNextUse");
    QTest::newRow("shutdownGlobalRunner()") << false;
    QTest::newRow("the next use of the global runner") << true;
}

void tst_AppDestroyed::globalRunnerParksBlockedCallerWhenApplicationDies() {
    SKIP_WITHOUT_QT_PRIVATE();
    QFETCH(bool, byNextUse);
    // ~QCoreApplication is usually part of the process exit: a caller blocked on another thread
    // then must neither wake nor throw. If the program goes on, the next shutdownGlobalRunner()
    // (or the next use of the global runner) releases it.
    auto app = makeApp();
    std::latch started(1);
    std::atomic<bool> gotClosed{false};
    std::atomic<bool> coroutineStopped{false};
    bool wokeWithTheApplication = true;
    bool aliveAfterTheApplication = true;
    int nextUse = 0;
    {
        palitra::test::JoiningThread caller([&] {
            try {
                palitra::run([&]() -> QCoro::Task<> {
                    const auto stop = palitra::currentStopToken();
                    started.count_down();
                    if (!co_await palitra::sleepFor(1h, stop))
                        coroutineStopped = true;
                });
            } catch (const palitra::RunnerClosedError &) {
                gotClosed = true;
            }
        });
        started.wait();
        app.reset();
        wokeWithTheApplication = gotClosed;
        aliveAfterTheApplication = palitra::isRunnerAlive();
        // Either releases it, so that the thread can be joined.
        if (byNextUse)
            nextUse = palitra::run([] { return timerThenValue(5); }); // a new global runner
        else
            palitra::shutdownGlobalRunner();
    }
    if (byNextUse)
        QCOMPARE(nextUse, 5);
    QVERIFY(!wokeWithTheApplication); // still blocked then: its outcome went nowhere
    QVERIFY(!aliveAfterTheApplication);
    // Told to stop, and drained, during ~QCoreApplication: it ended by its stop request, not by
    // the end of the grace period (that would have abandoned it, still asleep).
    QVERIFY(coroutineStopped);
    QVERIFY(gotClosed);
}

void tst_AppDestroyed::explicitShutdownThenApplicationDies() {
    // After an explicit shutdown the post routine is removed; a fresh global runner created later
    // with the same application is tied to it again.
    auto app = makeApp();
    QCOMPARE(palitra::run([] { return timerThenValue(1); }), 1);
    palitra::shutdownGlobalRunner();
    QVERIFY(!palitra::isRunnerAlive());
    QCOMPARE(palitra::run([] { return timerThenValue(2); }), 2);
    QVERIFY(palitra::isRunnerAlive());
    app.reset();
    QVERIFY(!palitra::isRunnerAlive());
}

QTEST_APPLESS_MAIN(tst_AppDestroyed)

#include "tst_appdestroyed.moc"
