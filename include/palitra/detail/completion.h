// SPDX-License-Identifier: MIT
// Not public API: palitra::detail may change in any release.
#pragma once

#include <palitra/detail/compact_mutex.h>
#include <palitra/detail/deadline.h>
#include <palitra/palitra_export.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>

namespace palitra::detail {

class CallerWakeWord;

//! How a call ended for the side that waits for it (a blocked caller or a QFuture).
enum class CallStatus : unsigned char {
    Pending,   //!< nothing decided yet
    Parked,    //!< the process is exiting: the waiter stays blocked, nothing else may end it
    Finished,  //!< the outcome is in (a value, or the coroutine's exception)
    TimedOut,  //!< the deadline passed first
    Closed,    //!< the runner closed (or its loop ended) first
    Cancelled, //!< the QFuture was cancelled first
};

/*!
 * Work that a coroutine on the loop thread hands to the thread blocked in its call (see
 * palitra::CallContext::onCaller()). The blocked caller runs it from inside its wait; if the
 * call ends first, it is failed instead. Either way handBack() comes last, exactly once.
 */
class PALITRA_EXPORT RoutedWork {
public:
    //! The blocked caller's thread: runs the work and keeps its result or exception.
    virtual void runOnCaller() noexcept = 0;
    //! Any thread: the work will never run, because the call ended as \a status.
    virtual void fail(CallStatus status) noexcept = 0;
    //! Any thread, after runOnCaller() or fail(): resumes the awaiting coroutine on its own
    //! thread. The work may be gone as soon as this returns.
    virtual void handBack() noexcept = 0;

protected:
    RoutedWork() = default;
    ~RoutedWork() = default;

private:
    friend class Completion;
    RoutedWork *m_nextRouted = nullptr; // the Completion's queue, under its lock
};

/*!
 * What ending a call still owes once the Completion's lock is released: the waiter's wake-up,
 * and the failing of routed work still queued. It touches neither the Completion nor its call
 * (the waiter's word is static), so it may be made after both are gone: see
 * Completion::finish(std::exception_ptr, PendingWake &). Made at the latest when destroyed.
 */
class PALITRA_EXPORT PendingWake {
public:
    PendingWake() = default;
    PendingWake(const PendingWake &) = delete;
    PendingWake &operator=(const PendingWake &) = delete;
    ~PendingWake() { make(); }

    //! Wakes the waiter and fails the routed work, if there are any; a second call does nothing.
    void make() noexcept;

private:
    friend class Completion;
    CallerWakeWord *m_sleeper = nullptr;
    std::uint32_t m_sleeperBits = 0;
    RoutedWork *m_routed = nullptr;
};

/*!
 * The hand-off between the loop thread and whoever waits for a call: one small state machine
 * that every way a call can end goes through.
 *
 * The first transition out of Pending wins and every later one is refused, so exactly one side
 * acts on the end of a call: a late result after a timeout, a close racing the result, a cancel
 * racing both. A blocked caller waits here (wait()); a QFuture-backed call reports to its
 * promise from whichever thread won. The state is an atomic so that a spinning caller reads it
 * without the lock; it is only changed under the lock, so a waiter never misses a wake-up.
 * A blocked waiter sleeps on its thread's CallerWakeWord rather than a condition variable: a
 * plain futex costs a round trip one system call less (or, on the loop thread's CPU, on its
 * runner's shared word: see wait(Deadline, CallerWakeWord *)).
 */
class PALITRA_EXPORT Completion {
public:
    Completion() = default;
    Completion(const Completion &) = delete;
    Completion &operator=(const Completion &) = delete;

    //! Pending -> Finished with \a error (null: success) and wakes the waiter. False if the call
    //! had already ended another way: then the outcome is to be dropped.
    bool finish(std::exception_ptr error) noexcept;
    //! finish(), but what it owes other threads (the waiter's wake-up, failing routed work) is
    //! left in \a wake, for the caller to make once it has let go of the call.
    bool finish(std::exception_ptr error, PendingWake &wake) noexcept;
    //! Pending -> \a status (TimedOut, Closed or Cancelled) and wakes the waiter. False if the
    //! call had already ended.
    bool end(CallStatus status) noexcept;
    //! Pending -> Parked, without waking the waiter: while the process exits, a blocked caller
    //! must neither wake nor throw, so no outcome, timeout or close may reach it any more.
    bool park() noexcept;
    //! Parked -> Closed, waking the waiter: the program went on after all.
    bool unpark() noexcept;

