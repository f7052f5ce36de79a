// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QLoggingCategory>

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace palitra::detail {
// "palitra": lifecycle at debug level (off by default), abandoned coroutines and misuse at
// warning level. Enable the debug output with QT_LOGGING_RULES="palitra.debug=true".
Q_DECLARE_LOGGING_CATEGORY(lcPalitra)

//! The OS name of \a thread (what `top -H` and a debugger show), or empty. The thread must
//! still exist. For warnings about a thread that has no Qt objectName.
inline QByteArray osThreadName(pthread_t thread) {
    char name[32] = {}; // the kernel's limit is 16 bytes
    return pthread_getname_np(thread, name, sizeof name) == 0 ? QByteArray(name) : QByteArray();
}

//! This thread's kernel id, as warnings print it. Read once per thread: a system call each
//! time would be most of what a watched call costs.
inline long currentThreadId() noexcept {
    thread_local const long tid = static_cast<long>(syscall(SYS_gettid));
    return tid;
}
} // namespace palitra::detail
