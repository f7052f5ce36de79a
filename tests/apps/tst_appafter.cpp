// SPDX-License-Identifier: MIT
// DESIGN 3.15: a runner used before any application exists keeps working while a
// QCoreApplication is created, lives and is destroyed, and after it is gone. The global runner
// too: it is shut down with the application and comes back fresh on the next call.
//
// A custom main(): the first phase runs before Qt Test (and before any application), the
// application is created and destroyed by the test slots themselves.
#include "messagelog.h"
#include "testhelpers.h"

#include <palitra/palitra.h>

#include <QCoreApplication>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <QCoro/QCoroTimer>

#include <chrono>
#include <cstdio>
#include <latch>
#include <memory>

using namespace std::chrono_literals;
using palitra::test::MessageLog;
using palitra::test::timerThenValue;

namespace {

// One call through every path that needs the loop's events: a timer, a stop-aware sleep that
// is woken by a stop request (a posted call), and a queued call to the context.
bool exercise(palitra::EventLoopThreadRunner &runner) {
    if (runner.run([] { return timerThenValue(11); }) != 11)
        return false;
    try {
        runner.run(
            []() -> QCoro::Task<> { co_await palitra::sleepFor(1h, palitra::currentStopToken()); },
            30ms);
        return false;
    } catch (const palitra::TimeoutError &) {
    }
    std::latch reached(1);
    QMetaObject::invokeMethod(
        runner.context(), [&] { reached.count_down(); }, Qt::QueuedConnection);
    reached.wait();
    return true;
}

} // namespace

class tst_AppAfter : public QObject {
    Q_OBJECT

public:
    tst_AppAfter(int &argc, char **argv, std::unique_ptr<palitra::EventLoopThreadRunner> runner)
        : m_argc(argc), m_argv(argv), m_runner(std::move(runner)) {}

private Q_SLOTS:
    void initTestCase();
    void init() { MessageLog::clear(); }
    void cleanup();
    void cleanupTestCase();

    // In order: before, with and after the application
    void usedBeforeApplication();
    void createApplication();
    void worksWithApplication();
    void eventsOfTheApplicationThreadWait();
    void destroyApplication();
    void worksAfterApplication();

private:
    int &m_argc;
    char **m_argv;
    std::unique_ptr<palitra::EventLoopThreadRunner> m_runner;
    std::unique_ptr<QCoreApplication> m_app;
};

void tst_AppAfter::initTestCase() {
#if !PALITRA_USES_QT_PRIVATE
    QSKIP("palitra was built without Qt's private headers (PALITRA_USE_QT_PRIVATE=OFF): a runner "
          "does not work before an application exists, nor after it is gone");
#endif
}

void tst_AppAfter::cleanup() {
    QCOMPARE(MessageLog::containing(QStringLiteral("Cannot be used without")), QStringList());
    QCOMPARE(MessageLog::foreignWarnings(), QStringList());
}

void tst_AppAfter::cleanupTestCase() {
    m_runner->close();
    palitra::shutdownGlobalRunner();
    QVERIFY(!palitra::isRunnerAlive());
}

// ---- In order: before, with and after the application ----

void tst_AppAfter::usedBeforeApplication() {
    // main() started both runners before Qt Test ran; they still work, still without an app.
    QVERIFY(!QCoreApplication::instance());
    QVERIFY(m_runner->isRunning());
    QVERIFY(palitra::isRunnerAlive());
    QVERIFY(exercise(*m_runner));
    QCOMPARE(palitra::run([] { return timerThenValue(1); }), 1);
}

void tst_AppAfter::createApplication() {
    QThread *const loopThread = m_runner->thread();
    m_app = std::make_unique<QCoreApplication>(m_argc, m_argv);
    QCOMPARE(QCoreApplication::instance(), m_app.get());
    // The runner was not restarted by the application's arrival.
    QCOMPARE(m_runner->thread(), loopThread);
    QVERIFY(m_runner->isRunning());
}

void tst_AppAfter::worksWithApplication() {
    QVERIFY(exercise(*m_runner));
    QThread *ranOn = nullptr;
    QCOMPARE(palitra::run([&]() -> QCoro::Task<int> {
                 ranOn = QThread::currentThread();
                 co_return co_await timerThenValue(2);
             }),
             2);
    QVERIFY(ranOn != QCoreApplication::instance()->thread());
    const auto [a, b] =
        palitra::gather([] { return timerThenValue(3); }, [] { return timerThenValue(4); }, 30s);
    QCOMPARE(a + b, 7);
}

void tst_AppAfter::eventsOfTheApplicationThreadWait() {
    // The application's thread is blocked in run(): its timer cannot fire meanwhile.
    bool fired = false;
    QTimer::singleShot(0, m_app.get(), [&] { fired = true; });
    m_runner->run(
        []() -> QCoro::Task<> { co_await palitra::sleepFor(50ms, palitra::currentStopToken()); });
    QVERIFY(!fired);
    QTRY_VERIFY(fired);
}

void tst_AppAfter::destroyApplication() {
    QVERIFY(palitra::isRunnerAlive());
    m_app.reset();
    QVERIFY(!QCoreApplication::instance());
    // The global runner is shut down with the application (its post routine), also when it was
    // created before the application existed; the explicit runner is not.
    QVERIFY(!palitra::isRunnerAlive());
    QVERIFY(m_runner->isRunning());
}

void tst_AppAfter::worksAfterApplication() {
    QVERIFY(exercise(*m_runner));
    QCOMPARE(palitra::run([] { return timerThenValue(8); }), 8);
    QVERIFY(palitra::isRunnerAlive());
}

int main(int argc, char **argv) {
    MessageLog::install();
    // Phase one, before any application: an explicit runner and the global one, both started.
    auto runner = std::make_unique<palitra::EventLoopThreadRunner>();
#if PALITRA_USES_QT_PRIVATE // else initTestCase() skips
    if (!exercise(*runner) || palitra::run([] { return timerThenValue(9); }) != 9) {
        std::fputs("FAIL: the runners did not work before the application existed\n", stderr);
        return 1;
    }
#endif
    tst_AppAfter tc(argc, argv, std::move(runner));
    return QTest::qExec(&tc, argc, argv);
}

#include "tst_appafter.moc"
