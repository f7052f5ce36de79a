// SPDX-License-Identifier: MIT
// palitra with no QCoreApplication at all (docs/SEMANTICS.md#with-or-without-an-application).
// Timers, queued calls, sockets, gather, timeouts and close() work on the loop thread, and Qt
// prints nothing about it.
#include "palitratest.h"

#include <palitra/palitra.h>

#include <QCoreApplication>
#include <QHostAddress>
#include <QMetaObject>
#include <QScopeGuard>
#include <QScopedPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <QCoro/QCoroTimer>

#include <chrono>
#include <functional>
#include <future>
#include <latch>
#include <optional>
#include <vector>

using namespace std::chrono_literals;
using palitra::test::MessageLog;
using palitra::test::timerThenValue;

namespace {} // namespace

class tst_NoApp : public QObject {
    Q_OBJECT
    // What Qt and palitra print during one test function, from init() to cleanup().
    std::optional<MessageLog> m_messages;
    // Without an application, Qt drops what it cannot deliver: a broken loop thread shows up as
    // a call or a wait that never ends. The watchdog turns that into a failure of the case.
    std::optional<palitra::test::Watchdog> m_watchdog;

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void cleanupTestCase();

    // The loop thread delivers events with no application
    void runAwaitsQTimer();
    void runAwaitsSleepFor();
    void queuedCallsReachTheContext();
    void timerOnContextFires();
    void socketsWork();

    // gather, timeouts, close
    void gatherTuple();
    void gatherRange();
    void timeoutThenRunnerStillWorks();
    void closeReleasesBlockedCaller();
    void closeAbandonsSuspendedCoroutine();

    // The global runner
    void globalRunnerWorksAndRestarts();

private:
    void verifyNoApplication() { QVERIFY(!QCoreApplication::instance()); }
};

void tst_NoApp::initTestCase() {
    verifyNoApplication();
#if !defined(PALITRA_TEST_HAVE_DAEMON_THREAD)
    // Fallback build (no QDaemonThread): calls fail fast with a clear palitra::Error instead.
    palitra::EventLoopThreadRunner runner;
    QVERIFY_THROWS_EXCEPTION(palitra::Error, runner.run([]() -> QCoro::Task<int> { co_return 1; }));
    QSKIP("palitra was built without QDaemonThread: run() without an application fails fast");
#endif
}

void tst_NoApp::init() {
    m_messages.emplace();
    m_watchdog.emplace(60s, QTest::currentTestFunction());
}

void tst_NoApp::cleanup() {
    const auto closeLog = qScopeGuard([this] { m_messages.reset(); });
    m_watchdog.reset();
    verifyNoApplication();
    QCOMPARE(m_messages->containing(QStringLiteral("Cannot be used without")), QStringList());
    QCOMPARE(m_messages->containing(QStringLiteral("QApplication")), QStringList());
    QCOMPARE(m_messages->foreignWarnings(), QStringList());
}

void tst_NoApp::cleanupTestCase() {
    const MessageLog messages;
    palitra::shutdownGlobalRunner();
    QVERIFY(!palitra::isRunnerAlive());
    QCOMPARE(messages.foreignWarnings(), QStringList());
}

// ---- The loop thread delivers events with no application ----

void tst_NoApp::runAwaitsQTimer() {
    palitra::EventLoopThreadRunner runner;
    QThread *ranOn = nullptr;
    const int value = runner.run([&]() -> QCoro::Task<int> {
        ranOn = QThread::currentThread();
        co_return co_await timerThenValue(42, 10ms);
    });
    QCOMPARE(value, 42);
    QCOMPARE(ranOn, runner.thread());
    QVERIFY(ranOn != QThread::currentThread());
}

void tst_NoApp::runAwaitsSleepFor() {
    palitra::EventLoopThreadRunner runner;
    const bool slept = runner.run([]() -> QCoro::Task<bool> {
        co_return co_await palitra::sleepFor(20ms, palitra::currentStopToken());
    });
    QVERIFY(slept);
    // QCoro's own sleep (a QTimer under the hood) too.
    runner.run([]() -> QCoro::Task<> { co_await QCoro::sleepFor(5ms); });
}

