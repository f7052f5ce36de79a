// SPDX-License-Identifier: MIT
// What tests read from, and hand to, the environment. Test code only.
#pragma once

#include <QProcessEnvironment>
#include <QString>
#include <QtGlobal>

namespace palitra::test {

//! An integer from the environment (a test's length, seed or thread count), or \a fallback when
//! unset or not a number.
inline long long envNumber(const char *name, long long fallback) {
    bool ok = false;
    const long long v = qEnvironmentVariable(name).toLongLong(&ok);
    return ok ? v : fallback;
}

//! The environment for a child program that ends the process its own way: the parent's logging
//! rules must not hide (or make fatal) what the child prints, and coroutine frames abandoned at
//! close (and main()'s locals never destroyed after exit()) leak on purpose, which under ASan must
//! not change the exit code (use-after-free and the like still report).
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
