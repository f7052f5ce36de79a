// SPDX-License-Identifier: MIT
// Not public API: palitra::detail may change in any release.
#pragma once

#include <palitra/palitra_export.h>

#include <QEvent>
#include <QObject>

#include <atomic>
#include <chrono>
#include <coroutine>

namespace palitra::detail {

//! Resumes one suspended coroutine, exactly once, on the thread it lives on (the loop thread),
//! either from a timer, a signal or a stop request posted from any thread.
/*!
 * Owned by an awaiter in the coroutine frame. The awaiter calls detach() in its destructor and
 * the Waker then deletes itself later: a stop request may already have posted a wake-up to it,
 * and the resumption itself may be what destroys the awaiter.
 */
class PALITRA_EXPORT Waker final : public QObject {
public:
    //! \throws std::bad_alloc; so awaiters create it in await_suspend's try block.
    explicit Waker(std::coroutine_handle<> handle);
    ~Waker() override;

    //! Resumes the coroutine unless it was resumed already. Waker's thread only.
    void wake(bool byStop);
    //! Any thread: queue wake(true) to the Waker's thread. Never resumes inline, never
    //! allocates (the event was made up front), never throws: stop callbacks are noexcept.
    void postStopWake() noexcept;
    //! Wake after \a timeout with wake(false).
    void startTimeout(std::chrono::milliseconds timeout);
    //! The awaiter is gone: forget the coroutine and delete this object from the event loop.
    //! Events already queued to it (a signal emitted from another thread) then do nothing.
    void detach() noexcept;

    //! False once the awaiter has detached: callbacks queued earlier must not touch it.
    bool isAttached() const noexcept { return m_attached; }
    bool wokeByStop() const noexcept { return m_wokeByStop; }

protected:
    bool event(QEvent *event) override;
    void timerEvent(QTimerEvent *event) override;

private:
    std::coroutine_handle<> m_handle;
    QEvent *m_stopEvent; // owned until posted; then Qt owns it
    std::atomic<bool> m_stopPosted{false};
    int m_timerId = 0;
    bool m_attached = true;
    bool m_wokeByStop = false;
};

//! The stop_callback callable that posts a wake-up.
struct PostStopWake {
    Waker *waker;
    void operator()() const noexcept { waker->postStopWake(); }
};

} // namespace palitra::detail
