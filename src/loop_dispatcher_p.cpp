// SPDX-License-Identifier: MIT
#include "loop_dispatcher_p.h"

#include "runner_stats_p.h"
#include "spin_policy_p.h"

#include <QtCore/private/qcoreapplication_p.h>
#include <QtCore/private/qthread_p.h>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <utility>

#if defined(__SANITIZE_THREAD__)
#define PALITRA_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PALITRA_TSAN 1
#endif
#endif
#if defined(PALITRA_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace palitra::detail {

namespace {

// Qt hands the dispatcher to posting threads, and orders their wakeUp() calls before its
// deletion, with its own atomics and QMutex, which ThreadSanitizer cannot see in Debian's
// uninstrumented Qt. These annotations state that ordering; without TSan they are nothing.
void tsanRelease([[maybe_unused]] void *object) noexcept {
#if defined(PALITRA_TSAN)
    __tsan_release(object);
#endif
}

void tsanAcquire([[maybe_unused]] void *object) noexcept {
#if defined(PALITRA_TSAN)
    __tsan_acquire(object);
#endif
}

QEventDispatcherUNIXPrivate *privateOf(QEventDispatcherUNIX *dispatcher) {
    // QObjectPrivate::get is public; the dispatcher's private is the Unix one by construction.
    return static_cast<QEventDispatcherUNIXPrivate *>(QObjectPrivate::get(dispatcher));
}

} // namespace

LoopEventDispatcher::LoopEventDispatcher(LoopWakeWord &state, LoopSteps &steps,
                                         SpinPolicy &idleSpin)
    : m_state(state), m_steps(steps), m_idleSpin(idleSpin) {
    m_state.store(0);
    tsanRelease(this); // published to posting threads by Qt (QThreadData::eventDispatcher)
}
LoopEventDispatcher::~LoopEventDispatcher() {
    tsanAcquire(this); // every wakeUp() on this object has returned (see wakeUp())
    // The word outlives this thread; whoever frees it acquires it after joining the thread.
    m_state.fetch_or(0, std::memory_order_release);
}

bool LoopEventDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags) {
    // Socket notifiers are registered on this thread only, and only this thread changes the
    // poll depth: neither test can race. A pass nested in a poll pass (user code calling
    // processEvents() or running a QEventLoop) polls too, so that wakeUp() has one way to reach
    // whatever pass is blocked.
    ++m_passes;
    if (!privateOf(this)->socketNotifiers.isEmpty() ||
        m_state.load(std::memory_order_relaxed) >= PollDepthUnit)
        return pollPass(flags);
    return futexPass(flags);
}

bool LoopEventDispatcher::pollPass(QEventLoop::ProcessEventsFlags flags) {
    struct DepthScope {
        LoopWakeWord &word;
        ~DepthScope() { word.fetch_sub(PollDepthUnit); }
    };
    // From here on wakeUp() writes Qt's eventfd and sets no Pending. A Pending already set was
    // set outside any poll pass, so nothing was written for it, and it may stand for an
    // interrupt() (QThread::quit(), QEventLoop::exit()) whose flag Qt's pass clears first:
    // hand it on to the eventfd, which keeps Qt's pass from blocking.
    const int previous = m_state.fetch_add(PollDepthUnit);
    const DepthScope depth{m_state};
    if (previous & Pending) {
        m_state.fetch_and(~Pending);
        QEventDispatcherUNIX::wakeUp();
    }
    // Qt's pass is one loop step up to its poll(): it says so with aboutToBlock(), connected
    // only once a poll pass has run, so that futex passes emit it to nobody. What Qt's pass
    // does after its poll() returns (socket notifiers, timers) is not measured.
    if (!m_pollStepsConnected) {
        m_pollStepsConnected = true;
        connect(this, &QAbstractEventDispatcher::aboutToBlock, this, [this] {
            if (m_pollStepOpen && *m_pollStepOpen) {
                *m_pollStepOpen = false;
                m_steps.endAlone();
            }
        });
    }
    bool stepOpen = true;
    bool *const outerStep = std::exchange(m_pollStepOpen, &stepOpen);
    m_steps.begin();
    const bool result = QEventDispatcherUNIX::processEvents(flags);
    if (stepOpen)
        m_steps.end();
    else
        m_steps.resumeOuter();
    m_pollStepOpen = outerStep;
    return result;
}

