// SPDX-License-Identifier: MIT
//
// RunnerStats' counters and the loop-step clock (runner_stats_p.h).
#include "runner_stats_p.h"

#include "logging_p.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace palitra::detail {

void StatsCounters::ended(CallStatus status, bool failed) noexcept {
    switch (status) {
    case CallStatus::Finished:
        (failed ? m_failed : m_completed).fetch_add(1, std::memory_order_relaxed);
        break;
    case CallStatus::TimedOut:
        m_timedOut.fetch_add(1, std::memory_order_relaxed);
        break;
    case CallStatus::Closed:
        m_closedOut.fetch_add(1, std::memory_order_relaxed);
        break;
    case CallStatus::Cancelled:
        m_cancelled.fetch_add(1, std::memory_order_relaxed);
        break;
    case CallStatus::Pending:
    case CallStatus::Parked:
        return; // not an end: the call stays in flight
    }
    // Release: a reader that sees the call out of flight sees its end counted (read()).
    m_inFlight.fetch_sub(1, std::memory_order_release);
}

RunnerStats StatsCounters::read() const noexcept {
    RunnerStats stats;
    // Each end is counted before inFlight drops (release), so read inFlight first (acquire): a
    // call that ends meanwhile may then be seen twice, in flight and ended, but never missed.
    stats.inFlight = std::max<std::int64_t>(0, m_inFlight.load(std::memory_order_acquire));
    stats.completed = m_completed.load(std::memory_order_relaxed);
    stats.failed = m_failed.load(std::memory_order_relaxed);
    stats.timedOut = m_timedOut.load(std::memory_order_relaxed);
    stats.closedOut = m_closedOut.load(std::memory_order_relaxed);
    stats.cancelled = m_cancelled.load(std::memory_order_relaxed);
    stats.abandoned = m_abandoned.load(std::memory_order_relaxed);
    return stats;
}

std::chrono::nanoseconds LoopSteps::longest() const noexcept {
    // The open step first (acquire, see close()): a step that closes meanwhile is then in
    // m_longest, so the value never goes down between two looks.
    const std::int64_t start = m_start.load(std::memory_order_acquire);
    std::int64_t longest = m_longest.load(std::memory_order_relaxed);
    if (start != 0)
        longest = std::max(longest, nowNs() - start);
    return std::chrono::nanoseconds(longest);
}

void LoopSteps::checkRunning() noexcept {
    const std::int64_t start = m_start.load(std::memory_order_relaxed);
    if (start == 0 || m_threshold == 0)
        return;
    const std::int64_t length = nowNs() - start;
    if (length > m_threshold)
        reportStall(start, length, /*stillRunning=*/true);
}

void LoopSteps::reportStall(std::int64_t start, std::int64_t length, bool stillRunning) noexcept {
    if (m_warnedStart.exchange(start, std::memory_order_relaxed) == start)
        return; // this step has been reported already
    try {
        const char *label = m_label.load(std::memory_order_relaxed);
        const QString what =
            label ? QStringLiteral("while starting a call of %1").arg(callableTypeName(label))
                  : QStringLiteral("outside the start of any call (a resumed coroutine, a slot, "
                                   "a timer or an event handler on the loop thread)");
        qCWarning(lcPalitra,
                  "palitra: a loop step of runner %s %s %.1f ms (stallWarning is %.1f ms), %s; "
                  "nothing else runs on the loop thread meanwhile. Move synchronous work off the "
                  "loop, or co_await it.",
                  qUtf8Printable(m_name), stillRunning ? "has been running for" : "ran for",
                  double(length) / 1e6, double(m_threshold) / 1e6, qUtf8Printable(what));
    } catch (...) {
        // Out of memory while formatting: a diagnostic is not worth failing the loop for.
    }
}

QString callableTypeName(const char *typeidName) {
    int status = 0;
    const std::unique_ptr<char, void (*)(void *)> demangled(
        abi::__cxa_demangle(typeidName, nullptr, nullptr, &status), std::free);
    QString name = QString::fromUtf8(status == 0 && demangled ? demangled.get() : typeidName);
    // palitra's own call template says nothing to a user: keep the callable types inside it.
    const QString own = QStringLiteral("palitra::detail::");
    if (name.startsWith(own) && name.endsWith(QLatin1Char('>'))) {
        const qsizetype open = name.indexOf(QLatin1Char('<'));
        if (open > 0)
            name = name.mid(open + 1, name.size() - open - 2);
    }
    return name;
}

} // namespace palitra::detail
