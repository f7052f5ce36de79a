// SPDX-License-Identifier: MIT
// Not public API: palitra::detail may change in any release.
#pragma once

#include <palitra/palitra_export.h>

#include <QObject>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <stop_token>

namespace palitra::detail {

struct WakeNode;

/*!
 * One pending wake-up on the current thread's event loop: at a deadline, when a stop token is
 * requested, or whichever comes first. The callback runs once, on the thread that armed it,
 * from its event loop: never inline in arm(), never on the thread that requests the stop.
 *
 * The deadlines of a thread are kept in one heap with one Qt timer for the earliest (O(log n)
 * to arm and to cancel), and all wake-ups of a thread that share a stop token share one
 * std::stop_callback, which posts one event: the thread then wakes every one of them. That is
 * what keeps a stop request cheap for the thread that makes it, however many coroutines wait.
 */
class PALITRA_EXPORT LoopWake {
public:
    using Clock = std::chrono::steady_clock;
    //! \a byStop: woken by the stop request rather than the deadline.
    using Callback = void (*)(void *context, bool byStop) noexcept;

    LoopWake() noexcept = default;
    //! cancel().
    ~LoopWake();
    LoopWake(const LoopWake &) = delete;
    LoopWake &operator=(const LoopWake &) = delete;

    //! Arms \a callback(\a context) for \a deadline (Clock::time_point::max(): none) or \a stop
    //! (ignored unless stop_possible()). Not armed yet, and on this thread only.
    //! \throws std::bad_alloc or palitra::Error (the thread is ending), leaving it unarmed.
    void arm(Callback callback, void *context, Clock::time_point deadline,
             const std::stop_token &stop);
    //! Any thread. Afterwards the callback does not run, and is not running on another thread
    //! (it may be running on this one: cancel() called from the callback itself).
    void cancel() noexcept;
    bool isArmed() const noexcept { return m_node != nullptr; }

private:
    WakeNode *m_node = nullptr;
};

//! For palitra's tests: what the current thread has armed (nothing is made if it has nothing).
struct WakeStats {
    std::size_t deadlines = 0;   //!< sleeps in the thread's heap
    std::size_t stopBatches = 0; //!< distinct stop tokens, one stop callback each
};
//! \copydoc WakeStats
PALITRA_EXPORT WakeStats currentThreadWakeStats() noexcept;
//! For palitra's tests: how many threads' wake-up states exist in the process (one per thread
//! that has armed a LoopWake and not ended, plus any kept by a frame left suspended at its end).
PALITRA_EXPORT int liveThreadWakeStates() noexcept;

//! The QObject a signal awaiter connects to: it lives on the awaiting thread, so an emission
//! from another thread is queued there, and it outlives the awaiter for as long as such an
//! emission may still be queued.
/*!
 * Owned by an awaiter in the coroutine frame. The awaiter calls detach() in its destructor and
 * the Waker then deletes itself later: a queued emission may still be on its way, and the
 * resumption itself may be what destroys the awaiter.
 */
class PALITRA_EXPORT Waker final : public QObject {
public:
    //! \throws std::bad_alloc; so awaiters create it in await_suspend's try block.
    explicit Waker(std::coroutine_handle<> handle);
    ~Waker() override;

    //! Resumes the coroutine unless it was resumed already. Waker's thread only.
    void wake();
    //! The awaiter is gone: forget the coroutine and delete this object from the event loop.
    //! Events already queued to it (a signal emitted from another thread) then do nothing.
    void detach() noexcept;

    //! False once the awaiter has detached: callbacks queued earlier must not touch it.
    bool isAttached() const noexcept { return m_attached; }

private:
    std::coroutine_handle<> m_handle;
    bool m_attached = true;
};

} // namespace palitra::detail
