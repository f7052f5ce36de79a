// SPDX-License-Identifier: MIT
#pragma once

#include "loop_wake_word_p.h"

#include <QtCore/private/qeventdispatcher_unix_p.h>

#include <atomic>

namespace palitra::detail {

class LoopSteps;
class SpinPolicy;

/*
 * The loop thread's event dispatcher: Qt's Unix dispatcher, except that while no socket notifier
 * is registered it sleeps on a futex instead of in poll() on an eventfd.
 *
 * Why: a palitra loop is woken once per batch of calls, and its wake-up is most of a run()'s
 * cost. Qt's wake-up is an eventfd write (caller), then a poll() return and an eventfd read
 * (loop); a futex is one wake and one wait return, which is what a condition variable (and
 * Boost.Asio's idle scheduler) costs. Timers keep working through Qt's own timer list, whose
 * next expiry becomes the futex timeout. As soon as a socket notifier exists (a QTcpSocket, a
 * QNetworkAccessManager connection) the loop has file descriptors to watch, and each pass is
 * Qt's poll() pass unchanged.
 *
 * The futex word is the runner's (LoopWakeWord), so that a wake-up held back by a
 * LoopWakeDeferral never lands on freed memory.
 */
class LoopEventDispatcher final : public QEventDispatcherUNIX {
public:
    //! Sleeps on \a state; measures its steps on \a steps (RunnerStats::longestStall); spins
    //! before it sleeps as \a idleSpin says. All three must outlive the thread.
    LoopEventDispatcher(LoopWakeWord &state, LoopSteps &steps, SpinPolicy &idleSpin);
    ~LoopEventDispatcher() override;

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;
    void wakeUp() override;

private:
    bool pollPass(QEventLoop::ProcessEventsFlags flags);
    bool futexPass(QEventLoop::ProcessEventsFlags flags);
    //! Sleeps on the futex unless a wake-up is pending (or arrives during the idle spin); true
    //! if woken (not timed out). Retries on EINTR with the time left.
    bool sleep(const timespec *timeout);

    // The wake word: two flags and, above them, how many poll passes are on the loop's stack.
    // One word, so that wakeUp() learns where the loop would block and leaves its mark in one
    // atomic step.
    enum WakeWordBits : int {
        Pending = 1,       //!< a wake-up arrived outside any poll pass since the loop last looked
        Sleeping = 2,      //!< the loop sleeps on the futex (never inside a poll pass)
        PollDepthUnit = 4, //!< one poll pass on the stack: there, only Qt's eventfd wakes it
    };
    LoopWakeWord &m_state;
    LoopSteps &m_steps;
    SpinPolicy &m_idleSpin;
    bool *m_pollStepOpen = nullptr; // the innermost poll pass's step is open; loop thread only
    bool m_pollStepsConnected = false;
    quint64 m_passes = 0; // passes begun, nested ones included; loop thread only
};

} // namespace palitra::detail