    //! Queues \a work for the waiter while it waits (Pending or Parked, returned); otherwise
    //! queues nothing and returns how the call ended. Parked work never runs: unpark() fails it.
    CallStatus route(RoutedWork *work) noexcept;
    //! Takes \a work back out of the queue if it is still there (its awaiter is going away).
    void withdraw(RoutedWork *work) noexcept;

    /*!
     * Blocks, without running any event loop, until the call ends or \a deadline passes (then it
     * is TimedOut, unless the outcome beat the deadline). A parked call waits on, whatever its
     * deadline, until it is unparked. Returns how it ended. (A caller may spin on status() first:
     * see the runner's SpinPolicy.)
     *
     * While Pending it also runs, on this thread and in order, the work routed to it (and
     * nothing else: no event loop, no posted event). Work still queued when the call ends
     * another way is failed by whoever ended it.
     */
    CallStatus wait(Deadline deadline) { return wait(deadline, nullptr); }
    /*!
     * wait(), but a caller on the loop thread's CPU sleeps on its runner's \a shared word (null:
     * on its own), so that the loop may hold its wake-up to the end of the drain and make it
     * with the others' in one system call (see WakeBatch).
     */
    CallStatus wait(Deadline deadline, CallerWakeWord *shared);

    //! Loop thread, before invoking the call: records that it has begun. False if it has
    //! already ended (then nothing may be invoked). A waiter that times out and then sees
    //! hasBegun() false knows the callable never ran and never will.
    bool begin() noexcept {
        m_begun.store(true, std::memory_order_seq_cst);
        return m_status.load(std::memory_order_seq_cst) == CallStatus::Pending;
    }
    //! Whether begin() was called. Exact once the call has ended (see begin()).
    bool hasBegun() const noexcept { return m_begun.load(std::memory_order_seq_cst); }

    //! The state now; Finished, TimedOut, Closed and Cancelled are final.
    CallStatus status() const noexcept { return m_status.load(std::memory_order_acquire); }
    bool isPending() const noexcept { return status() == CallStatus::Pending; }
    //! Whether a waiter still waits in this state (Pending or Parked).
    static constexpr bool isWaiting(CallStatus status) noexcept {
        return status == CallStatus::Pending || status == CallStatus::Parked;
    }
    //! The coroutine's exception once Finished (null for a value).
    const std::exception_ptr &error() const noexcept { return m_error; }

private:
    friend class PendingWake;

    //! Under m_mutex: detaches the queue of routed work.
    RoutedWork *takeRouted() noexcept;
    //! Without the lock: fails each of \a first's queue with \a status and hands it back.
    static void failRouted(RoutedWork *first, CallStatus status) noexcept;
    //! Without the lock, after a transition: wakes \a sleeper (the word the waiter slept on
    //! when the transition was made, and its \a bits there; null if it was awake).
    static void wake(CallerWakeWord *sleeper, std::uint32_t bits) noexcept;

    std::atomic<CallStatus> m_status{CallStatus::Pending};
    // begin() and a waiter's timeout each store their flag, then read the other's: with both
    // sequentially consistent, at least one of them sees the other (so a call that timed out
    // in the queue is never invoked, and the waiter can say so).
    std::atomic<bool> m_begun{false};
    CompactMutex m_mutex;
    CallerWakeWord *m_sleeper = nullptr; // under m_mutex: where the waiter sleeps now,
    std::uint32_t m_sleeperBits = 0;     // and for which bits
    std::exception_ptr m_error; // written once, under m_mutex, before m_status leaves Pending
    RoutedWork *m_routedFirst = nullptr; // under m_mutex
    RoutedWork *m_routedLast = nullptr;
};

} // namespace palitra::detail
