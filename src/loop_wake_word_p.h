// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>

#if defined(PALITRA_LOOP_SLEEPS_ON_FUTEX)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

// PALITRA_LOOP_SLEEPS_ON_FUTEX (set by src/CMakeLists.txt with loop_dispatcher_p.cpp): the loop
// thread sleeps on a futex while it has no socket to watch (LoopEventDispatcher).

namespace palitra::detail {

/*!
 * The word an idle loop thread sleeps on (a futex). The runner owns it rather than the loop
 * thread's dispatcher because a wake-up may be made after the runner's lock is released (see
 * LoopWakeDeferral), when the loop thread may already have ended.
 */
using LoopWakeWord = std::atomic<int>;

/*!
 * While one exists on a thread, the loop wake-ups this thread causes (by posting to a palitra
 * loop thread) are held back and made when it is destroyed. The runner posts its drain under its
 * own lock; waking the loop right there would, on one CPU, let the loop preempt the poster only
 * to block on that lock: two more context switches per call. Nests; a no-op where the loop
 * thread sleeps in poll().
 */
class LoopWakeDeferral {
public:
    LoopWakeDeferral() noexcept;
    ~LoopWakeDeferral();
    LoopWakeDeferral(const LoopWakeDeferral &) = delete;
    LoopWakeDeferral &operator=(const LoopWakeDeferral &) = delete;

#if defined(PALITRA_LOOP_SLEEPS_ON_FUTEX)
    //! Holds back a futex wake of \a word if a deferral is active on this thread. Returns
    //! false if the caller must wake now.
    static bool defer(LoopWakeWord &word) noexcept;

private:
    LoopWakeDeferral *m_outer;
    LoopWakeWord *m_pending = nullptr;
#endif
};

#if defined(PALITRA_LOOP_SLEEPS_ON_FUTEX)
//! The word as the futex system call takes it.
inline int *futexWord(LoopWakeWord &word) {
    static_assert(sizeof(LoopWakeWord) == sizeof(int) && LoopWakeWord::is_always_lock_free);
    return reinterpret_cast<int *>(&word);
}

//! Wakes the loop thread sleeping on \a word, if it sleeps.
inline void wakeOne(LoopWakeWord &word) noexcept {
    syscall(SYS_futex, futexWord(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}
#endif

} // namespace palitra::detail
