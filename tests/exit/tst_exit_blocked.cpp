// SPDX-License-Identifier: MIT
// The exit rule: while the process exits (return from main, exit() on any thread, the
// ~QCoreApplication that is part of it), a thread blocked in run() stays blocked until the process
// ends: it never wakes, never throws, and the process ends with its own exit code (also when
// exit() runs on the loop thread that the blocked call waits for). Every
// combination of how it ends, which thread is blocked, whether the coroutine honours stop and
// whether there is an application is one exit_blocked_child process. See
// docs/SEMANTICS.md#exit.
#include "palitratest.h"

#include <palitra/version.h>

#include <QProcess>
#include <QTest>

namespace {

struct Combination {
    const char *end;
    const char *blocked;
};

// main() cannot both be blocked and return or call exit() itself.
constexpr Combination combinations[] = {{"return", "worker"},      {"exit", "worker"},
                                        {"worker-exit", "worker"}, {"worker-exit", "main"},
                                        {"loop-exit", "worker"},   {"loop-exit", "main"}};

} // namespace

class tst_ExitBlocked : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void endsWithItsOwnCode_data();
    void endsWithItsOwnCode();
};

void tst_ExitBlocked::endsWithItsOwnCode_data() {
    QTest::addColumn<QStringList>("arguments");
    for (const Combination &c : combinations) {
        for (const char *stop : {"aware", "ignoring"}) {
            for (const char *app : {"app", "none"}) {
                const QStringList arguments{QString::fromLatin1(c.end),
                                            QString::fromLatin1(c.blocked),
                                            QString::fromLatin1(stop), QString::fromLatin1(app)};
                QTest::newRow(qPrintable(arguments.join(QLatin1Char('/')))) << arguments;
            }
        }
    }
}

void tst_ExitBlocked::endsWithItsOwnCode() {
    QFETCH(QStringList, arguments);
#if !PALITRA_USES_QT_PRIVATE
    if (arguments.last() == QLatin1String("none"))
        QSKIP("palitra was built without Qt's private headers (PALITRA_USE_QT_PRIVATE=OFF): "
              "a runner needs a QCoreApplication");
#endif
    QProcess child;
    child.setProcessEnvironment(palitra::test::childEnvironment());
    child.start(QStringLiteral(PALITRA_EXIT_BLOCKED_CHILD), arguments);
    QVERIFY2(child.waitForStarted(), qPrintable(child.errorString()));
    // A watchdog, not a bound on the duration: a child still running by then hangs.
    if (!child.waitForFinished(60'000)) {
        child.kill();
        child.waitForFinished();
        QFAIL("the child did not end: the exit hung");
    }
    const QString err = QString::fromLocal8Bit(child.readAllStandardError());
    QVERIFY2(!err.contains(QLatin1String("child: woke")), qPrintable(err));
    QVERIFY2(!err.contains(QLatin1String("terminate called")), qPrintable(err));
    QVERIFY2(!err.contains(QLatin1String("QThread: Destroyed")), qPrintable(err));
    // A sanitizer that reports and then exits with the expected code must still fail the row.
    for (const char *report :
         {"AddressSanitizer", "ThreadSanitizer", "LeakSanitizer", "runtime error:"}) {
        QVERIFY2(!err.contains(QLatin1String(report)), qPrintable(err));
    }
    // The process ends within the grace period: palitra says so when a loop thread outlives it,
    // which only the loop thread that is itself running exit() may rightly do.
    if (arguments.first() != QLatin1String("loop-exit"))
        QVERIFY2(!err.contains(QLatin1String("did not end within the grace period")),
                 qPrintable(err));
    QCOMPARE(child.exitStatus(), QProcess::NormalExit);
    QCOMPARE(child.exitCode(), 3);
}

QTEST_GUILESS_MAIN(tst_ExitBlocked)
#include "tst_exit_blocked.moc"
