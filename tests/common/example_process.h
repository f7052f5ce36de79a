// SPDX-License-Identifier: MIT
// Runs an example program as a child process, the way a user runs it. Test code only.
#pragma once

#include "environment.h"

#include <QProcess>
#include <QSignalSpy>
#include <QStringList>

namespace palitra::test {

struct ProgramRun {
    int exitCode = -1; // -1: crashed or killed by the watchdog
    QString out;
    QString err;
};

//! Runs \a program and waits for it while running this thread's event loop, so that servers
//! living on the test's thread keep answering. A watchdog kills a program that hangs.
inline ProgramRun runProgram(const QString &program, const QStringList &arguments = {}) {
    QProcess process;
    process.setProcessEnvironment(childEnvironment());
    QSignalSpy finished(&process, &QProcess::finished);
    process.start(program, arguments);
    if (!finished.wait(90'000)) {
        process.kill();
        process.waitForFinished();
    }
    ProgramRun run;
    if (process.exitStatus() == QProcess::NormalExit && finished.count() == 1)
        run.exitCode = process.exitCode();
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

} // namespace palitra::test
