// SPDX-License-Identifier: MIT
#pragma once

#include <palitra/detail/completion.h>
#include <palitra/runner.h>

#include <QString>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace palitra::detail {

/*!
 * The counters behind RunnerStats. Relaxed atomics, each changed where a call ends for its
 * waiter: a blocked caller counts its own end, a QFuture's end is counted by whoever won its
 * Completion, before the future finishes (so that whoever sees it finished sees the count).
 */
class alignas(64) StatsCounters {
public:
    //! A call is about to be queued; refused() undoes it if queueing failed.
    void accepted() noexcept { m_inFlight.fetch_add(1, std::memory_order_relaxed); }
    void refused() noexcept { m_inFlight.fetch_sub(1, std::memory_order_relaxed); }
    //! An accepted call ended for its waiter as \a status says (for Finished, \a failed tells
    //! a coroutine's exception from a value).
    void ended(CallStatus status, bool failed) noexcept;
    //! \a coroutines were abandoned when the loop ended.
    void abandoned(int coroutines) noexcept {
        m_abandoned.fetch_add(coroutines, std::memory_order_relaxed);
    }
    //! The counts (without longestStall).
    RunnerStats read() const noexcept;

private:
    std::atomic<std::int64_t> m_inFlight{0};
    std::atomic<std::int64_t> m_completed{0};
    std::atomic<std::int64_t> m_failed{0};
    std::atomic<std::int64_t> m_timedOut{0};
    std::atomic<std::int64_t> m_closedOut{0};
    std::atomic<std::int64_t> m_cancelled{0};
    std::atomic<std::int64_t> m_abandoned{0};
};

/*!
 * The loop thread's clock of loop steps: the dispatcher opens a step before it hands a batch of
 * events to Qt (the posted events of one pass, the timers of one pass) and closes it after.
 * A pass nested in a step (user code calling processEvents() or running a QEventLoop) pauses the
 * outer step: the loop is handling events again, so that time is no stall. Owned by the runner,
 * so that a watchdog thread may read it for as long as the runner exists.
 *
 * Cost per step: two steady_clock reads and a few relaxed atomic stores on the loop thread.
 */
class alignas(64) LoopSteps {
public:
    using Clock = std::chrono::steady_clock;

    //! \a stallWarning (zero or less: off) is the step length that is reported as a stall
    //! of runner \a name.
    LoopSteps(std::chrono::nanoseconds stallWarning, QString name)
        : m_threshold(stallWarning > std::chrono::nanoseconds::zero() ? stallWarning.count() : 0),
          m_name(std::move(name)) {}

    //! Loop thread: a step begins.
    void begin() noexcept {
        const std::int64_t now = nowNs();
        if (m_depth++ > 0)
            close(now);
        m_start.store(now, std::memory_order_release);
    }
    //! Loop thread: the step begun last ends; the one it was nested in goes on.
    void end() noexcept {
        endAlone();
        resumeOuter();
    }
    //! Loop thread: the step begun last ends, and the one it was nested in stays paused until
    //! resumeOuter() (its nested pass is about to wait for events).
    void endAlone() noexcept {
        close(nowNs());
        --m_depth;
    }
    //! Loop thread: a pass nested in a step is about to sleep; the outer step pauses until
    //! resumeOuter().
    void waiting() noexcept {
        if (m_depth > 0)
            close(nowNs());
    }
    void resumeOuter() noexcept {
        if (m_depth > 0)
            m_start.store(nowNs(), std::memory_order_release);
    }

    //! Loop thread, while stall warnings are on: the step is now starting a call of type
    //! \a callType (a typeid name, static storage), or null.
    void setLabel(const char *callType) noexcept {
        m_label.store(callType, std::memory_order_relaxed);
    }
    bool isWarning() const noexcept { return m_threshold > 0; }
    std::chrono::nanoseconds threshold() const noexcept {
        return std::chrono::nanoseconds(m_threshold);
    }

    //! The longest step so far, the one running now included. Any thread.
    std::chrono::nanoseconds longest() const noexcept;
    //! The watchdog's look at the step running now: warns once if it has run past the
    //! threshold. Any thread.
    void checkRunning() noexcept;

    static std::int64_t nowNs() noexcept { return Clock::now().time_since_epoch().count(); }

private:
    void close(std::int64_t now) noexcept {
        const std::int64_t start = m_start.load(std::memory_order_relaxed);
        if (start == 0)
            return; // paused
        const std::int64_t length = now - start;
        if (length > m_longest.load(std::memory_order_relaxed)) // only this thread writes it
            m_longest.store(length, std::memory_order_relaxed);
        // After m_longest, released: longest() never sees the step neither open nor counted.
        m_start.store(0, std::memory_order_release);
        if (m_threshold > 0 && length > m_threshold)
            reportStall(start, length, /*stillRunning=*/false);
    }
    //! One qCWarning per step, from whichever side (the loop at the step's end, the watchdog
    //! while it runs) sees it first.
    void reportStall(std::int64_t start, std::int64_t length, bool stillRunning) noexcept;

    const std::int64_t m_threshold; // ns; 0: off
    const QString m_name;
    int m_depth = 0;                            // loop thread only
    std::atomic<std::int64_t> m_start{0};       // steady_clock ns of the open step; 0: none
    std::atomic<std::int64_t> m_longest{0};     // ns
    std::atomic<const char *> m_label{nullptr}; // the call being started, when warnings are on
    std::atomic<std::int64_t> m_warnedStart{0}; // the start of the last step reported
};

//! Opens a loop step for one scope.
class LoopStep {
public:
    explicit LoopStep(LoopSteps &steps) noexcept : m_steps(steps) { m_steps.begin(); }
    ~LoopStep() { m_steps.end(); }
    LoopStep(const LoopStep &) = delete;
    LoopStep &operator=(const LoopStep &) = delete;

private:
    LoopSteps &m_steps;
};

//! A readable name for a call's type: the callable types inside palitra's call template, from
//! a typeid name.
QString callableTypeName(const char *typeidName);

} // namespace palitra::detail