bool LoopEventDispatcher::futexPass(QEventLoop::ProcessEventsFlags flags) {
    QEventDispatcherUNIXPrivate *const d = privateOf(this);
    const quint64 pass = m_passes;
    d->interrupt.storeRelaxed(0);
    Q_EMIT awake();

    // A wake-up made since the last sleep ended keeps this pass awake, as Qt's readable eventfd
    // does: it may be an event posted before the exchange (sent just below), or an interrupt()
    // whose flag was cleared just above.
    const bool wasWoken = (m_state.fetch_and(~Pending) & Pending) != 0;
    QThreadData *const threadData = d->threadData.loadRelaxed();
    {
        // The posted events of this pass are one loop step (RunnerStats::longestStall): the
        // drain that starts calls, queued signals, QCoro's resumptions.
        const LoopStep step(m_steps);
        QCoreApplicationPrivate::sendPostedEvents(nullptr, 0, threadData);
    }

    // A posted event may have created the first socket notifier: then only poll() can wait.
    if (!d->socketNotifiers.isEmpty())
        return pollPass(wasWoken ? flags & ~QEventLoop::WaitForMoreEvents : flags) || wasWoken;

    const bool includeTimers = !(flags & QEventLoop::X11ExcludeTimers);
    // A pass nested in this one (a callable calling processEvents() or running a QEventLoop)
    // may have consumed a wake-up and cleared the interrupt flag of a QThread::quit() meant
    // for this loop too: then return, so that QEventLoop looks at its exit flag again.
    const bool nestedPassRan = m_passes != pass;
    const bool canWait = (flags & QEventLoop::WaitForMoreEvents) && !wasWoken && !nestedPassRan &&
                         threadData->canWaitLocked() && !d->interrupt.loadRelaxed();
    if (canWait)
        Q_EMIT aboutToBlock();
    if (d->interrupt.loadRelaxed())
        return false;

    bool woken = wasWoken;
    // aboutToBlock() handlers may have created a socket notifier: then the next pass polls.
    if (canWait && d->socketNotifiers.isEmpty()) {
        timespec untilNextTimer{};
        const bool hasTimer = includeTimers && d->timerList.timerWait(untilNextTimer);
        if (!hasTimer || untilNextTimer.tv_sec > 0 || untilNextTimer.tv_nsec > 0) {
            // A step this pass is nested in pauses while it sleeps (no-op at the top level).
            m_steps.waiting();
            woken = sleep(hasTimer ? &untilNextTimer : nullptr);
            m_steps.resumeOuter();
        }
    }

    int events = woken ? 1 : 0;
    if (includeTimers && !d->timerList.isEmpty()) {
        const LoopStep step(m_steps); // the timers due now: another step
        events += d->activateTimers();
    }
    return events > 0;
}

bool LoopEventDispatcher::sleep(const timespec *timeout) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = timeout ? Clock::now() + std::chrono::seconds(timeout->tv_sec) +
                                        std::chrono::nanoseconds(timeout->tv_nsec)
                                  : Clock::time_point::max();
    // A caller that queues a call while the loop spins here sets Pending and makes no system
    // call, and the loop takes the call without the cross-CPU wake-up that is most of an
    // unpinned round trip. The policy spins only while such spins recently caught work, and
    // never on one CPU, so an idle loop soon sleeps at once. A wake-up that is already here is
    // taken without asking the policy (it is no catch of a spin's).
    if ((m_state.load() & Pending) || m_idleSpin.spinIdle(m_state, Pending, deadline)) {
        m_state.fetch_and(~Pending); // consumed here
        return true;
    }
    // The spin took some of the time to the next timer: sleep only for what is left of it.
    const auto timeLeft = [&](timespec &left) {
        const auto rest = deadline - Clock::now();
        if (rest <= Clock::duration::zero())
            return false;
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(rest);
        left.tv_sec = static_cast<time_t>(seconds.count());
        left.tv_nsec = static_cast<long>((rest - seconds).count());
        return true;
    };
    timespec remaining{};
    if (timeout && !timeLeft(remaining)) // the timer is due: no sleep at all
        return (m_state.fetch_and(~Pending) & Pending) != 0;
    int expected = 0;
    if (!m_state.compare_exchange_strong(expected, Sleeping)) {
        m_state.fetch_and(~Pending); // a wake-up arrived since the pass began: consumed here
        return true;
    }
    for (;;) {
        const long result = syscall(SYS_futex, futexWord(m_state), FUTEX_WAIT_PRIVATE,
                                    int(Sleeping), timeout ? &remaining : nullptr, nullptr, 0);
        // Woken, or the word is no longer Sleeping (EAGAIN), or timed out: done. A signal
        // (EINTR) or a spurious return with the word unchanged: sleep on for the time left, as
        // Qt's poll() does.
        if ((result == -1 && errno != EINTR) || m_state.load() != Sleeping)
            break;
        if (timeout && !timeLeft(remaining))
            break;
    }
    // Consumed here, so that the next pass sleeps again unless a newer wake-up arrives.
    return (m_state.fetch_and(~(Pending | Sleeping)) & Pending) != 0;
}

void LoopEventDispatcher::wakeUp() {
    tsanAcquire(this);
    // Read before the word changes: from then on the loop may run, end its thread and delete
    // this dispatcher. The word itself is the runner's and outlives the thread.
    LoopWakeWord &word = m_state;
    tsanRelease(this);
    // A read-modify-write even when it changes nothing (a poll pass is running): that orders
    // what the waker did before (QEventLoop::exit()'s flag, a posted event) before the loop's
    // next change of the word, so the loop cannot miss it between two passes.
    int previous = word.load(std::memory_order_relaxed);
    while (!word.compare_exchange_weak(previous,
                                       previous >= PollDepthUnit ? previous : previous | Pending)) {
    }
    if (previous >= PollDepthUnit) {
        // A poll pass is on the loop's stack, and every blocked pass is a poll() on Qt's
        // eventfd: Qt's own wake-up (deduplicated by Qt), with Qt's own lifetime rules.
        QEventDispatcherUNIX::wakeUp();
        tsanRelease(this);
    } else if (previous & Sleeping) {
        // The first wake-up of this sleep may be held back until the caller's lock is released
        // (LoopWakeDeferral); any later one wakes at once, so that a thread preempted while it
        // holds a wake back delays nobody else. A second wake of one sleep is harmless.
        if ((previous & Pending) || !LoopWakeDeferral::defer(word))
            wakeOne(word);
    }
    // Otherwise the loop is awake (or already woken) and finds Pending before it sleeps.
}

} // namespace palitra::detail
