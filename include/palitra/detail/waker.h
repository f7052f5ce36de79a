// SPDX-License-Identifier: MIT
// Not public API: palitra::detail may change in any release.
#pragma once

#include <palitra/palitra_export.h>

#include <QObject>

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
    explicit Waker(std::coroutine_handle<> handle);
    ~Waker() override;

    //! Resumes the coroutine unless it was resumed already. Waker's thread only.
    void wake(bool byStop);
    //! Any thread: queue wake(true) to the Waker's thread. Never resumes inline.
    void postStopWake() noexcept;
    //! Wake after \a timeout with wake(false).
    void startTimeout(std::chrono::milliseconds timeout);
    //! The awaiter is gone: forget the coroutine and delete this object from the event loop.
    void detach() noexcept;

    bool wokeByStop() const noexcept { return m_wokeByStop; }

protected:
    void timerEvent(QTimerEvent *event) override;

private:
    std::coroutine_handle<> m_handle;
    int m_timerId = 0;
    bool m_wokeByStop = false;
};

//! The stop_callback callable that posts a wake-up.
struct PostStopWake {
    Waker *waker;
    void operator()() const noexcept { waker->postStopWake(); }
};

} // namespace palitra::detail
