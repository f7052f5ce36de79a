// SPDX-License-Identifier: MIT
//
// RunnerOptions::stallWarning: the watchdog thread (stall_watchdog_p.h).
#include "stall_watchdog_p.h"

#include "logging_p.h"
#include "runner_stats_p.h"

#include <QStringList>
#include <QThread>

#include <algorithm>
#include <system_error>

namespace palitra::detail {

StallWatchdog::StallWatchdog(LoopSteps &steps, std::chrono::nanoseconds threshold,
                             QString runnerName)
    : m_steps(steps), m_threshold(threshold),
      m_period(std::max<std::chrono::nanoseconds>(threshold / 4, std::chrono::milliseconds(1))),
      m_name(std::move(runnerName)) {}

StallWatchdog::~StallWatchdog() {
    stop();
}

void StallWatchdog::start() noexcept {
    const std::lock_guard lock(m_mutex);
    if (m_thread.joinable())
        return;
    m_stop = false;
    try {
        m_thread = std::thread([this] { watch(); });
    } catch (const std::system_error &e) {
        qCWarning(lcPalitra, "palitra: runner %s could not start its stallWarning watchdog: %s",
                  qUtf8Printable(m_name), e.what());
    }
}

void StallWatchdog::stop() noexcept {
    std::thread thread;
    {
        const std::lock_guard lock(m_mutex);
        m_stop = true;
        thread = std::move(m_thread);
    }
    m_wake.notify_all();
    if (thread.joinable())
        thread.join();
}

void StallWatchdog::add(Caller &caller) noexcept {
    const std::lock_guard lock(m_mutex);
    caller.next = m_callers;
    if (m_callers)
        m_callers->prev = &caller;
    m_callers = &caller;
}

void StallWatchdog::remove(Caller &caller) noexcept {
    const std::lock_guard lock(m_mutex);
    if (caller.prev)
        caller.prev->next = caller.next;
    else
        m_callers = caller.next;
    if (caller.next)
        caller.next->prev = caller.prev;
}

void StallWatchdog::checkCallers(Clock::time_point now, QStringList &out) {
    for (Caller *caller = m_callers; caller; caller = caller->next) {
        const auto blocked = now - caller->since;
        if (caller->warned || blocked <= m_threshold)
            continue;
        caller->warned = true;
        QString thread = caller->threadName;
        if (thread.isEmpty()) {
            // The caller is blocked in its wait, so it still exists: its OS name can be read.
            thread = QString::fromUtf8(osThreadName(caller->thread));
        }
        out.append(QStringLiteral("palitra: a caller on thread \"%1\" (tid %2) has been blocked "
                                  "for %3 ms (stallWarning is %4 ms) in a call of %5 on runner %6.")
                       .arg(thread)
                       .arg(caller->tid)
                       .arg(double(blocked.count()) / 1e6, 0, 'f', 1)
                       .arg(double(m_threshold.count()) / 1e6, 0, 'f', 1)
                       .arg(callableTypeName(caller->callType), m_name));
    }
}

void StallWatchdog::watch() {
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
        m_wake.wait_for(lock, m_period);
        if (m_stop)
            break;
        QStringList warnings;
        try {
            checkCallers(Clock::now(), warnings);
        } catch (...) {
            // Out of memory while formatting: skip this look.
        }
        lock.unlock();
        // Outside the lock: a message handler may be slow, and callers register under it.
        for (const QString &warning : std::as_const(warnings))
            qCWarning(lcPalitra).noquote() << warning;
        m_steps.checkRunning();
        lock.lock();
    }
}

WatchedCaller::WatchedCaller(StallWatchdog *watchdog, const char *callType) noexcept
    : m_watchdog(watchdog) {
    if (!m_watchdog)
        return;
    m_caller.since = StallWatchdog::Clock::now();
    m_caller.callType = callType;
    m_caller.thread = pthread_self();
    m_caller.tid = currentThreadId();
    try {
        m_caller.threadName = QThread::currentThread()->objectName();
    } catch (...) {
        // Named by its OS name instead.
    }
    m_watchdog->add(m_caller);
}

WatchedCaller::~WatchedCaller() {
    if (m_watchdog)
        m_watchdog->remove(m_caller);
}

} // namespace palitra::detail
