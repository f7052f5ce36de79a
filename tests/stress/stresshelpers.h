// SPDX-License-Identifier: MIT
// Helpers shared by the reliability tests in tests/stress. Test code only.
#pragma once

#include <QString>
#include <QtGlobal>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace palitra::stress {

using Clock = std::chrono::steady_clock;

//! Counts every construction (default, copy, move) and every destruction: after every coroutine
//! has ended, the two must be equal whatever the outcome of the call was.
struct Tracked {
    static inline std::atomic<long> constructed{0};
    static inline std::atomic<long> destroyed{0};
    static long live() { return constructed.load() - destroyed.load(); }

    int value = 0;
    Tracked() noexcept { ++constructed; }
    explicit Tracked(int v) noexcept : value(v) { ++constructed; }
    Tracked(const Tracked &o) noexcept : value(o.value) { ++constructed; }
    Tracked(Tracked &&o) noexcept : value(o.value) { ++constructed; }
    Tracked &operator=(const Tracked &) = default;
    Tracked &operator=(Tracked &&) = default;
    ~Tracked() { ++destroyed; }
};

//! An exception type of the user's own, not derived from std::exception.
struct StressError {
    int code;
};

//! An integer from the environment, or \a fallback when unset or not a number.
inline long long envNumber(const char *name, long long fallback) {
    bool ok = false;
    const long long v = qEnvironmentVariable(name).toLongLong(&ok);
    return ok ? v : fallback;
}

/*!
 * Fails the whole process (it cannot QFAIL from another thread) when a watched section runs past
 * its deadline: prints what hung and the seed that reproduces the mix, then aborts. A hang is
 * the one failure a test cannot otherwise report.
 */
class Watchdog {
public:
    explicit Watchdog(std::string reproduce) : m_reproduce(std::move(reproduce)) {
        m_thread = std::thread([this] { watch(); });
    }
    ~Watchdog() {
        {
            const std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }
    Watchdog(const Watchdog &) = delete;
    Watchdog &operator=(const Watchdog &) = delete;

    //! One watched slot (one per worker thread).
    struct Slot {
        std::atomic<std::int64_t> deadlineNs{0}; // 0: idle
        std::atomic<const char *> what{""};
    };

    //! Watches \a slot until disarm(): fails if it is still armed after \a allowed.
    static void arm(Slot &slot, const char *what, Clock::duration allowed) {
        slot.what.store(what, std::memory_order_relaxed);
        slot.deadlineNs.store((Clock::now() + allowed).time_since_epoch().count(),
                              std::memory_order_release);
    }
    static void disarm(Slot &slot) { slot.deadlineNs.store(0, std::memory_order_release); }

    void watchSlots(Slot *slots, std::size_t count) {
        const std::lock_guard lock(m_mutex);
        m_slots = slots;
        m_count = count;
    }

private:
    void watch() {
        std::unique_lock lock(m_mutex);
        while (!m_cv.wait_for(lock, std::chrono::milliseconds(100), [this] { return m_stop; })) {
            const std::int64_t now = Clock::now().time_since_epoch().count();
            for (std::size_t i = 0; i < m_count; ++i) {
                const std::int64_t deadline = m_slots[i].deadlineNs.load(std::memory_order_acquire);
                if (deadline != 0 && now > deadline) {
                    std::fprintf(stderr,
                                 "WATCHDOG: slot %zu hung in \"%s\" (past its deadline by %lld "
                                 "ms). Reproduce with %s\n",
                                 i, m_slots[i].what.load(),
                                 static_cast<long long>((now - deadline) / 1000000),
                                 m_reproduce.c_str());
                    std::fflush(stderr);
                    std::abort();
                }
            }
        }
    }

    std::string m_reproduce;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stop = false;
    Slot *m_slots = nullptr;
    std::size_t m_count = 0;
    std::thread m_thread;
};

//! Arms a watchdog slot for one scope.
class Watched {
public:
    Watched(Watchdog::Slot &slot, const char *what, Clock::duration allowed) : m_slot(slot) {
        Watchdog::arm(slot, what, allowed);
    }
    ~Watched() { Watchdog::disarm(m_slot); }
    Watched(const Watched &) = delete;
    Watched &operator=(const Watched &) = delete;

private:
    Watchdog::Slot &m_slot;
};

} // namespace palitra::stress
