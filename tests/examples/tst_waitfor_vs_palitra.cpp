// SPDX-License-Identifier: MIT
// The before/after example: QCoro::waitFor runs the caller's timer events and posted calls
// inside the wait; palitra::run runs none of them.
#include "example_process.h"

#include <QRegularExpression>
#include <QTest>

using palitra::test::ProgramRun;
using palitra::test::runProgram;

class tst_WaitforVsPalitra : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void countsWhatRanDuringEachWait();
};

void tst_WaitforVsPalitra::countsWhatRanDuringEachWait() {
    const ProgramRun run = runProgram(QStringLiteral(PALITRA_WAITFOR_VS_PALITRA));
    QCOMPARE(run.exitCode, 0);
    QCOMPARE(run.err, QString());

    const QRegularExpression line(QStringLiteral(
        "^(\\S+) +-> (\\d+); during the wait the caller's thread ran (\\d+) timer events and "
        "(\\d+) posted calls$"));
    const QStringList lines = run.out.trimmed().split(QLatin1Char('\n'));
    QCOMPARE(lines.size(), 2);
    const QRegularExpressionMatch waitFor = line.match(lines.at(0));
    const QRegularExpressionMatch palitra = line.match(lines.at(1));
    QVERIFY2(waitFor.hasMatch() && palitra.hasMatch(), qPrintable(run.out));

    QCOMPARE(waitFor.captured(1), QStringLiteral("QCoro::waitFor"));
    QCOMPARE(waitFor.captured(2).toInt(), 7);
    // The 5 ms ticker was started before the 100 ms work timer, so the nested loop that delivers
    // the latter has always delivered the former first; the three posted calls all ran.
    QVERIFY(waitFor.captured(3).toInt() >= 1);
    QCOMPARE(waitFor.captured(4).toInt(), 3);

    QCOMPARE(palitra.captured(1), QStringLiteral("palitra::run"));
    QCOMPARE(palitra.captured(2).toInt(), 7);
    QCOMPARE(palitra.captured(3).toInt(), 0);
    QCOMPARE(palitra.captured(4).toInt(), 0);
}

QTEST_GUILESS_MAIN(tst_WaitforVsPalitra)
#include "tst_waitfor_vs_palitra.moc"
