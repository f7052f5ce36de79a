// SPDX-License-Identifier: MIT
// Ending a process with palitra alive (docs/SEMANTICS.md#exit). Each row runs a child program
// (exit_child, exit_child_static) that leaves a runner alive, often with a coroutine suspended
// forever, and then returns from main() or calls exit(). The child must end with exactly its
// exit code, by a normal exit, without Qt's fatal "QThread: Destroyed while thread is still
// running". A coroutine left suspended forever is reported by palitra's qCWarning once the grace
// period is over (so the exit waited for it, then went on); a well-behaved one is not. A child
// that never ends is killed after a minute and fails as a hang.
#include "palitratest.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTest>

#include <chrono>

using namespace std::chrono_literals;

class tst_Exit : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void processEnds_data();
    void processEnds();
};

void tst_Exit::processEnds_data() {
    QTest::addColumn<QString>("program");
    QTest::addColumn<QString>("mode");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<bool>("abandons");      // a coroutine is suspended forever at exit
    QTest::addColumn<QString>("runnerName"); // whose abandoned coroutine is reported

    const QString child = QStringLiteral(PALITRA_EXIT_CHILD);
    const QString staticChild = QStringLiteral(PALITRA_EXIT_CHILD_STATIC);
    const QString global = QStringLiteral("palitra-global");

    // The global runner, no application.
    QTest::newRow("suspended, return") << child << "suspended-return" << 3 << true << global;
    QTest::newRow("suspended, exit()") << child << "suspended-exit" << 4 << true << global;
    QTest::newRow("blocked caller, return")
        << child << "blocked-caller-return" << 5 << true << global;
    QTest::newRow("cooperative blocked caller, exit()")
        << child << "cooperative-caller-exit" << 6 << false << global;
    QTest::newRow("idle, return") << child << "idle-return" << 7 << false << global;
    QTest::newRow("idle, exit()") << child << "idle-exit" << 8 << false << global;
    QTest::newRow("exit() on the loop thread")
        << child << "exit-on-loop-thread" << 9 << false << global;
    QTest::newRow("exit() in a slot on the loop thread")
        << child << "exit-from-slot-on-loop-thread" << 14 << false << global;
    // The global runner beside a QCoreApplication.
    QTest::newRow("app, suspended, return") << child << "app-return" << 10 << true << global;
    QTest::newRow("app, suspended, exec() returns") << child << "app-exec" << 11 << true << global;
    QTest::newRow("app, suspended, exit()") << child << "app-exit" << 12 << true << global;
    QTest::newRow("app, idle, return") << child << "app-idle-return" << 13 << false << global;
    // An explicit runner with a 300 ms grace period that is a static object.
    QTest::newRow("namespace-scope static, return")
        << staticChild << "global-return" << 20 << true << "static-runner";
    QTest::newRow("namespace-scope static, exit()")
        << staticChild << "global-exit" << 21 << true << "static-runner";
    QTest::newRow("function-local static, return")
        << staticChild << "local-return" << 22 << true << "local-static-runner";
    QTest::newRow("function-local static, exit()")
        << staticChild << "local-exit" << 23 << true << "local-static-runner";
    QTest::newRow("exit() in a stop callback that close() runs")
        << staticChild << "local-exit-in-stop-callback" << 24 << true << "local-static-runner";
}

void tst_Exit::processEnds() {
    QFETCH(QString, program);
    QFETCH(QString, mode);
    QFETCH(int, exitCode);
    QFETCH(bool, abandons);
    QFETCH(QString, runnerName);
#if !PALITRA_USES_QT_PRIVATE
    if (!mode.startsWith(QLatin1String("app-")))
        QSKIP("palitra was built without Qt's private headers (PALITRA_USE_QT_PRIVATE=OFF): "
              "a runner needs a QCoreApplication");
#endif

    QProcess child;
    child.setProcessEnvironment(palitra::test::childEnvironment());
    QElapsedTimer elapsed;
    elapsed.start();
    child.start(program, {mode, QString::number(exitCode)});
    QVERIFY2(child.waitForStarted(30'000), qPrintable(child.errorString()));
    // A watchdog: a hang is what this catches, not a slow machine.
    const bool finished = child.waitForFinished(60'000);
    const qint64 tookMs = elapsed.elapsed();
    if (!finished) {
        child.kill();
        child.waitForFinished(10'000);
    }
    const QString out = QString::fromLocal8Bit(child.readAllStandardOutput());
    const QString err = QString::fromLocal8Bit(child.readAllStandardError());
    const QString report = QStringLiteral("took %1 ms\n--- stdout ---\n%2--- stderr ---\n%3")
                               .arg(tookMs)
                               .arg(out, err);

    QVERIFY2(finished, qPrintable(QStringLiteral("the child hung; ") + report));
    QVERIFY2(child.exitStatus() == QProcess::NormalExit,
             qPrintable(QStringLiteral("the child crashed; ") + report));
    QVERIFY2(out.contains(QLatin1String("child: leaving main")) ||
                 out.contains(QLatin1String("child: calling exit")),
             qPrintable(QStringLiteral("the child did not get to the end; ") + report));
    QVERIFY2(
        child.exitCode() == exitCode,
        qPrintable(
            QStringLiteral("exit code %1 instead of %2; ").arg(child.exitCode()).arg(exitCode) +
            report));
    QVERIFY2(!err.contains(QLatin1String("QThread: Destroyed while thread is still running")),
             qPrintable(report));
    QVERIFY2(!err.contains(QLatin1String("QEventLoop: Cannot be used")), qPrintable(report));
    QVERIFY2(!err.contains(QLatin1String("did not end within the grace period")),
             qPrintable(report));
    QVERIFY2(!err.contains(QLatin1String("Sanitizer")), qPrintable(report));

    // palitra's qCWarning (category "palitra") reports a coroutine suspended forever, naming the
    // runner; a coroutine that stopped when asked is not reported.
    const bool reported = err.contains(QLatin1String("abandoned"));
    QVERIFY2(reported == abandons, qPrintable(report));
    if (abandons)
        QVERIFY2(err.contains(runnerName), qPrintable(report));
}

QTEST_GUILESS_MAIN(tst_Exit)

#include "tst_exit.moc"
