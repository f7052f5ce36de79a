// SPDX-License-Identifier: MIT
#include "loop_thread_p.h"

#if defined(PALITRA_LOOP_SLEEPS_ON_FUTEX)
#include "loop_dispatcher_p.h"
#elif defined(PALITRA_HAVE_DAEMON_THREAD)
#include <QtCore/private/qeventdispatcher_unix_p.h>
#endif

namespace palitra::detail {

LoopThread::LoopThread(std::function<void(LoopThread &)> body,
                       [[maybe_unused]] LoopWakeWord &wakeWord, [[maybe_unused]] LoopSteps &steps,
                       [[maybe_unused]] SpinPolicy &idleSpin)
    : m_body(std::move(body)) {
#if defined(PALITRA_HAVE_DAEMON_THREAD)
    // Qt's poll()-based dispatcher instead of the glib one Debian's Qt picks by default: one
    // round trip through the loop costs about 2,200 fewer instructions (g_main_context_prepare/
    // check/query/dispatch), a third of a run() call. This thread is palitra's own, so nothing
    // attaches glib sources to it. On Linux it sleeps on a futex while it has no socket to
    // watch (see LoopEventDispatcher).
#if defined(PALITRA_LOOP_SLEEPS_ON_FUTEX)
    setEventDispatcher(new LoopEventDispatcher(wakeWord, steps, idleSpin));
#else
    setEventDispatcher(new QEventDispatcherUNIX);
#endif
#endif
}

LoopThread::~LoopThread() = default;

int LoopThread::runEventLoop() {
    return exec();
}

void LoopThread::run() {
    m_body(*this);
}

} // namespace palitra::detail
