// SPDX-License-Identifier: MIT
// Turns a hang into a failure. Test code only.
#pragma once

#include "threads.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace palitra::test {

/*!
 * Fails the whole process (a helper thread cannot QFAIL) when a watched section is still running
 * past its deadline: prints what hung (and how to reproduce it), then aborts. A hang is the one
 * failure a test cannot otherwise report; the limit is generous on purpose, it is no benchmark.
 *
 * Two uses. A scoped guard: `Watchdog watchdog(30s, "closeFromLoopThread");` aborts unless the
 * scope ends (or disarm() is called) within 30 s. Or one watched Slot per worker thread, each
 * armed for one step at a time with Watched, all handed over with watchSlots().
 */
class Watchdog {
public:
    //! One watched section.
    struct Slot {
        std::atomic<std::int64_t> deadlineNs{0}; // 0: idle
        std::atomic<const char *> what{""};
    };

    //! Watches the slots given to watchSlots(); \a reproduce is printed when one hangs.
    explicit Watchdog(std::string reproduce) : m_reproduce(std::move(reproduce)) {
        m_thread = std::thread([this] { watch(); });
    }
    //! Aborts unless destroyed or disarmed within \a limit; \a what names the section.
    Watchdog(std::chrono::milliseconds limit, const char *what) : Watchdog(std::string()) {
        arm(m_own, what, limit);
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

    //! Ends the scoped guard's watch early.
    void disarm() { disarm(m_own); }

    //! Watches \a slot until disarm(slot): fails if it is still armed after \a allowed.
    static void arm(Slot &slot, const char *what, Clock::duration allowed) {
        slot.what.store(what, std::memory_order_relaxed);
        slot.deadlineNs.store((Clock::now() + allowed).time_since_epoch().count(),
                              std::memory_order_release);
    }
    static void disarm(Slot &slot) { slot.deadlineNs.store(0, std::memory_order_release); }

    //! Watches \a count slots from \a slots on (they must outlive the watchdog).
    void watchSlots(Slot *slots, std::size_t count) {
        const std::lock_guard lock(m_mutex);
        m_slots = slots;
        m_count = count;
    }

private:
    void check(const Slot &slot, std::int64_t now) const {
        const std::int64_t deadline = slot.deadlineNs.load(std::memory_order_acquire);
        if (deadline == 0 || now <= deadline)
            return;
        std::fprintf(stderr, "WATCHDOG: \"%s\" hung (past its deadline by %lld ms).%s%s\n",
                     slot.what.load(), static_cast<long long>((now - deadline) / 1000000),
                     m_reproduce.empty() ? "" : " Reproduce with ", m_reproduce.c_str());
        std::fflush(stderr);
        std::abort();
    }
    void watch() {
        std::unique_lock lock(m_mutex);
        while (!m_cv.wait_for(lock, std::chrono::milliseconds(100), [this] { return m_stop; })) {
            const std::int64_t now = Clock::now().time_since_epoch().count();
            check(m_own, now);
            for (std::size_t i = 0; i < m_count; ++i)
                check(m_slots[i], now);
        }
    }

    std::string m_reproduce;
    Slot m_own;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stop = false;
    Slot *m_slots = nullptr;
    std::size_t m_count = 0;
    std::thread m_thread; // last: started once the members it uses exist
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

} // namespace palitra::test
