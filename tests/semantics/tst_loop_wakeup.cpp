// SPDX-License-Identifier: MIT
// How the loop thread wakes up. An idle loop sleeps on a futex while it watches no socket and in
// poll() while it does (README "Choices"); in both modes every source of work must wake it:
// calls, queued invocations, timers whose time has come, socket activity, and the switch between
// the two modes while calls keep arriving. A lost wake-up shows up here as a hang, which every
// test turns into a failure with a bounded wait.
#include <palitra/palitra.h>

#include "testhelpers.h"

#include <QHostAddress>
#include <QPointer>
#include <QSemaphore>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>

#include <atomic>
#include <chrono>
#include <vector>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::test::JoiningThread;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int bound = 10'000; // ms: far beyond any wake-up, short of ctest's timeout

QCoro::Task<int> echo(int value) {
    co_return value;
}

//! Runs \a count calls on \a runner, each with a bounded wait; returns how many gave back the
//! value they were given.
int echoCalls(EventLoopThreadRunner &runner, int count) {
    int correct = 0;
    for (int i = 0; i < count; ++i)
        correct += runner.run([i] { return echo(i); }, 10s) == i ? 1 : 0;
    return correct;
}

//! A listening server on the runner's loop thread: its socket notifier makes the loop sleep in
//! poll(). Each accepted connection and each read releases \a activity.
QPointer<QTcpServer> listenOnLoop(EventLoopThreadRunner &runner, QSemaphore &activity) {
    return runner.run([&]() -> QCoro::Task<QPointer<QTcpServer>> {
        auto *server = new QTcpServer(runner.context());
        QObject::connect(server, &QTcpServer::newConnection, server, [server, &activity] {
            while (QTcpSocket *socket = server->nextPendingConnection()) {
                QObject::connect(socket, &QTcpSocket::readyRead, socket, [socket, &activity] {
                    socket->readAll();
                    activity.release();
                });
                activity.release();
            }
        });
        if (!server->listen(QHostAddress::LocalHost)) {
            delete server;
            server = nullptr;
        }
        co_return server;
    });
}

void deleteOnLoop(EventLoopThreadRunner &runner, QPointer<QTcpServer> server) {
    runner.run([server]() -> QCoro::Task<> {
        delete server.data();
        co_return;
    });
}

} // namespace

class tst_LoopWakeup : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void timerWakesIdleLoop();
    void repeatingTimerKeepsWakingIdleLoop();
    void queuedInvocationWakesIdleLoop();
    void socketActivityWakesLoop();
    void callsWakeLoopWatchingSockets();
    void callsRaceModeChanges();
};

// Nothing but the timer's expiry can end the loop's sleep here: the caller posts nothing while
// it waits.
void tst_LoopWakeup::timerWakesIdleLoop() {
    EventLoopThreadRunner runner;
    QSemaphore fired;
    const auto started = Clock::now();
    runner.run([&]() -> QCoro::Task<> {
        QTimer::singleShot(40ms, Qt::PreciseTimer, runner.context(), [&fired] { fired.release(); });
        co_return;
    });
    QVERIFY(fired.tryAcquire(1, bound));
    // A precise timer never fires early.
    QVERIFY(Clock::now() - started >= 40ms);
}

void tst_LoopWakeup::repeatingTimerKeepsWakingIdleLoop() {
    EventLoopThreadRunner runner;
    QSemaphore ticks;
    QPointer<QTimer> timer = runner.run([&]() -> QCoro::Task<QPointer<QTimer>> {
        auto *t = new QTimer(runner.context());
        QObject::connect(t, &QTimer::timeout, t, [&ticks] { ticks.release(); });
        t->start(5ms);
        co_return t;
    });
    QVERIFY(ticks.tryAcquire(20, bound));
    runner.run([timer]() -> QCoro::Task<> {
        delete timer.data();
        co_return;
    });
    QVERIFY(!timer);
}

void tst_LoopWakeup::queuedInvocationWakesIdleLoop() {
    EventLoopThreadRunner runner;
    QObject *context = runner.context();
    QSemaphore ran;
    std::atomic<QThread *> ranOn{nullptr};
    std::atomic<int> seen{0};
    {
        JoiningThread poster([&] {
            for (int i = 0; i < 50; ++i) {
                QMetaObject::invokeMethod(
                    context,
                    [&] {
                        ranOn = QThread::currentThread();
                        ran.release();
                    },
                    Qt::QueuedConnection);
                // One at a time, so that most of them find the loop asleep.
                if (!ran.tryAcquire(1, bound))
                    return;
                ++seen;
            }
        });
    }
    QCOMPARE(seen.load(), 50);
    QCOMPARE(ranOn.load(), runner.thread());
}

// While it watches a socket, the loop sleeps in poll(): the socket itself must wake it, with no
// call or post from the caller.
void tst_LoopWakeup::socketActivityWakesLoop() {
    EventLoopThreadRunner runner;
    QSemaphore activity;
    QPointer<QTcpServer> server = listenOnLoop(runner, activity);
    QVERIFY(server);
    const quint16 port =
        runner.run([server]() -> QCoro::Task<quint16> { co_return server->serverPort(); });

    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(bound));
    QVERIFY(activity.tryAcquire(1, bound)); // accepted on the loop thread
    client.write("ping");
    QVERIFY(client.waitForBytesWritten(bound));
    QVERIFY(activity.tryAcquire(1, bound)); // read on the loop thread

    deleteOnLoop(runner, server);
    QVERIFY(!server);
}

// Calls reach a loop asleep in poll() (socket watched), and again once it sleeps on the futex.
void tst_LoopWakeup::callsWakeLoopWatchingSockets() {
    EventLoopThreadRunner runner;
    QCOMPARE(echoCalls(runner, 200), 200);

    QSemaphore activity;
    QPointer<QTcpServer> server = listenOnLoop(runner, activity);
    QVERIFY(server);
    QCOMPARE(echoCalls(runner, 200), 200);

    deleteOnLoop(runner, server);
    QVERIFY(!server);
    QCOMPARE(echoCalls(runner, 200), 200);

    // Back on the futex, a timer still ends the sleep.
    QSemaphore fired;
    runner.run([&]() -> QCoro::Task<> {
        QTimer::singleShot(20ms, Qt::PreciseTimer, runner.context(), [&fired] { fired.release(); });
        co_return;
    });
    QVERIFY(fired.tryAcquire(1, bound));
}

// Callers keep calling while another thread makes the loop switch between futex and poll() over
// and over: no call may be lost in a switch (each would time out).
void tst_LoopWakeup::callsRaceModeChanges() {
    EventLoopThreadRunner runner;
    constexpr int callers = 2;
    constexpr int callsEach = 1000;
    constexpr int switches = 100;
    std::atomic<int> correct{0};
    std::atomic<int> listened{0};
    {
        std::vector<JoiningThread> threads;
        for (int c = 0; c < callers; ++c)
            threads.emplace_back([&] { correct += echoCalls(runner, callsEach); });
        threads.emplace_back([&] {
            QSemaphore activity;
            for (int s = 0; s < switches; ++s) {
                QPointer<QTcpServer> server = listenOnLoop(runner, activity);
                if (server)
                    ++listened;
                deleteOnLoop(runner, server);
            }
        });
    }
    QCOMPARE(correct.load(), callers * callsEach);
    QCOMPARE(listened.load(), switches);
}

QTEST_GUILESS_MAIN(tst_LoopWakeup)
#include "tst_loop_wakeup.moc"