void tst_NoApp::queuedCallsReachTheContext() {
    std::promise<QThread *> ranOn; // outlives the runner, which may still call it late
    std::future<QThread *> result = ranOn.get_future();
    palitra::EventLoopThreadRunner runner;
    QObject *context = runner.context();
    QVERIFY(context);
    QVERIFY(QMetaObject::invokeMethod(
        context, [&] { ranOn.set_value(QThread::currentThread()); }, Qt::QueuedConnection));
    // A call that Qt dropped never comes: fail instead of waiting forever.
    QCOMPARE(result.wait_for(30s), std::future_status::ready);
    QCOMPARE(result.get(), runner.thread());
}

void tst_NoApp::timerOnContextFires() {
    // A timer started on the loop thread, from a posted call. (A non-zero QTimer::singleShot made
    // on this thread would need this thread's event dispatcher, which does not exist without an
    // application: a Qt limit, not palitra's.)
    std::promise<void> queued; // these outlive the runner, which may still call them late
    std::promise<void> timer;
    std::future<void> queuedRan = queued.get_future();
    std::future<void> timerFired = timer.get_future();
    palitra::EventLoopThreadRunner runner;
    QObject *context = runner.context();
    QTimer::singleShot(0, context, [&] { queued.set_value(); }); // a queued call
    QMetaObject::invokeMethod(
        context, [&] { QTimer::singleShot(5ms, context, [&] { timer.set_value(); }); },
        Qt::QueuedConnection);
    // An event that Qt dropped never comes: fail instead of waiting forever.
    QCOMPARE(queuedRan.wait_for(30s), std::future_status::ready);
    QCOMPARE(timerFired.wait_for(30s), std::future_status::ready);
}

void tst_NoApp::socketsWork() {
    // Socket notifiers are events too: a TCP round trip on the loop thread, no application.
    palitra::EventLoopThreadRunner runner;
    const QByteArray received = runner.run(
        []() -> QCoro::Task<QByteArray> {
            // The last readyRead resumes this coroutine inside the peer's emission, and
            // co_return would then destroy the peer (the server's child) under its own signal:
            // both go through deleteLater(), as Qt asks of a sender deleted in its slot.
            const QScopedPointer<QTcpServer, QScopedPointerDeleteLater> server(new QTcpServer);
            if (!server->listen(QHostAddress::LocalHost, 0))
                co_return QByteArrayLiteral("listen failed");
            const QScopedPointer<QTcpSocket, QScopedPointerDeleteLater> client(new QTcpSocket);
            client->connectToHost(QHostAddress::LocalHost, server->serverPort());
            if (!server->hasPendingConnections())
                co_await palitra::awaitSignal(server.get(), &QTcpServer::newConnection);
            QTcpSocket *peer = server->nextPendingConnection();
            if (!peer)
                co_return QByteArrayLiteral("no connection");
            client->write("hello");
            QByteArray data;
            while (data.size() < 5) {
                if (peer->bytesAvailable() == 0)
                    co_await palitra::awaitSignal(peer, &QIODevice::readyRead);
                data += peer->readAll();
            }
            co_return data;
        },
        30s);
    QCOMPARE(received, QByteArrayLiteral("hello"));
}

// ---- gather, timeouts, close ----

void tst_NoApp::gatherTuple() {
    palitra::EventLoopThreadRunner runner;
    const auto [a, b, c] = runner.gather(
        [] { return timerThenValue(1, 10ms); }, [] { return timerThenValue(2, 10ms); },
        []() -> QCoro::Task<> { co_await palitra::sleepFor(5ms, palitra::currentStopToken()); });
    QCOMPARE(a, 1);
    QCOMPARE(b, 2);
    Q_UNUSED(c);
}

