// SPDX-License-Identifier: MIT
//
// The runner's lifecycle, its loop thread's body and close(); the call queue and its drain are
// in call_queue.cpp.
// See docs/ARCHITECTURE.md for one call's path through these functions.
#include "runner_core_p.h"

#include "call_links_p.h"
#include "drain_event_p.h"
#include "logging_p.h"

#include <palitra/errors.h>

#include <QDeadlineTimer>
#include <QEvent>
#include <QThread>
#include <QTimer>

#include <pthread.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <limits>
#include <thread>
#include <typeinfo>
#include <utility>

namespace palitra::detail {

Q_LOGGING_CATEGORY(lcPalitra, "palitra", QtInfoMsg)

namespace {

// The runner whose loop this thread runs, if any: the DeadlockError check, LoopLocal.
thread_local RunnerCore *tlsLoopCore = nullptr;

// A forked child has none of its parent's threads; each runner remembers the generation it
// started in, and a mismatch means "inherited from the parent".
std::atomic<unsigned> forkGeneration{0};
std::once_flag forkHookRegistered;

void onForkChild() {
    forkGeneration.fetch_add(1, std::memory_order_relaxed);
}

// Cores whose loop thread close() had to leave running (stuck in synchronous work): that thread
// still uses its core, so it lives on, reachable from here, for the life of the process.
std::mutex strandedMutex;
std::vector<std::shared_ptr<void>> *strandedCores = nullptr;

void keepStranded(std::shared_ptr<void> core) {
    const std::lock_guard lock(strandedMutex);
    if (!strandedCores)
        strandedCores = new std::vector<std::shared_ptr<void>>;
    strandedCores->push_back(std::move(core));
}

QEvent::Type shutdownEventType() {
    static const auto type = static_cast<QEvent::Type>(QEvent::registerEventType());
    return type;
}

// How long close() waits beyond the grace period for a loop thread that is stuck in
// synchronous user code before giving up on it.
constexpr std::chrono::milliseconds joinMargin{1000};

// The grace period as the runner uses it: none below zero, and at most what a Qt timer can arm
// (an int of milliseconds) with the join margin on top, so that no sum overflows.
RunnerOptions withUsableGrace(RunnerOptions options) {
    constexpr std::chrono::milliseconds longest =
        std::chrono::milliseconds(std::numeric_limits<int>::max()) - joinMargin;
    options.closeGracePeriod =
        std::clamp(options.closeGracePeriod, std::chrono::milliseconds::zero(), longest);
    return options;
}

} // namespace

LoopOwned::LoopOwned(RunnerCore &core) noexcept : m_core(core), m_next(core.m_owned) {
    if (m_next)
        m_next->m_previous = this;
    m_core.m_owned = this;
}

LoopOwned::~LoopOwned() {
    if (m_previous)
        m_previous->m_next = m_next;
    else
        m_core.m_owned = m_next;
    if (m_next)
        m_next->m_previous = m_previous;
}

bool LoopContext::event(QEvent *event) {
    m_core->acquirePosted();
    if (event->type() == DrainEvent::eventType()) {
#if !defined(PALITRA_LOOP_SLEEPS_ON_FUTEX)
        // Qt's own dispatcher measures no steps: the drain, which starts calls, is one.
        const LoopStep step(m_core->m_steps);
#endif
        m_core->drain();
        return true;
    }
    if (event->type() == shutdownEventType()) {
        m_core->beginShutdown();
        return true;
    }
    return QObject::event(event);
}

RunnerCore::RunnerCore(RunnerOptions options, const void *owner)
    : m_options(withUsableGrace(std::move(options))), m_exitWatch(owner),
      m_spin(m_options.spinBeforeBlocking),
      m_idleSpin(SpinPolicy::forIdleLoop(m_options.spinBeforeBlocking)),
      m_steps(m_options.stallWarning, m_options.threadName),
      m_watchdog(m_steps.isWarning() ? std::make_unique<StallWatchdog>(m_steps, m_steps.threshold(),
                                                                       m_options.threadName)
                                     : nullptr) {}

RunnerCore::~RunnerCore() {
    // Only reached with a running thread in a forked child, where the thread does not exist:
    // deleting its QThread would qFatal, so it is left alone.
    if (m_thread && !isForkedChild())
        delete m_thread;
    // Nor does the watchdog's thread, which joining would wait for forever: leave it too.
    if (m_watchdog && isForkedChild())
        (void)m_watchdog.release();
}

RunnerCore *RunnerCore::current() noexcept {
    return tlsLoopCore;
}

bool RunnerCore::isForkedChild() const noexcept {
    return m_startGeneration &&
           *m_startGeneration != forkGeneration.load(std::memory_order_relaxed);
}

void RunnerCore::checkUsable() const {
    if (isLoopThread()) {
        throw DeadlockError(
            "palitra: run()/gather() was called on the runner's own loop thread, where waiting "
            "for the coroutine would block the loop that has to run it. Nothing was invoked and "
            "the runner is still usable; inside a coroutine, co_await the task instead.");
    }
    checkUsableFromAnywhere();
}

void RunnerCore::checkUsableFromAnywhere() const {
    const Phase phase = m_phase.load(std::memory_order_acquire);
    if (phase >= Phase::Closing) {
        if (m_endedBehindBack) {
            throw RunnerClosedError("palitra: the runner's loop thread has ended (its event loop "
                                    "was quit outside palitra); create a new runner.");
        }
        throw RunnerClosedError("palitra: the runner is closed.");
    }
    if (phase != Phase::Idle && isForkedChild()) {
        throw Error("palitra: this runner was started before fork(); its loop thread does not "
                    "exist in the child process. Create a new runner in the child (for the "
                    "global one: call palitra::shutdownGlobalRunner() first).");
    }
    if (!LoopThread::worksWithoutApplication() && !QCoreApplication::instance()) {
        throw Error("palitra: this build has no QDaemonThread (Qt's private headers were not "
                    "found), so its loop thread needs a QCoreApplication: create one first.");
    }
}

void RunnerCore::post(QEvent *event) {
    // Pairs with acquirePosted(): Qt hands events over under its own QMutex, which
    // ThreadSanitizer cannot see in Debian's uninstrumented Qt. This release/acquire pair
    // makes the hand-off of the event (and of what was written before it) visible to it.
    m_postFence.fetch_add(1, std::memory_order_release);
    QCoreApplication::postEvent(m_context, event);
}

void RunnerCore::startLocked() {
    std::call_once(forkHookRegistered, [] { pthread_atfork(nullptr, nullptr, onForkChild); });
    auto thread = std::make_unique<LoopThread>([this](LoopThread &t) { loopBody(t); },
                                               m_loopWakeWord, m_steps, m_idleSpin);
    thread->setObjectName(m_options.threadName);
    // Set before start(): the loop thread reads it without the lock (thread start orders it).
    m_thread = thread.get();
    m_loopThread = m_thread;
    thread->start();
    if (!thread->isRunning()) {
        m_thread = nullptr;
        throw Error("palitra: could not start the loop thread.");
    }
    // The loop thread counts down without taking m_mutex, which this thread holds.
    m_ready.wait();
    thread.release();
    m_startGeneration = forkGeneration.load(std::memory_order_relaxed);
    setPhase(Phase::Running); // publishes m_startGeneration to the lock-free readers
    qCDebug(lcPalitra) << "runner started its loop thread" << m_options.threadName;
}

void RunnerCore::runHook(const std::function<void()> &hook, const char *name) noexcept {
    if (!hook)
        return;
    try {
        hook();
    } catch (const std::exception &e) {
        qCWarning(lcPalitra, "the %s hook of runner %s threw: %s", name,
                  qUtf8Printable(m_options.threadName), e.what());
    } catch (...) {
        qCWarning(lcPalitra, "the %s hook of runner %s threw a non-standard exception", name,
                  qUtf8Printable(m_options.threadName));
    }
}

void RunnerCore::loopBody(LoopThread &thread) {
    int abandoned = 0;
    {
        // Its keeper is joined once the loop and everything that may drain in it have ended.
        HeldWakes heldWakes(m_sharedWake, m_wakeBatchCounters);
        // Destroyed when the loop has ended, which also drops any drain still posted to it and
        // deletes the objects users parented to context().
        LoopContext context(this);
        tlsLoopCore = this;
        m_context = &context;
        m_ready.count_down();

        // Before the event loop runs, so before any call is invoked (calls only start from the
        // drain event).
        runHook(m_options.onLoopStarted, "onLoopStarted");
        if (m_watchdog)
            m_watchdog->start();
        m_heldWakes = &heldWakes;
        thread.runEventLoop();
        m_heldWakes = nullptr;
        if (m_watchdog)
            m_watchdog->stop();

        abandoned = m_inFlight.load(std::memory_order_acquire);
        m_stats.abandoned(abandoned);
        {
            std::unique_lock lock(m_mutex);
            keepAbandoned(std::exchange(m_flight, nullptr));
            // Otherwise from Closing or GracePeriod, where a close() that gave up on this thread
            // left the phase too.
            const bool endedBehindBack = phaseLocked() == Phase::Running;
            if (endedBehindBack)
                m_endedBehindBack = true; // before the phase publishes it
            setPhase(Phase::LoopEnded);
            if (endedBehindBack) {
                qCWarning(lcPalitra) << "the event loop of runner" << m_options.threadName
                                     << "was quit outside palitra; the runner is closed";
                beginClose(lock,
                           isProcessExiting() ? CloseMode::ParkWaiters : CloseMode::ReleaseWaiters);
            }
        }
        // Every coroutine has ended or is abandoned, and no call can start any more.
        runHook(m_options.onLoopFinishing, "onLoopFinishing");
        m_loopLocals.destroyAll();
        while (m_owned)
            delete m_owned; // unlinks itself
        m_context = nullptr;
    }
    tlsLoopCore = nullptr;
    if (abandoned > 0) {
        qCWarning(lcPalitra,
                  "%d coroutine(s) of runner %s were still suspended when its loop quit; they "
                  "were abandoned: never resumed, never destroyed (their frames are leaked on "
                  "purpose, since QCoro cannot destroy a suspended coroutine safely)",
                  abandoned, qUtf8Printable(m_options.threadName));
    }
}

void RunnerCore::coroutineEnded() noexcept {
    // Only in the grace period: before it the loop must still handle the shutdown event, and
    // after it the loop has returned (a coroutine ends then only by racing keepAbandoned()).
    if (m_inFlight.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        m_phase.load(std::memory_order_seq_cst) == Phase::GracePeriod) // see setPhase()
        m_loopThread->quit(); // thread-safe; the last coroutine ended within the grace period
}

void RunnerCore::beginShutdown() {
    {
        // From Closing, where close() posted this event; not when a nested loop of the loop's
        // last moments (onLoopFinishing, a LoopLocal's destructor) delivers it after the end.
        const std::lock_guard lock(m_mutex);
        if (phaseLocked() == Phase::Closing)
            setPhase(Phase::GracePeriod);
    }
    const int inFlight = m_inFlight.load(std::memory_order_seq_cst); // see setPhase()
    if (inFlight == 0) {
        m_loopThread->quit();
        return;
    }
    qCDebug(lcPalitra) << "runner" << m_options.threadName << "waits up to"
                       << m_options.closeGracePeriod.count() << "ms for" << inFlight
                       << "coroutine(s) to stop";
    QTimer::singleShot(m_options.closeGracePeriod, m_context, [this] { m_loopThread->quit(); });
}

// Right after the phase left Running (for Closing, or for LoopEnded when the loop quit by
// itself): waiters released (or parked), queued calls dropped, the loop told to wind down.
// Returns with the lock held again.
void RunnerCore::beginClose(std::unique_lock<CompactMutex> &lock, CloseMode mode) {
    std::vector<CallBase *> queued;
    queued.swap(m_queue);
    // Every waiter is released now. A blocked caller unlinks itself when it wakes; a future
    // has no thread of its own, so the one who ends it (here: close) unlinks it. Either way the
    // list only holds live calls while we hold the lock.
    CallBase *released = nullptr;
    for (CallBase *call = m_waiting; call;) {
        CallBase *next = linksOf(call).next;
        if (mode == CloseMode::ParkWaiters && call->hasBlockedCaller() && call->completion().park())
            ++m_parkedCount; // stays linked: its caller leaves only once released
        const bool closedByUs = call->completion().end(CallStatus::Closed);
        call->retain(); // kept until its stop is requested
        linksOf(call).closeNext = released;
        linksOf(call).closedByClose = closedByUs;
        released = call;
        if (closedByUs && !call->hasBlockedCaller())
            unlink(call);
        call = next;
    }
    // A stop callback or future continuation below may call close() again on this thread; that
    // close() must not wait for the very close() it is part of.
    m_requestingStopsOn = std::this_thread::get_id();
    m_closeBeganExiting = isProcessExiting();
    lock.unlock();
    // Stop callbacks and future continuations are user code: run them without our lock, so that
    // one calling back into this runner gets RunnerClosedError instead of a deadlock.
    while (released) {
        CallBase *call = std::exchange(released, linksOf(released).closeNext);
        call->requestStop();
        if (linksOf(call).closedByClose)
            call->closed();
        call->release();
    }
    for (CallBase *call : queued) {
        call->discard();
        call->release();
    }
    try {
        qCDebug(lcPalitra) << "runner" << m_options.threadName << "closing;" << queued.size()
                           << "queued call(s) dropped";
    } catch (...) {
        // Out of memory in a debug message: the shutdown below must still be posted.
    }
    lock.lock();
    m_requestingStopsOn = std::thread::id();
    // Only after every stop request: the grace period begins when the loop handles this event,
    // so it is the coroutines' whole time to answer them, however long this thread took to make
    // the requests (it may have been preempted, or run slow stop callbacks).
    postShutdown();
}

void RunnerCore::postShutdown() {
    if (m_shutdownPosted)
        return;
    m_shutdownPosted = true;
    if (phaseLocked() == Phase::Closing) { // the loop still runs
        try {
            post(new QEvent(shutdownEventType()));
        } catch (...) {
            // Out of memory: skip the grace period rather than leave a loop nobody quits.
            setPhase(Phase::GracePeriod);
            m_loopThread->quit();
        }
    }
    m_changed.notify_all(); // a join() waiting for the grace period to begin
}

void RunnerCore::join(std::unique_lock<CompactMutex> &lock) {
    // A close() racing the one that is still requesting stops: its join's deadline (the grace
    // period and a margin) must not start before the grace period itself can. Bounded the same
    // way: should that closer be stuck (a stop callback of its waiting for this thread), this one
    // begins the grace period itself, so that neither hangs and the loop still ends.
    if (!m_changed.wait_for(lock, m_options.closeGracePeriod + joinMargin,
                            [this] { return m_shutdownPosted || phaseLocked() != Phase::Closing; }))
        postShutdown();
    if (m_thread) {
        // The first closer to get here joins the thread; any later one waits for it below.
        LoopThread *const thread = std::exchange(m_thread, nullptr);
        lock.unlock();
        const bool finished = thread->wait(QDeadlineTimer(m_options.closeGracePeriod + joinMargin));
        lock.lock();
        if (finished) {
            // The loop thread's last use of the wake word is ordered before this by
            // QThread::wait(), which ThreadSanitizer cannot see through Debian's Qt; this
            // acquire (paired with ~LoopEventDispatcher and every wakeUp()) states it.
            (void)m_loopWakeWord.load(std::memory_order_acquire);
            delete thread;
            setPhase(Phase::Closed);
        } else {
            // The loop thread is stuck in synchronous code. Deleting a running QThread is a
            // qFatal, so leave it, and keep this core alive for it.
            qCWarning(lcPalitra) << "the loop thread of runner" << m_options.threadName
                                 << "did not end within the grace period; it is left running";
            keepStranded(shared_from_this());
            m_stranded = true;
        }
        qCDebug(lcPalitra) << "runner" << m_options.threadName << "closed";
        m_changed.notify_all();
    }
    m_changed.wait(lock, [this] { return phaseLocked() == Phase::Closed || m_stranded; });
    // Callers released by close() may still be unlinking themselves; they touch this object.
    // Parked ones stay until releaseParked(); each holds a reference to the runner meanwhile.
    m_changed.wait(lock, [this] { return m_waitingCount == m_parkedCount; });
}

void RunnerCore::close() {
    close(isProcessExiting() ? CloseMode::ParkWaiters : CloseMode::ReleaseWaiters);
}

void RunnerCore::releaseParked() noexcept {
    const std::lock_guard lock(m_mutex);
    for (CallBase *call = m_waiting; call; call = linksOf(call).next) {
        if (call->completion().unpark())
            --m_parkedCount;
    }
}

void RunnerCore::close(CloseMode mode) {
    // User code that close() runs (a stop callback, a future continuation) may destroy the
    // runner that owns this core: keep it until close() is done with it.
    const std::shared_ptr<RunnerCore> self = weak_from_this().lock();
    if (m_phase.load(std::memory_order_acquire) != Phase::Idle && isForkedChild()) {
        // The parent's loop thread does not exist here, and a lock another parent thread held
        // at fork() would never be released: touch nothing, wait for nothing.
        setPhase(Phase::Closed);
        return;
    }
    std::unique_lock lock(m_mutex);
    if (phaseLocked() == Phase::Idle) {
        setPhase(Phase::Closed);
        return;
    }
    if (isForkedChild()) {
        // The parent's loop thread does not exist here: nothing to wait for.
        setPhase(Phase::Closed);
        return;
    }
    if (phaseLocked() == Phase::Running) {
        setPhase(Phase::Closing);
        beginClose(lock, mode);
    }
    if (isLoopThread())
        return; // cannot wait for our own thread; the destructor (or another close()) joins
    if (m_requestingStopsOn == std::this_thread::get_id()) {
        // Inside this thread's own close(), in user code it runs: that close() joins once the
        // user code returns. Unless that user code began the process's exit (exit() from a stop
        // callback): the outer close() never resumes, so the loop is told to end and joined now.
        if (!isProcessExiting() || m_closeBeganExiting)
            return;
        postShutdown();
    }
    join(lock);
}

bool RunnerCore::isRunning() const {
    if (m_phase.load(std::memory_order_acquire) != Phase::Idle && isForkedChild())
        return false; // and take no lock: one a parent thread held at fork() stays held here
    const std::lock_guard lock(m_mutex);
    // The loop cannot have returned while Running: the lock hold that sees it leaves Running.
    return phaseLocked() == Phase::Running && !isForkedChild();
}

RunnerStats RunnerCore::statsNow() const noexcept {
    RunnerStats stats = m_stats.read();
    stats.longestStall = m_steps.longest();
    return stats;
}

QThread *RunnerCore::thread() {
    const std::lock_guard lock(m_mutex);
    if (phaseLocked() == Phase::Idle)
        startLocked();
    return phaseLocked() == Phase::Running ? m_thread : nullptr;
}

QObject *RunnerCore::context() {
    const std::lock_guard lock(m_mutex);
    if (phaseLocked() == Phase::Idle)
        startLocked();
    return phaseLocked() == Phase::Running ? m_context : nullptr;
}

} // namespace palitra::detail
