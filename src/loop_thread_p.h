// SPDX-License-Identifier: MIT
#pragma once

#include "loop_wake_word_p.h"

#include <QThread>

#include <functional>

#if defined(PALITRA_HAVE_DAEMON_THREAD)
#include <QtCore/private/qthread_p.h>
#endif

namespace palitra::detail {

class LoopSteps;
class SpinPolicy;

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
    //! loop steps, and \a idleSpin, the policy of its spin before it sleeps.
    LoopThread(std::function<void(LoopThread &)> body, LoopWakeWord &wakeWord, LoopSteps &steps,
               SpinPolicy &idleSpin);
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