void tst_NoApp::gatherRange() {
    std::vector<std::function<QCoro::Task<int>()>> work;
    for (int i = 0; i < 8; ++i)
        work.emplace_back([i] { return timerThenValue(i * 10, 10ms); });
    const QList<int> values = palitra::gather(work, 30s);
    QCOMPARE(values, (QList<int>{0, 10, 20, 30, 40, 50, 60, 70}));
}

void tst_NoApp::timeoutThenRunnerStillWorks() {
    std::promise<bool> stopped; // outlives the runner and the coroutine
    std::future<bool> sleptFully = stopped.get_future();
    palitra::EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    // Only an attempt whose coroutine was invoked sets the promise: one whose timeout passed
    // while it was queued is never started.
    QVERIFY(palitra::test::timeOutAfterInvoking(50ms, [&](std::chrono::milliseconds timeout) {
        runner.run(
            [&]() -> QCoro::Task<> {
                const auto stop = palitra::currentStopToken();
                stopped.set_value(co_await palitra::sleepFor(1h, stop));
            },
            timeout);
    }));
    // The stop request reached the coroutine through the loop (a posted wake-up); a wake-up
    // that Qt dropped would leave it asleep for an hour: fail instead of waiting.
    QCOMPARE(sleptFully.wait_for(30s), std::future_status::ready);
    QCOMPARE(sleptFully.get(), false);
    QCOMPARE(runner.run([] { return timerThenValue(7, 10ms); }), 7);
}

void tst_NoApp::closeReleasesBlockedCaller() {
    palitra::EventLoopThreadRunner runner;
    std::latch started(1);
    std::atomic<bool> gotClosed{false};
    std::atomic<bool> coroutineStopped{false};
    {
        palitra::test::JoiningThread caller([&] {
            try {
                runner.run([&]() -> QCoro::Task<> {
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
        runner.close();
    }
    QVERIFY(gotClosed);
    // close() joined the loop thread after the coroutine, told to stop, finished.
    QVERIFY(coroutineStopped);
    QVERIFY(!runner.isRunning());
    QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError,
                             runner.run([] { return timerThenValue(1, 10ms); }));
}

void tst_NoApp::closeAbandonsSuspendedCoroutine() {
#if defined(PALITRA_TEST_LEAKS_REPORTED)
    QSKIP("the abandoned frame is leaked on purpose, which LeakSanitizer reports");
#endif
    palitra::RunnerOptions options;
    options.closeGracePeriod = 100ms;
    palitra::EventLoopThreadRunner runner(options);
    // A coroutine that ignores the stop request: still suspended when the grace period ends.
    // A call whose timeout passes while it is queued (a loaded machine) is never started: then
    // call again. The started flag is only touched before the first suspension.
    std::atomic<bool> started{false};
    do {
        QVERIFY_THROWS_EXCEPTION(palitra::TimeoutError, runner.run(
                                                            [&started]() -> QCoro::Task<> {
                                                                started = true;
                                                                co_await QCoro::sleepFor(1h);
                                                            },
                                                            20ms));
        // Calls start in order: once this one has run, the timed-out one started or never will.
        QCOMPARE(runner.run([]() -> QCoro::Task<int> { co_return 1; }), 1);
    } while (!started);
    runner.close();
    QVERIFY(!runner.isRunning());
    QCOMPARE(m_messages->containing(QStringLiteral("abandoned")).size(), 1);
}

// ---- The global runner ----

void tst_NoApp::globalRunnerWorksAndRestarts() {
    QCOMPARE(palitra::run([] { return timerThenValue(5, 10ms); }), 5);
    QVERIFY(palitra::isRunnerAlive());
    const auto [a, b] = palitra::gather([] { return timerThenValue(1, 10ms); },
                                        [] { return timerThenValue(2, 10ms); });
    QCOMPARE(a + b, 3);

    palitra::shutdownGlobalRunner();
    QVERIFY(!palitra::isRunnerAlive());

    QCOMPARE(palitra::run([] { return timerThenValue(6, 10ms); }, 30s), 6);
    QVERIFY(palitra::isRunnerAlive());
}

QTEST_APPLESS_MAIN(tst_NoApp)

#include "tst_noapp.moc"
