// SPDX-License-Identifier: MIT
// Threads in tests: one that always joins, ways to tell threads apart, and running on one CPU.
// Test code only.
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QString>
#include <QStringList>

#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include <sched.h>

namespace palitra::test {

using Clock = std::chrono::steady_clock;

//! Milliseconds since \a start on the steady clock. For reports and lower bounds only: no test
//! checks that something took less than a duration.
inline std::chrono::milliseconds elapsedSince(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

//! A std::thread that joins in its destructor, so a failing QVERIFY never leaves it running.
class JoiningThread {
public:
    template<typename F>
    explicit JoiningThread(F &&f) : m_thread(std::forward<F>(f)) {}
    ~JoiningThread() {
        if (m_thread.joinable())
            m_thread.join();
    }
    JoiningThread(JoiningThread &&) = default;
    void join() { m_thread.join(); }

private:
    std::thread m_thread;
};

/*!
 * Runs this thread, and every thread it starts from then on (a runner's loop thread included),
 * on the first CPU it may use, until destroyed; then this thread's affinity is restored (threads
 * started meanwhile keep the one CPU). isPinned() says whether it worked.
 */
class OneCpu {
public:
    OneCpu() {
        CPU_ZERO(&m_saved);
        if (sched_getaffinity(0, sizeof m_saved, &m_saved) != 0)
            return;
        int first = 0;
        while (first < CPU_SETSIZE && !CPU_ISSET(first, &m_saved))
            ++first;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(first, &one);
        m_pinned = first < CPU_SETSIZE && sched_setaffinity(0, sizeof one, &one) == 0;
        m_cpu = first;
    }
    ~OneCpu() {
        if (m_pinned)
            sched_setaffinity(0, sizeof m_saved, &m_saved);
    }
    OneCpu(const OneCpu &) = delete;
    OneCpu &operator=(const OneCpu &) = delete;

    bool isPinned() const { return m_pinned; }
    //! The CPU pinned to.
    int cpu() const { return m_cpu; }

private:
    cpu_set_t m_saved;
    bool m_pinned = false;
    int m_cpu = -1;
};

//! A small integer unique to the OS thread that calls it (never reused, unlike pthread ids or
//! QThread addresses): tells "a new thread" from "the same thread".
inline int threadSerial() {
    static std::atomic<int> next{1};
    thread_local const int serial = next.fetch_add(1);
    return serial;
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

} // namespace palitra::test
