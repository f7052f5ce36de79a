// SPDX-License-Identifier: MIT
// Helpers of the lifecycle tests (gather, close, global runner, fork). Test code only.
#pragma once

#include <QCoro/QCoroTask>

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QMessageLogContext>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QtGlobal>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#define PALITRA_TEST_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PALITRA_TEST_LSAN 1
#endif
#endif
#if defined(PALITRA_TEST_LSAN)
#include <sanitizer/lsan_interface.h>
#endif

namespace palitra::test {

using Clock = std::chrono::steady_clock;

//! Milliseconds since \a start.
inline qint64 msSince(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

//! Number of threads of this process, from /proc/self/status (-1 when unavailable).
inline int processThreadCount() {
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray text = status.readAll();
    const QByteArray key = QByteArrayLiteral("\nThreads:");
    const qsizetype at = text.indexOf(key);
    if (at < 0)
        return -1;
    const qsizetype end = text.indexOf('\n', at + key.size());
    return text.mid(at + key.size(), end - at - key.size()).trimmed().toInt();
}

//! Number of threads of this process whose OS name (/proc/self/task/*/comm, at most 15
//! characters) is \a name: tells exactly whether a runner with that RunnerOptions::threadName
//! has a live thread, whatever other threads come and go.
inline int threadsNamed(const QByteArray &name) {
    int n = 0;
    const QDir tasks(QStringLiteral("/proc/self/task"));
    const QStringList ids = tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &id : ids) {
        QFile comm(tasks.filePath(id + QStringLiteral("/comm")));
        if (comm.open(QIODevice::ReadOnly) && comm.readAll().trimmed() == name.left(15))
            ++n;
    }
    return n;
}

//! A small integer unique to the OS thread that calls it (never reused, unlike pthread ids or
//! QThread addresses): tells "a new thread" from "the same thread".
inline int threadSerial() {
    static std::atomic<int> next{1};
    thread_local const int serial = next.fetch_add(1);
    return serial;
}

/*!
 * Collects the messages of logging category "palitra" (from any thread) while it lives, and
 * forwards every other message to the handler that was installed before.
 */
class PalitraMessages {
public:
    PalitraMessages() {
        instance() = this;
        m_previous = qInstallMessageHandler(&PalitraMessages::handle);
    }
    ~PalitraMessages() {
        qInstallMessageHandler(m_previous);
        const std::lock_guard lock(mutex());
        instance() = nullptr;
    }
    PalitraMessages(const PalitraMessages &) = delete;
    PalitraMessages &operator=(const PalitraMessages &) = delete;

    //! Warnings of category "palitra" seen so far.
    QStringList warnings() const {
        const std::lock_guard lock(mutex());
        return m_warnings;
    }
    //! Debug messages of category "palitra" seen so far (only when enabled by a filter rule).
    QStringList debugs() const {
        const std::lock_guard lock(mutex());
        return m_debugs;
    }
    //! How many "palitra" warnings contain \a needle.
    int countContaining(const QString &needle) const {
        const std::lock_guard lock(mutex());
        int n = 0;
        for (const QString &w : m_warnings)
            n += w.contains(needle) ? 1 : 0;
        return n;
    }

private:
    static PalitraMessages *&instance() {
        static PalitraMessages *current = nullptr;
        return current;
    }
    static std::mutex &mutex() {
        static std::mutex m;
        return m;
    }
    static void handle(QtMsgType type, const QMessageLogContext &context, const QString &text) {
        QtMessageHandler previous = nullptr;
        {
            const std::lock_guard lock(mutex());
            PalitraMessages *self = instance();
            if (self && context.category && qstrcmp(context.category, "palitra") == 0) {
                if (type == QtWarningMsg)
                    self->m_warnings.append(text);
                else if (type == QtDebugMsg)
                    self->m_debugs.append(text);
                return;
            }
            previous = self ? self->m_previous : nullptr;
        }
        if (previous)
            previous(type, context, text);
    }

    QtMessageHandler m_previous = nullptr;
    QStringList m_warnings;
    QStringList m_debugs;
};

//! What a CountingCallable and its copies have seen.
struct CopyCounts {
    std::atomic<int> copies{0};
    std::atomic<int> moves{0};
    std::atomic<int> invoked{0};
};

//! A callable returning `QCoro::Task<int>` (its value) that counts its copies, moves and calls.
class CountingCallable {
public:
    CountingCallable(std::shared_ptr<CopyCounts> counts, int value)
        : m_counts(std::move(counts)), m_value(value) {}
    CountingCallable(const CountingCallable &o) : m_counts(o.m_counts), m_value(o.m_value) {
        ++m_counts->copies;
    }
    CountingCallable(CountingCallable &&o) noexcept : m_counts(o.m_counts), m_value(o.m_value) {
        ++m_counts->moves;
        o.m_value = -1; // a moved-from callable is visible
    }
    CountingCallable &operator=(const CountingCallable &o) {
        m_counts = o.m_counts;
        m_value = o.m_value;
        ++m_counts->copies;
        return *this;
    }
    CountingCallable &operator=(CountingCallable &&o) noexcept {
        m_counts = o.m_counts;
        m_value = o.m_value;
        ++m_counts->moves;
        o.m_value = -1;
        return *this;
    }
    ~CountingCallable() = default;

    QCoro::Task<int> operator()() const {
        ++m_counts->invoked;
        return answer(m_value);
    }
    int value() const { return m_value; }

private:
    static QCoro::Task<int> answer(int value) { co_return value; }

    std::shared_ptr<CopyCounts> m_counts;
    int m_value;
};

/*!
 * Fails the test process (abort with a message) if it is not disarmed before \a limit: a test
 * that would hang fails instead, with a message naming what hung.
 */
class Watchdog {
public:
    Watchdog(std::chrono::milliseconds limit, const char *what)
        : m_thread([this, limit, what] {
              std::unique_lock lock(m_mutex);
              if (!m_cv.wait_for(lock, limit, [this] { return m_disarmed; })) {
                  std::fprintf(stderr, "WATCHDOG: %s did not end within %lld ms\n", what,
                               static_cast<long long>(limit.count()));
                  std::fflush(stderr);
                  std::abort();
              }
          }) {}
    ~Watchdog() { disarm(); }
    Watchdog(const Watchdog &) = delete;
    Watchdog &operator=(const Watchdog &) = delete;

    void disarm() {
        {
            const std::lock_guard lock(m_mutex);
            m_disarmed = true;
        }
        m_cv.notify_all();
        if (m_thread.joinable())
            m_thread.join();
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_disarmed = false;
    std::thread m_thread; // last: starts once the members it uses exist
};

/*!
 * While it lives, allocations made by this thread are not reported as leaks by LeakSanitizer.
 * For coroutines that a test abandons on purpose (DESIGN 3.12: their frames are leaked).
 */
struct LeakOnPurpose {
#if defined(PALITRA_TEST_LSAN)
    LeakOnPurpose() {
        __lsan_disable();
    }
    ~LeakOnPurpose() {
        __lsan_enable();
    }
#else
    LeakOnPurpose() {}  // NOLINT: user-provided, so that a guard variable is never "unused"
    ~LeakOnPurpose() {} // NOLINT
#endif
    LeakOnPurpose(const LeakOnPurpose &) = delete;
    LeakOnPurpose &operator=(const LeakOnPurpose &) = delete;
};

//! A QObject with one signal: a gate that coroutines await with palitra::awaitSignal().
class Gate : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    int arrived = 0; // loop thread only
Q_SIGNALS:
    void opened();
};

} // namespace palitra::test
