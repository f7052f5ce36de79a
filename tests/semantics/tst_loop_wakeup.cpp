// SPDX-License-Identifier: MIT
// How the loop thread wakes up. An idle loop sleeps on a futex while it watches no socket and in
// poll() while it does (docs/SEMANTICS.md, "Decided details / The loop thread's event
// dispatcher"); in both modes every source of work must wake it: calls, queued invocations,
// timers whose time has come, socket activity, and the switch between the two modes while calls
// keep arriving. A lost wake-up shows up here as a hang, which every test turns into a failure
// with a bounded wait.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QEventLoop>
#include <QHostAddress>
#include <QPointer>
#include <QSemaphore>
#include <QSocketNotifier>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>

#include <sys/socket.h>
#include <unistd.h>

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
//! value they were given (stopping at the first that timed out).
int echoCalls(EventLoopThreadRunner &runner, int count) {
    int correct = 0;
    try {
        for (int i = 0; i < count; ++i)
            correct += runner.run([i] { return echo(i); }, 10s) == i ? 1 : 0;
    } catch (const palitra::TimeoutError &) {
        // a lost wake-up: the count says so
    }
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

//! Counts the loop thread's aboutToBlock() signals: each one is the loop about to sleep, in
//! whichever mode it is in. Lets a test wait until the loop is asleep without sleeping itself.
class BlockWatch {
public:
    explicit BlockWatch(EventLoopThreadRunner &runner) {
        runner.run([&]() -> QCoro::Task<> {
            auto *dispatcher = QAbstractEventDispatcher::instance(QThread::currentThread());
            m_connection = QObject::connect(
                dispatcher, &QAbstractEventDispatcher::aboutToBlock, dispatcher,
                [this] {
                    ++m_blocks;
                    m_blocked.release();
                },
                Qt::DirectConnection);
            co_return;
        });
    }
    ~BlockWatch() { QObject::disconnect(m_connection); }
    BlockWatch(const BlockWatch &) = delete;
    BlockWatch &operator=(const BlockWatch &) = delete;

    //! How often the loop went to sleep so far. Read it on the loop thread, in a call.
    int blocks() const { return m_blocks.load(); }

    //! Waits until the loop goes to sleep for the (\a seen + 1)th time.
    bool waitForBlockAfter(int seen) {
        while (m_blocks.load() <= seen) {
            if (!m_blocked.tryAcquire(1, bound))
                return false;
        }
        return true;
    }

    //! Makes a call, then waits until the loop goes to sleep after it.
    bool callThenWaitUntilAsleep(EventLoopThreadRunner &runner) {
        return waitForBlockAfter(runner.run([this]() -> QCoro::Task<int> { co_return blocks(); }));
    }

private:
    std::atomic<int> m_blocks{0};
    QSemaphore m_blocked;
    QMetaObject::Connection m_connection;
};

//! A connected pair of local sockets; the ends close with it.
struct SocketPair {
    int fds[2] = {-1, -1};
    SocketPair() { (void)::socketpair(AF_UNIX, SOCK_STREAM, 0, fds); }
    ~SocketPair() {
        for (int fd : fds)
            if (fd >= 0)
                ::close(fd);
    }
    SocketPair(const SocketPair &) = delete;
    SocketPair &operator=(const SocketPair &) = delete;
    bool isValid() const { return fds[0] >= 0 && fds[1] >= 0; }
};

enum class Nested { ProcessEvents, EventLoop };

void deleteOnLoop(EventLoopThreadRunner &runner, QPointer<QTcpServer> server) {
    runner.run([server]() -> QCoro::Task<> {
        delete server.data();
        co_return;
    });
}

} // namespace

Q_DECLARE_METATYPE(Nested)

class tst_LoopWakeup : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void timerWakesIdleLoop();
    void repeatingTimerKeepsWakingIdleLoop();
    void queuedInvocationWakesIdleLoop();
    void socketActivityWakesLoop();
    void callsWakeLoopWatchingSockets();
    void callsRaceModeChanges();
    void quitWhileFirstSocketIsCreated();
    void quitWhileLoopWatchesSockets();
    void nestedPassAfterLastNotifierGone_data();
    void nestedPassAfterLastNotifierGone();
    void notifierCreatedInAboutToBlock();
    void quitSeenThroughNestedPass();
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

