// SPDX-License-Identifier: MIT
#pragma once

#include "caller_wake_p.h"

#include <palitra/detail/spin_stats.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace palitra::detail {

/*!
 * The wake-ups that a loop thread's drains hold for the callers sleeping on its CPU, and the
 * keeper thread that makes holding them safe. One per loop thread, on its stack.
 *
 * A drain holds a finished caller's wake-up across the drain's later callables (WakeBatch),
 * which are user code: one of them may wait for that very caller (a lock it keeps until run()
 * returns), and the drain would never end. So a wake-up is held only while the keeper watches:
 * a thread that looks every keeperPeriod and makes whatever is held then, so that a held caller
 * waits keeperPeriod at the most, whatever the callables do. The keeper is started by the first
 * hold, stops watching (and sleeps without a timer) after keeperQuietPolls looks with no hold,
 * and is joined when the loop ends. It runs no user code and takes no signals.
 *
 * Timers are the keeper's and not the callers': a caller that slept with a timeout of its own
 * costs an armed and cancelled timer per call, which under a hypervisor costs more than the
 * wake-up it saves.
 */
//! WakeBatchStats' counters: the runner's, so that they outlive its loop threads.
struct WakeBatchCounters {
    std::atomic<std::uint64_t> held{0}; // written by the loop thread only
    std::atomic<std::uint64_t> madeByKeeper{0};

    WakeBatchStats stats() const noexcept {
        return {held.load(std::memory_order_relaxed), madeByKeeper.load(std::memory_order_relaxed)};
    }
};

class HeldWakes {
public:
    static constexpr std::chrono::milliseconds keeperPeriod{1};
    static constexpr int keeperQuietPolls = 64;

    //! Holds wake-ups of the callers sleeping on \a shared (the runner's shared word), counting
    //! in \a counters.
    HeldWakes(CallerWakeWord &shared, WakeBatchCounters &counters) noexcept;
    //! Stops and joins the keeper; makes what is still held.
    ~HeldWakes();
    HeldWakes(const HeldWakes &) = delete;
    HeldWakes &operator=(const HeldWakes &) = delete;

    CallerWakeWord &word() noexcept { return m_word; }

    //! Loop thread: holds a wake-up of word()'s sleepers for \a bits while the keeper watches.
    //! Otherwise asks the keeper to watch and returns false: the caller wakes them now.
    bool hold(std::uint32_t bits) noexcept;
    //! Any thread: makes the wake-ups held so far.
    void makeHeld() noexcept;

private:
    static constexpr std::uint64_t watching = std::uint64_t(1) << 32;

    void requestWatch() noexcept;
    //! Whether the keeper thread exists in this process (not in a forked child).
    bool keeperRunsHere() const noexcept;
    void keep() noexcept;
    //! Keeper: stops watching and makes what is held, in one step, so that nothing is held
    //! once nobody watches.
    void stopWatching() noexcept;
    //! Makes what is held, keeping of the state only \a keep's bits; counts a wake-up made in
    //! \a count (if not null).
    void makeHeldKeeping(std::uint64_t keep, std::atomic<std::uint64_t> *count) noexcept;

    CallerWakeWord &m_word;
    // The held wake-ups' bits (the low 32) and whether the keeper watches: one word, so that a
    // wake-up is never held after the keeper has stopped watching.
    alignas(64) std::atomic<std::uint64_t> m_state{0};
    WakeBatchCounters &m_counters; // its count of holds is the keeper's clock
    CallerWakeWord m_keeperWake;   // where the keeper sleeps
    std::atomic<bool> m_watchRequested{false};
    std::atomic<bool> m_stop{false};
    std::thread m_keeper;        // loop thread only: started by the first hold
    bool m_keeperFailed = false; // loop thread only: it could not be started; nothing is held
    int m_keeperProcess = 0;     // the process that started the keeper (a pid)
};

/*!
 * The wake-ups of one drain's callers on the loop thread's CPU, made with one system call when
 * the drain ends instead of one each as their calls end.
 *
 * Such a caller cannot run before the loop thread gives up the CPU anyway; woken in the middle
 * of a drain it preempts the loop (the scheduler favours a thread that slept), queues its next
 * call and sleeps again: two context switches for nothing, at each of the drain's calls. Held to
 * the drain's end, the callers run once the loop is done, as a mutex-and-condition-variable
 * server's waiters do after its notify_all(). See HeldWakes for why holding them is safe.
 *
 * One per drain on the loop thread's stack; nests (a callable's nested event loop drains again).
 */
class WakeBatch {
public:
    //! Holds the wake-ups made on this thread for sleepers of \a held's word until destroyed;
    //! with null, holds none.
    explicit WakeBatch(HeldWakes *held) noexcept;
    //! Makes the held wake-ups: one system call for all of them.
    ~WakeBatch();
    WakeBatch(const WakeBatch &) = delete;
    WakeBatch &operator=(const WakeBatch &) = delete;

    //! Holds a wake-up of \a word's sleepers for \a bits if this thread's innermost batch is
    //! for that word and HeldWakes::hold() allows it. Returns false if the caller must wake
    //! them now.
    static bool hold(CallerWakeWord &word, std::uint32_t bits) noexcept;

private:
    HeldWakes *m_held;
    bool m_holds = false;
    WakeBatch *m_outer;
};

//! The CPU this thread runs on now, or -1 where that cannot be known cheaply.
int currentCpu() noexcept;

} // namespace palitra::detail
