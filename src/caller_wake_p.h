// SPDX-License-Identifier: MIT
#pragma once

#include <palitra/detail/deadline.h>

#include <atomic>
#include <cstdint>

#if !defined(__linux__)
#include <condition_variable>
#include <mutex>
#endif

namespace palitra::detail {

/*!
 * The word a blocked caller sleeps on: one system call to sleep, one to be woken, and nothing
 * else.
 *
 * A condition variable costs a third: glibc's pthread_cond_wait() takes its mutex back in the
 * "contended" state after a wake-up (it cannot know whether others wait), so the caller's next
 * unlock makes a FUTEX_WAKE for nobody. With eight callers on one CPU that was a third of the
 * system calls of a round trip. A thread blocks in one call at a time, so it sleeps on a word of
 * its own, and whoever ends its call wakes that word only: no herd, however many callers share
 * a runner, and no wake-up of one caller is seen by another. (Callers on the loop thread's CPU
 * share their runner's word instead, a bit each, so that a drain wakes them together: see
 * WakeBatch. A wake-up there is for the bits it names.)
 *
 * The words are static and never freed (a thread maps onto one by the order it first blocked
 * in), so that a wake made after its caller left, or after the thread ended, never touches freed
 * memory. Two threads share a word only when more than wordCount of them have ever blocked; a
 * wake-up for one may then wake the other for nothing, and it sleeps again.
 */
class CallerWakeWord {
public:
    //! The word of the thread that calls this.
    static CallerWakeWord &ofThisThread() noexcept;

    //! The value to pass to sleep(): read before the caller last looks at its call's state,
    //! under the lock that whoever ends the call takes too.
    std::uint32_t epoch() const noexcept { return m_epoch.load(std::memory_order_acquire); }
    //! A word for a new runner's callers on its loop thread's CPU to sleep on together, each for
    //! its bit, so that one system call wakes several (see WakeBatch). Static too: a late wake
    //! may come after the runner is gone. Runners share one only when more than 64 have been
    //! made; then a wake-up may wake a caller of the other for nothing, and it sleeps again.
    static CallerWakeWord &sharedForNewRunner() noexcept;
    //! This thread's bit on a shared word: never zero; two threads share one only when more
    //! than 32 have ever blocked (then a wake-up for one may wake the other for nothing).
    static std::uint32_t bitOfThisThread() noexcept;
    //! Every thread's bits: what a thread sleeping on its own word sleeps for.
    static constexpr std::uint32_t anyThread = ~std::uint32_t(0);

    //! Sleeps until a wake() for any of \a bits, \a deadline, or the epoch is no longer \a seen.
    //! May return for nothing (a signal, a shared word): the caller looks at its state again.
    void sleep(std::uint32_t seen, Deadline deadline, std::uint32_t bits = anyThread) noexcept;
    //! Wakes whoever sleeps on this word for any of \a bits.
    void wake(std::uint32_t bits = anyThread) noexcept;

private:
    alignas(64) std::atomic<std::uint32_t> m_epoch{0}; // a line each: one waker writes it
#if !defined(__linux__)
    std::mutex m_mutex;
    std::condition_variable m_changed;
#endif
};

} // namespace palitra::detail
