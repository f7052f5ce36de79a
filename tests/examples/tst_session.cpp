// SPDX-License-Identifier: MIT
// The session example: one TCP connection, opened by the first call, used by the next ones and
// closed by the last.
#include "example_process.h"

#include <QTest>

using palitra::test::ProgramRun;
using palitra::test::runProgram;

class tst_Session : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void oneConnectionAcrossCalls();
};

void tst_Session::oneConnectionAcrossCalls() {
    const ProgramRun run = runProgram(QStringLiteral(PALITRA_SESSION));
    QCOMPARE(run.exitCode, 0);
    QCOMPARE(run.err, QString());
    // The server numbers connections and each connection's requests: the same connection
    // answered all three, in order.
    QCOMPARE(run.out, QStringLiteral("call 1: connected\n"
                                     "call 2: hello -> connection 1, request 1: HELLO\n"
                                     "call 3: palitra -> connection 1, request 2: PALITRA\n"
                                     "call 4: goodbye -> connection 1, request 3: GOODBYE\n"
                                     "call 5: closed\n"
                                     "the server accepted 1 TCP connection(s)\n"));
}

QTEST_GUILESS_MAIN(tst_Session)
#include "tst_session.moc"
