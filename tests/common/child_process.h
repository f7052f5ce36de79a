// SPDX-License-Identifier: MIT
// For tests that run a child program which ends the process its own way. Test code only.
#pragma once

#include <QProcessEnvironment>
#include <QString>

namespace palitra::test {

//! The environment for such a child: the parent's logging rules must not hide (or make fatal)
//! what the child prints, and coroutine frames abandoned at close (and main()'s locals never
//! destroyed after exit()) leak on purpose, which under ASan must not change the exit code
//! (use-after-free and the like still report).
inline QProcessEnvironment childEnvironment() {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("QT_LOGGING_RULES"));
    env.remove(QStringLiteral("QT_FATAL_WARNINGS"));
    env.remove(QStringLiteral("QT_FATAL_CRITICALS"));
    QString asan = env.value(QStringLiteral("ASAN_OPTIONS"));
    if (!asan.isEmpty())
        asan += QLatin1Char(':');
    env.insert(QStringLiteral("ASAN_OPTIONS"), asan + QStringLiteral("detect_leaks=0"));
    return env;
}

} // namespace palitra::test
