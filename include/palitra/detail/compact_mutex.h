// SPDX-License-Identifier: MIT
// Not public API: palitra::detail may change in any release.
#pragma once

#include <atomic>
#include <cstdint>

namespace palitra::detail {

/*!
 * A mutex in one 32-bit word, for the locks every call takes several times.
 *
 * A round trip takes a runner's lock and its call's lock seven times between them, and almost
 * never finds one held. pthread_mutex_lock() and unlock() cost about sixty instructions a pair
 * on that path (they look up the mutex's kind, owner and robustness first); here it is one
 * compare-and-swap and one exchange. Contended, it sleeps in std::atomic::wait() (a futex on
 * Linux) like any mutex: it never spins on a CPU another thread needs.
 *
 * The word holds Free, Locked, or Contended (locked, and someone may sleep on it): only an
 * unlock that finds Contended pays for a wake-up (the classic three-state futex mutex).
 * Meets the Lockable requirements, so std::lock_guard and std::unique_lock take it;
 * std::condition_variable_any waits on it.
 */
class CompactMutex {
public:
    CompactMutex() = default;
    CompactMutex(const CompactMutex &) = delete;
    CompactMutex &operator=(const CompactMutex &) = delete;

    //! Blocks until this thread holds the mutex. Not recursive.
    void lock() noexcept {
        std::uint32_t expected = Free;
        if (!m_state.compare_exchange_strong(expected, Locked, std::memory_order_acquire,
                                             std::memory_order_relaxed))
            lockContended();
    }
    //! Takes the mutex if it is free; never blocks.
    bool try_lock() noexcept {
        std::uint32_t expected = Free;
        return m_state.compare_exchange_strong(expected, Locked, std::memory_order_acquire,
                                               std::memory_order_relaxed);
    }
    //! Releases the mutex, waking one sleeper if any may wait.
    void unlock() noexcept {
        // Sequentially consistent, not just release: notify_one() then reads libstdc++'s count
        // of waiters, which a sleeper raises with a seq_cst increment before it sleeps. (On x86
        // an exchange is a full barrier either way.)
        if (m_state.exchange(Free, std::memory_order_seq_cst) == Contended)
            m_state.notify_one();
    }

private:
    enum : std::uint32_t { Free, Locked, Contended };

    void lockContended() noexcept {
        // Marked Contended before sleeping, so that the holder's unlock wakes someone; a thread
        // that takes it this way keeps it Contended, as others may still sleep.
        while (m_state.exchange(Contended, std::memory_order_acquire) != Free)
            m_state.wait(Contended, std::memory_order_relaxed);
    }

    std::atomic<std::uint32_t> m_state{Free};
};

} // namespace palitra::detail
