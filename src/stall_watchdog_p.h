// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <pthread.h>

namespace palitra::detail {

class LoopSteps;

/*!
 * RunnerOptions::stallWarning's watchdog: a thread of the runner, running while its loop does,
 * that looks every quarter of the threshold at the loop step running now (LoopSteps) and at the
 * callers blocked in run()/gather(), and warns once for each that has gone on past the threshold.
 *
 * A thread of its own because neither side can warn for itself while it is stuck: the loop is
 * busy in the very step, the caller sleeps in its wait. Blocked callers register for the length
 * of their wait (one lock, only while warnings are on); nothing runs per call on a timer.
 */
class StallWatchdog {
public:
    using Clock = std::chrono::steady_clock;

    //! One blocked caller, registered by WatchedCaller.
    struct Caller {
        Clock::time_point since;
        const char *callType = nullptr; // typeid name, static storage
        QString threadName;
        pthread_t thread{};
        long tid = 0;
        bool warned = false;
        Caller *prev = nullptr;
        Caller *next = nullptr;
    };

    StallWatchdog(LoopSteps &steps, std::chrono::nanoseconds threshold, QString runnerName);
    //! Stops the thread if it runs.
    ~StallWatchdog();
    StallWatchdog(const StallWatchdog &) = delete;
    StallWatchdog &operator=(const StallWatchdog &) = delete;

    //! Starts the thread (the loop thread calls it as its loop starts). Failure to start it is
    //! reported and leaves warnings off.
    void start() noexcept;
    //! Stops and joins the thread (the loop has ended). Registration still works meanwhile.
    void stop() noexcept;

    void add(Caller &caller) noexcept;
    void remove(Caller &caller) noexcept;

private:
    void watch();
    //! Called with m_mutex held: the warnings due for blocked callers, appended to \a out.
    void checkCallers(Clock::time_point now, QStringList &out);

    LoopSteps &m_steps;
    const std::chrono::nanoseconds m_threshold;
    const std::chrono::nanoseconds m_period;
    const QString m_name;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    Caller *m_callers = nullptr;
    std::thread m_thread;
};

//! Registers the calling thread as a blocked caller of a call of type \a callType for one scope,
//! when the runner has a watchdog (\a watchdog is not null).
class WatchedCaller {
public:
    WatchedCaller(StallWatchdog *watchdog, const char *callType) noexcept;
    ~WatchedCaller();
    WatchedCaller(const WatchedCaller &) = delete;
    WatchedCaller &operator=(const WatchedCaller &) = delete;

private:
    StallWatchdog *m_watchdog;
    StallWatchdog::Caller m_caller;
};

} // namespace palitra::detail