// QThread::quit() is an interrupt(), not a posted event: its only trace is the wake-up itself.
// Here it arrives while a call creates the loop's first socket notifier, so the pass that sees
// it hands over from the futex to poll().
void tst_LoopWakeup::quitWhileFirstSocketIsCreated() {
    EventLoopThreadRunner runner;
    QThread *const thread = runner.thread();
    QSemaphore inCall;
    QSemaphore quitSent;
    {
        JoiningThread caller([&] {
            runner.run([&]() -> QCoro::Task<> {
                auto *server = new QTcpServer(runner.context());
                server->listen(QHostAddress::LocalHost);
                inCall.release();
                quitSent.acquire();
                co_return;
            });
        });
        QVERIFY(inCall.tryAcquire(1, bound));
        thread->quit();
        quitSent.release();
    }
    QVERIFY2(thread->wait(bound), "QThread::quit() did not reach the loop");
}

void tst_LoopWakeup::quitWhileLoopWatchesSockets() {
    EventLoopThreadRunner runner;
    QSemaphore activity;
    QPointer<QTcpServer> server = listenOnLoop(runner, activity);
    QVERIFY(server);
    BlockWatch watch(runner);
    QVERIFY(watch.callThenWaitUntilAsleep(runner));
    QThread *const thread = runner.thread();
    thread->quit();
    QVERIFY2(thread->wait(bound), "QThread::quit() did not reach the loop asleep in poll()");
}

void tst_LoopWakeup::nestedPassAfterLastNotifierGone_data() {
    QTest::addColumn<Nested>("nested");
    QTest::newRow("QCoreApplication::processEvents()") << Nested::ProcessEvents;
    QTest::newRow("QEventLoop::exec()") << Nested::EventLoop;
}

// The loop sleeps in poll(); a call removes the last socket notifier (nothing is posted) and
// then runs a nested pass. Back in the outer poll(), later calls must still wake it.
void tst_LoopWakeup::nestedPassAfterLastNotifierGone() {
    QFETCH(Nested, nested);
    SocketPair pair; // outlives the runner and so the notifier
    QVERIFY(pair.isValid());
    EventLoopThreadRunner runner;
    QPointer<QSocketNotifier> notifier =
        runner.run([&]() -> QCoro::Task<QPointer<QSocketNotifier>> {
            co_return new QSocketNotifier(pair.fds[0], QSocketNotifier::Read, runner.context());
        });
    QVERIFY(notifier);
    BlockWatch watch(runner);
    QVERIFY(watch.callThenWaitUntilAsleep(runner)); // in poll()

    const int seen = runner.run([&]() -> QCoro::Task<int> {
        notifier->setEnabled(false); // the last notifier: unregistered, nothing posted
        if (nested == Nested::ProcessEvents) {
            QCoreApplication::processEvents();
        } else {
            QEventLoop loop;
            QTimer::singleShot(10ms, &loop, &QEventLoop::quit);
            loop.exec();
        }
        co_return watch.blocks();
    });
    QVERIFY(watch.waitForBlockAfter(seen)); // the outer pass is asleep again
    QCOMPARE(echoCalls(runner, 10), 10);
}

// A socket notifier created by an aboutToBlock() handler, after the pass looked for notifiers:
// the loop must watch its socket before it goes to sleep for good.
void tst_LoopWakeup::notifierCreatedInAboutToBlock() {
    EventLoopThreadRunner runner;
    QSemaphore listening;
    QSemaphore accepted;
    std::atomic<quint16> port{0};
    runner.run([&]() -> QCoro::Task<> {
        auto *dispatcher = QAbstractEventDispatcher::instance(QThread::currentThread());
        auto *once = new QObject(runner.context());
        QObject::connect(
            dispatcher, &QAbstractEventDispatcher::aboutToBlock, once,
            [&, once] {
                auto *server = new QTcpServer(runner.context());
                QObject::connect(server, &QTcpServer::newConnection, server,
                                 [&accepted] { accepted.release(); });
                server->listen(QHostAddress::LocalHost);
                port = server->serverPort();
                delete once; // disconnects: one server only
                listening.release();
            },
            Qt::DirectConnection);
        co_return;
    });
    QVERIFY(listening.tryAcquire(1, bound));
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port.load());
    QVERIFY(client.waitForConnected(bound));
    QVERIFY2(accepted.tryAcquire(1, bound), "the new socket never woke the loop");
}

// A quit() whose wake-up a nested pass consumes (and whose interrupt flag it clears) before the
// outer pass would sleep: the outer pass must return to QEventLoop, which then sees its exit flag.
void tst_LoopWakeup::quitSeenThroughNestedPass() {
    EventLoopThreadRunner runner;
    QThread *const thread = runner.thread();
    runner.run([]() -> QCoro::Task<> {
        QThread::currentThread()->quit();
        QCoreApplication::processEvents();
        co_return;
    });
    QVERIFY2(thread->wait(bound), "the quit() was lost in the nested pass");
}

QTEST_GUILESS_MAIN(tst_LoopWakeup)
#include "tst_loop_wakeup.moc"
