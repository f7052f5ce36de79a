// SPDX-License-Identifier: MIT
#include "loop_dispatcher_p.h"

#include <QtCore/private/qcoreapplication_p.h>
#include <QtCore/private/qthread_p.h>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

namespace palitra::detail {

namespace {

QEventDispatcherUNIXPrivate *privateOf(QEventDispatcherUNIX *dispatcher) {
    // QObjectPrivate::get is public; the dispatcher's private is the Unix one by construction.
    return static_cast<QEventDispatcherUNIXPrivate *>(QObjectPrivate::get(dispatcher));
}

int *futexWord(LoopWakeWord &word) {
    static_assert(sizeof(LoopWakeWord) == sizeof(int) && LoopWakeWord::is_always_lock_free);
    return reinterpret_cast<int *>(&word);
}

void wakeOne(LoopWakeWord &word) noexcept {
    syscall(SYS_futex, futexWord(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

thread_local LoopWakeDeferral *tlsDeferral = nullptr;

} // namespace

LoopWakeDeferral::LoopWakeDeferral() noexcept : m_outer(tlsDeferral) {
    tlsDeferral = this;
}

LoopWakeDeferral::~LoopWakeDeferral() {
    tlsDeferral = m_outer;
    if (m_pending)
        wakeOne(*m_pending);
}

bool LoopWakeDeferral::defer(LoopWakeWord &word) noexcept {
    LoopWakeDeferral *const deferral = tlsDeferral;
    if (!deferral || (deferral->m_pending && deferral->m_pending != &word))
        return false; // one loop per scope: a second one is woken at once
    deferral->m_pending = &word;
    return true;
}

LoopEventDispatcher::LoopEventDispatcher(LoopWakeWord &state) : m_state(state) {
    m_state.store(Idle);
}
LoopEventDispatcher::~LoopEventDispatcher() = default;

bool LoopEventDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags) {
    // Socket notifiers are registered on this thread only, so this test cannot race.
    if (!privateOf(this)->socketNotifiers.isEmpty())
        return pollPass(flags);
    return futexPass(flags);
}

bool LoopEventDispatcher::pollPass(QEventLoop::ProcessEventsFlags flags) {
    // From here on, a wakeUp() that finds the state Idle writes Qt's eventfd. One that found it
    // Pending before this store (and wrote nothing) posted before it: Qt's pass below sends it.
    m_pollMode.store(true);
    m_state.store(Idle);
    return QEventDispatcherUNIX::processEvents(flags);
}

bool LoopEventDispatcher::futexPass(QEventLoop::ProcessEventsFlags flags) {
    QEventDispatcherUNIXPrivate *const d = privateOf(this);
    m_pollMode.store(false);
    d->interrupt.storeRelaxed(0);
    Q_EMIT awake();

    // Every event posted before this exchange is sent just below; one posted after it leaves
    // the state Pending, and then the loop does not go to sleep.
    const bool wasWoken = m_state.exchange(Idle) == Pending;
    QThreadData *const threadData = d->threadData.loadRelaxed();
    QCoreApplicationPrivate::sendPostedEvents(nullptr, 0, threadData);

    // A posted event may have created the first socket notifier: then only poll() can wait.
    if (!d->socketNotifiers.isEmpty())
        return pollPass(flags) || wasWoken;

    const bool includeTimers = !(flags & QEventLoop::X11ExcludeTimers);
    const bool canWait = (flags & QEventLoop::WaitForMoreEvents) && threadData->canWaitLocked() &&
                         !d->interrupt.loadRelaxed();
    if (canWait)
        Q_EMIT aboutToBlock();
    if (d->interrupt.loadRelaxed())
        return false;

    bool woken = wasWoken;
    if (canWait) {
        timespec untilNextTimer{};
        const bool hasTimer = includeTimers && d->timerList.timerWait(untilNextTimer);
        if (!hasTimer || untilNextTimer.tv_sec > 0 || untilNextTimer.tv_nsec > 0)
            woken = sleep(hasTimer ? &untilNextTimer : nullptr) || woken;
    }

    int events = woken ? 1 : 0;
    if (includeTimers)
        events += d->activateTimers();
    return events > 0;
}

bool LoopEventDispatcher::sleep(const timespec *timeout) {
    int expected = Idle;
    if (!m_state.compare_exchange_strong(expected, Sleeping))
        return true; // a wake-up arrived since the pass began
    // Returns when woken, when the state is no longer Sleeping (EAGAIN), on timeout or on a
    // signal. Any of them ends this pass; QEventLoop comes back with a fresh timeout.
    syscall(SYS_futex, futexWord(m_state), FUTEX_WAIT_PRIVATE, int(Sleeping), timeout, nullptr, 0);
    expected = Sleeping;
    return !m_state.compare_exchange_strong(expected, Idle);
}

void LoopEventDispatcher::wakeUp() {
    switch (m_state.exchange(Pending)) {
    case Sleeping:
        // Only this wake-up can end the sleep: the state is Pending now, so no later wakeUp()
        // will make one. Held back or not, it is made exactly once.
        if (!LoopWakeDeferral::defer(m_state))
            wakeOne(m_state);
        break;
    case Idle:
        // The loop is awake, or about to sleep in poll() where only the eventfd reaches it.
        if (m_pollMode.load())
            QEventDispatcherUNIX::wakeUp();
        break;
    default:
        break; // already pending: whoever made it pending did the waking
    }
}

} // namespace palitra::detail
