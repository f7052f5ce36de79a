// SPDX-License-Identifier: MIT
#pragma once

#include <QThread>

#include <atomic>
#include <functional>

#if defined(PALITRA_HAVE_DAEMON_THREAD)
#include <QtCore/private/qthread_p.h>
#endif

// PALITRA_LOOP_SLEEPS_ON_FUTEX (set by src/CMakeLists.txt with loop_dispatcher_p.cpp): the loop
// thread sleeps on a futex while it has no socket to watch (LoopEventDispatcher).

namespace palitra::detail {

class LoopSteps;

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

#if defined(PALITRA_HAVE_DAEMON_THREAD)
// Qt 6 drops events sent to objects of a plain QThread while no QCoreApplication exists (and
// exec() complains). QDaemonThread, which Qt D-Bus uses for its own thread, lifts that
// requirement for the thread it runs, before the application exists and after it is gone.
using LoopThreadBase = QDaemonThread;
#else
using LoopThreadBase = QThread;
#endif

//! The loop thread: runs the body it is given (which calls runEventLoop()).
class LoopThread final : public LoopThreadBase {
public:
    //! \a wakeWord must outlive the thread (LoopWakeWord); so must \a steps, the clock of its
    //! loop steps.
    LoopThread(std::function<void(LoopThread &)> body, LoopWakeWord &wakeWord, LoopSteps &steps);
    ~LoopThread() override;

    //! QThread::exec(), which is protected.
    int runEventLoop();

    //! Whether the loop thread delivers events without a QCoreApplication.
    static constexpr bool worksWithoutApplication() {
#if defined(PALITRA_HAVE_DAEMON_THREAD)
        return true;
#else
        return false;
#endif
    }

protected:
    void run() override;

private:
    std::function<void(LoopThread &)> m_body;
};

} // namespace palitra::detail
