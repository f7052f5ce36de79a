// SPDX-License-Identifier: MIT
//
// The runner: its loop thread, the queue of pending calls and its drain, and close().
//
// Path of one call: the caller's template (runner.h) builds a CallBase, execute() hands it to
// RunnerCore::dispatch(), which queues it and, only when the queue was empty, posts one drain()
// to the loop thread. drain() start()s every queued call there; each coroutine's driver
// (detail/call.h) calls CallBase::finish(), which wakes the caller blocked in execute().
#include <palitra/errors.h>
#include <palitra/runner.h>

#include "logging_p.h"
#include "loop_thread_p.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QEvent>
#include <QMetaObject>
#include <QObject>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <latch>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <sched.h>

namespace palitra {

Error::Error(const std::string &message) : std::runtime_error(message) {}
Error::~Error() = default;
TimeoutError::TimeoutError(const std::string &message) : Error(message) {}
TimeoutError::~TimeoutError() = default;
RunnerClosedError::RunnerClosedError(const std::string &message) : Error(message) {}
RunnerClosedError::~RunnerClosedError() = default;
DeadlockError::DeadlockError(const std::string &message) : Error(message) {}
DeadlockError::~DeadlockError() = default;

namespace detail {

Q_LOGGING_CATEGORY(lcPalitra, "palitra", QtInfoMsg)

namespace {

// The runner whose loop this thread runs, if any: the DeadlockError check.
thread_local const RunnerCore *tlsLoopCore = nullptr;

// A forked child has none of its parent's threads; each runner remembers the generation it
// started in, and a mismatch means "inherited from the parent".
std::atomic<unsigned> forkGeneration{0};
std::once_flag atforkRegistered;
void onForkChild() {
    forkGeneration.fetch_add(1, std::memory_order_relaxed);
}

// The one posted event that makes the loop thread drain the queue. Posting a functor with
// invokeMethod() costs two allocations (slot object and QMetaCallEvent) that the caller's thread
// makes and the loop thread frees, which defeats malloc's per-thread caches on every call. This
// event recycles its storage instead: Qt deletes a posted event after delivering it, and the
// class operator delete parks the block for the next post.
class DrainEvent final : public QEvent {
public:
    DrainEvent() : QEvent(eventType()) {}
    static QEvent::Type eventType() {
        static const auto type = static_cast<QEvent::Type>(QEvent::registerEventType());
        return type;
    }
    static void *operator new(std::size_t size) {
        if (void *block = s_spare.exchange(nullptr, std::memory_order_acquire))
            return block;
        return ::operator new(size);
    }
    static void operator delete(void *block) noexcept {
        void *none = nullptr;
        if (!s_spare.compare_exchange_strong(none, block, std::memory_order_release,
                                             std::memory_order_relaxed))
            ::operator delete(block);
    }

private:
    static inline std::atomic<void *> s_spare{nullptr};
};

// Calls still suspended when their loop ended: never resumed, never destroyed (QCoro cannot
// destroy a suspended coroutine safely), and kept reachable here for the life of the process so
// that the leak is visibly deliberate (LeakSanitizer and valgrind see them as reachable).
std::mutex abandonedMutex;
CallBase *abandonedCalls = nullptr;

// Cores whose loop thread close() had to leave running (stuck in synchronous work): that thread
// still uses its core, so it lives on, reachable from here, for the life of the process.
std::vector<std::shared_ptr<void>> *strandedCores = nullptr;

void keepStranded(std::shared_ptr<void> core) {
    const std::lock_guard lock(abandonedMutex);
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

} // namespace

class RunnerCore;

// Spinning only pays off when the loop thread can run on another CPU meanwhile.
std::chrono::nanoseconds usableSpin(std::chrono::nanoseconds requested) noexcept {
    if (requested <= std::chrono::nanoseconds::zero())
        return std::chrono::nanoseconds::zero();
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    if (sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) < 2)
        return std::chrono::nanoseconds::zero();
    return requested;
}

inline void cpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// The QObject living on the loop thread: context() for users, and the receiver of DrainEvent.
class LoopContext final : public QObject {
public:
    explicit LoopContext(RunnerCore *core) : m_core(core) {}
    bool event(QEvent *event) override;

private:
    RunnerCore *m_core;
};

class RunnerCore : public std::enable_shared_from_this<RunnerCore> {
public:
    explicit RunnerCore(RunnerOptions options) : m_options(std::move(options)) {}
    ~RunnerCore();

    void checkUsable() const;
    //! Queues \a call for the loop. Returns true when the loop was idle (the queue was empty),
    //! so that a spin may pay off. On failure the call is discarded and released, then rethrown.
    bool dispatch(CallBase *call);
    //! The spin budget of execute(): zero on a process bound to one CPU.
    std::chrono::nanoseconds spinBudget() const noexcept { return m_spinBudget; }
    void leave(CallBase *call) noexcept;
    void close();
    bool isRunning() const;
    QThread *thread();
    QObject *context();
    bool isLoopThread() const noexcept { return tlsLoopCore == this; }

    void coroutineStarted() noexcept { m_inFlight.fetch_add(1, std::memory_order_relaxed); }
    void retire(CallBase *call) noexcept;

    //! Posts \a event to the context object (the loop thread), which then owns it.
    void post(QEvent *event) {
        // Pairs with acquirePosted(): Qt hands events over under its own QMutex, which
        // ThreadSanitizer cannot see in Debian's uninstrumented Qt. This release/acquire pair
        // makes the hand-off of the event (and of what was written before it) visible to it.
        m_postFence.fetch_add(1, std::memory_order_release);
        QCoreApplication::postEvent(m_context, event);
    }
    void acquirePosted() const noexcept { (void)m_postFence.load(std::memory_order_acquire); }
    void coroutineEnded() noexcept;

private:
    friend class LoopContext;
    enum class State { Idle, Running, Closing, Closed };

    void startLocked();
    //! dispatch() without the clean-up on failure.
    bool enqueue(CallBase *call);
    void loopBody(LoopThread &thread);
    void drain() noexcept;
    void beginShutdown();
    void beginClose(std::unique_lock<std::mutex> &lock);
    void join(std::unique_lock<std::mutex> &lock);
    bool isForkedChild() const noexcept {
        return m_forkGeneration != forkGeneration.load(std::memory_order_relaxed);
    }
    void link(CallBase *call) noexcept;
    void unlink(CallBase *call) noexcept;
    void linkFlight(CallBase *call) noexcept;
    void unlinkFlight(CallBase *call) noexcept;
    // The two intrusive lists of calls (blocked callers, calls in flight) differ only in their
    // links.
    template<CallBase *CallBase::*Prev, CallBase *CallBase::*Next>
    static void pushFront(CallBase *&head, CallBase *call) noexcept;
    template<CallBase *CallBase::*Prev, CallBase *CallBase::*Next>
    static void erase(CallBase *&head, CallBase *call) noexcept;
    static void keepAbandoned(CallBase *flight) noexcept;

    const RunnerOptions m_options;
    const std::chrono::nanoseconds m_spinBudget = usableSpin(m_options.spinBeforeBlocking);

    mutable std::mutex m_mutex;
    std::condition_variable m_changed; // joined, or the last blocked caller left
    State m_state = State::Idle;
    bool m_loopFinished = false; // the event loop returned (close or behind our back)
    std::atomic<bool> m_endedBehindBack{false}; // ... without close() asking it to
    bool m_joining = false;
    std::vector<CallBase *> m_queue; // dispatched, not started yet
    CallBase *m_waiting = nullptr;   // calls whose caller may be blocked (intrusive list)
    CallBase *m_flight = nullptr;    // calls the loop has taken and not retired
    std::size_t m_waitingCount = 0;
    LoopThread *m_thread = nullptr; // owned; null once joined (or given up on)
    // The same thread, for quitting its loop from loop-side code: never cleared, since that code
    // may still run after close() gave up on a loop stuck in synchronous work (the thread object
    // is then leaked with the core, so the pointer stays valid).
    QThread *m_loopThread = nullptr;
    QObject *m_context = nullptr;
    unsigned m_forkGeneration = 0;

    std::atomic<bool> m_closed{false}; // state >= Closing, readable without the lock
    std::atomic<bool> m_started{false};
    std::atomic<bool> m_shuttingDown{false};
    std::atomic<int> m_inFlight{0};
    std::atomic<unsigned> m_postFence{0};

    std::latch m_ready{1};
    LoopWakeWord m_loopWakeWord{0};  // outlives every loop thread of this runner
    std::vector<CallBase *> m_spare; // loop thread only: recycled queue storage
};

RunnerCore::~RunnerCore() {
    // Only reached with a running thread in a forked child, where the thread does not exist:
    // deleting its QThread would qFatal, so it is left alone.
    if (m_thread && !isForkedChild())
        delete m_thread;
}

void RunnerCore::checkUsable() const {
    if (isLoopThread()) {
        throw DeadlockError(
            "palitra: run()/gather() was called on the runner's own loop thread, where waiting "
            "for the coroutine would block the loop that has to run it. Nothing was invoked and "
            "the runner is still usable; inside a coroutine, co_await the task instead.");
    }
    if (m_closed.load(std::memory_order_acquire)) {
        if (m_endedBehindBack.load(std::memory_order_acquire)) {
            throw RunnerClosedError("palitra: the runner's loop thread has ended (its event loop "
                                    "was quit outside palitra); create a new runner.");
        }
        throw RunnerClosedError("palitra: the runner is closed.");
    }
    if (m_started.load(std::memory_order_acquire) && isForkedChild()) {
        throw Error("palitra: this runner was started before fork(); its loop thread does not "
                    "exist in the child process. Create a new runner in the child (for the "
                    "global one: call palitra::shutdownGlobalRunner() first).");
    }
    if (!LoopThread::worksWithoutApplication() && !QCoreApplication::instance()) {
        throw Error("palitra: this build has no QDaemonThread (Qt's private headers were not "
                    "found), so its loop thread needs a QCoreApplication: create one first.");
    }
}

template<CallBase *CallBase::*Prev, CallBase *CallBase::*Next>
void RunnerCore::pushFront(CallBase *&head, CallBase *call) noexcept {
    call->*Prev = nullptr;
    call->*Next = head;
    if (head)
        head->*Prev = call;
    head = call;
}

template<CallBase *CallBase::*Prev, CallBase *CallBase::*Next>
void RunnerCore::erase(CallBase *&head, CallBase *call) noexcept {
    if (call->*Prev)
        call->*Prev->*Next = call->*Next;
    else
        head = call->*Next;
    if (call->*Next)
        call->*Next->*Prev = call->*Prev;
    call->*Prev = call->*Next = nullptr;
}

void RunnerCore::link(CallBase *call) noexcept {
    pushFront<&CallBase::m_prev, &CallBase::m_next>(m_waiting, call);
    ++m_waitingCount;
}

void RunnerCore::unlink(CallBase *call) noexcept {
    erase<&CallBase::m_prev, &CallBase::m_next>(m_waiting, call);
    --m_waitingCount;
}

void RunnerCore::linkFlight(CallBase *call) noexcept {
    pushFront<&CallBase::m_flightPrev, &CallBase::m_flightNext>(m_flight, call);
}

void RunnerCore::unlinkFlight(CallBase *call) noexcept {
    erase<&CallBase::m_flightPrev, &CallBase::m_flightNext>(m_flight, call);
}

void RunnerCore::keepAbandoned(CallBase *flight) noexcept {
    const std::lock_guard lock(abandonedMutex);
    while (flight) {
        CallBase *call = std::exchange(flight, flight->m_flightNext);
        call->m_isAbandoned.store(true, std::memory_order_release);
        call->m_flightPrev = nullptr;
        call->m_flightNext = abandonedCalls;
        abandonedCalls = call;
    }
}

void RunnerCore::retire(CallBase *call) noexcept {
    {
        const std::lock_guard lock(m_mutex);
        if (call->m_isAbandoned.load(std::memory_order_acquire))
            return; // resumed after its loop ended (only possible off the loop thread): keep it
        unlinkFlight(call);
    }
    call->release();
}

bool RunnerCore::dispatch(CallBase *call) {
    try {
        return enqueue(call);
    } catch (...) {
        // After enqueue()'s lock and wake-up deferral are gone: discard() runs the user's
        // destructors, which may post to a loop thread and wait for it.
        call->discard();
        call->release(); // the loop's reference: the loop will never see this call
        throw;
    }
}

bool RunnerCore::enqueue(CallBase *call) {
    // Destroyed after the lock: the loop is woken once the queue is free for it to take.
    const LoopWakeDeferral wakeAfterUnlock;
    const std::lock_guard lock(m_mutex);
    if (m_state == State::Closing || m_state == State::Closed)
        throw RunnerClosedError("palitra: the runner is closed.");
    if (m_state == State::Idle)
        startLocked();
    call->m_core = this;
    const bool wasEmpty = m_queue.empty();
    m_queue.push_back(call);
    if (wasEmpty) {
        try {
            // One posted drain per burst: later calls join the queue it will empty.
            post(new DrainEvent);
        } catch (...) {
            m_queue.pop_back();
            throw;
        }
    }
    link(call);
    return wasEmpty;
}

void RunnerCore::leave(CallBase *call) noexcept {
    const std::lock_guard lock(m_mutex);
    unlink(call);
    if (m_waitingCount == 0 && m_state != State::Running)
        m_changed.notify_all();
}

void RunnerCore::startLocked() {
    std::call_once(atforkRegistered, [] { pthread_atfork(nullptr, nullptr, onForkChild); });
    auto thread =
        std::make_unique<LoopThread>([this](LoopThread &t) { loopBody(t); }, m_loopWakeWord);
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
    m_forkGeneration = forkGeneration.load(std::memory_order_relaxed);
    m_state = State::Running;
    m_started.store(true, std::memory_order_release);
    qCDebug(lcPalitra) << "runner started its loop thread" << m_options.threadName;
}

void RunnerCore::loopBody(LoopThread &thread) {
    int abandoned = 0;
    {
        // Destroyed when the loop has ended, which also drops any drain still posted to it.
        LoopContext context(this);
        tlsLoopCore = this;
        m_context = &context;
        m_ready.count_down();

        thread.runEventLoop();

        abandoned = m_inFlight.load(std::memory_order_acquire);
        std::unique_lock lock(m_mutex);
        m_loopFinished = true;
        keepAbandoned(std::exchange(m_flight, nullptr));
        if (m_state == State::Running) {
            m_endedBehindBack.store(true, std::memory_order_release);
            qCWarning(lcPalitra) << "the event loop of runner" << m_options.threadName
                                 << "was quit outside palitra; the runner is closed";
            beginClose(lock);
        }
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

bool LoopContext::event(QEvent *event) {
    m_core->acquirePosted();
    if (event->type() == DrainEvent::eventType()) {
        m_core->drain();
        return true;
    }
    if (event->type() == shutdownEventType()) {
        m_core->beginShutdown();
        return true;
    }
    return QObject::event(event);
}

void RunnerCore::drain() noexcept {
    // A local batch, so that a callable spinning a nested event loop (which drains again) cannot
    // disturb this iteration; its storage is recycled into the queue.
    std::vector<CallBase *> batch = std::move(m_spare);
    {
        const std::lock_guard lock(m_mutex);
        batch.swap(m_queue);
        for (CallBase *call : batch)
            linkFlight(call);
    }
    for (CallBase *call : batch) {
        if (m_closed.load(std::memory_order_acquire)) {
            // close() ran inside an earlier callable: it has already released this caller.
            call->discard();
            call->retire();
        } else {
            call->start();
        }
    }
    batch.clear();
    m_spare = std::move(batch);
}

void RunnerCore::coroutineEnded() noexcept {
    if (m_inFlight.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
        m_shuttingDown.load(std::memory_order_acquire))
        m_loopThread->quit(); // thread-safe; the last coroutine ended within the grace period
}

void RunnerCore::beginShutdown() {
    m_shuttingDown.store(true, std::memory_order_release);
    const int inFlight = m_inFlight.load(std::memory_order_acquire);
    if (inFlight == 0) {
        m_loopThread->quit();
        return;
    }
    qCDebug(lcPalitra) << "runner" << m_options.threadName << "waits up to"
                       << m_options.closeGracePeriod.count() << "ms for" << inFlight
                       << "coroutine(s) to stop";
    QTimer::singleShot(m_options.closeGracePeriod, m_context, [this] { m_loopThread->quit(); });
}

// Running -> Closing: no new calls, blocked callers released, queued calls dropped, the loop
// told to wind down. Returns with the lock held again.
void RunnerCore::beginClose(std::unique_lock<std::mutex> &lock) {
    m_state = State::Closing;
    m_closed.store(true, std::memory_order_release);

    std::vector<CallBase *> queued;
    queued.swap(m_queue);
    // Every caller still blocked is released now; whoever stops waiting unlinks itself, so the
    // list only holds live calls while we hold the lock.
    CallBase *released = nullptr;
    for (CallBase *call = m_waiting; call; call = call->m_next) {
        {
            const std::lock_guard callLock(call->m_mutex);
            if (call->m_status.load(std::memory_order_relaxed) == CallStatus::Pending)
                call->m_status.store(CallStatus::Closed, std::memory_order_release);
        }
        call->m_cv.notify_one();
        call->m_refs.fetch_add(1, std::memory_order_relaxed); // kept until its stop is requested
        call->m_closeNext = released;
        released = call;
    }
    if (!m_loopFinished) {
        try {
            post(new QEvent(shutdownEventType()));
        } catch (...) {
            // Out of memory: skip the grace period rather than leave a loop nobody quits.
            m_shuttingDown.store(true, std::memory_order_release);
            m_loopThread->quit();
        }
    }

    lock.unlock();
    // Stop callbacks are user code too: run them without our lock, so that one calling back
    // into this runner gets RunnerClosedError instead of a deadlock.
    while (released) {
        CallBase *call = std::exchange(released, released->m_closeNext);
        call->m_stop.request_stop();
        call->release();
    }
    for (CallBase *call : queued) {
        call->discard();
        call->release();
    }
    qCDebug(lcPalitra) << "runner" << m_options.threadName << "closing;" << queued.size()
                       << "queued call(s) dropped";
    lock.lock();
}

void RunnerCore::join(std::unique_lock<std::mutex> &lock) {
    while (m_state != State::Closed) {
        if (!m_joining) {
            m_joining = true;
            LoopThread *thread = m_thread;
            lock.unlock();
            const bool finished =
                thread->wait(QDeadlineTimer(m_options.closeGracePeriod + joinMargin));
            lock.lock();
            if (finished) {
                // The loop thread's last use of the wake word is ordered before this by
                // QThread::wait(), which ThreadSanitizer cannot see through Debian's Qt; this
                // acquire (paired with ~LoopEventDispatcher and every wakeUp()) states it.
                (void)m_loopWakeWord.load(std::memory_order_acquire);
                delete m_thread;
            } else {
                // The loop thread is stuck in synchronous code. Deleting a running QThread is a
                // qFatal, so leave it, and keep this core alive for it.
                qCWarning(lcPalitra) << "the loop thread of runner" << m_options.threadName
                                     << "did not end within the grace period; it is left running";
                keepStranded(shared_from_this());
            }
            m_thread = nullptr;
            m_state = State::Closed;
            qCDebug(lcPalitra) << "runner" << m_options.threadName << "closed";
            m_changed.notify_all();
        } else {
            m_changed.wait(lock);
        }
    }
    // Callers released by close() may still be unlinking themselves; they touch this object.
    m_changed.wait(lock, [this] { return m_waitingCount == 0; });
}

void RunnerCore::close() {
    if (m_started.load(std::memory_order_acquire) && isForkedChild()) {
        // The parent's loop thread does not exist here, and a lock another parent thread held
        // at fork() would never be released: touch nothing, wait for nothing.
        m_closed.store(true, std::memory_order_release);
        return;
    }
    std::unique_lock lock(m_mutex);
    if (m_state == State::Idle) {
        m_state = State::Closed;
        m_closed.store(true, std::memory_order_release);
        return;
    }
    if (m_started.load(std::memory_order_relaxed) && isForkedChild()) {
        // The parent's loop thread does not exist here: nothing to wait for.
        m_state = State::Closed;
        m_closed.store(true, std::memory_order_release);
        return;
    }
    if (m_state == State::Running)
        beginClose(lock);
    if (isLoopThread())
        return; // cannot wait for our own thread; the destructor (or another close()) joins
    join(lock);
}

bool RunnerCore::isRunning() const {
    if (m_started.load(std::memory_order_acquire) && isForkedChild())
        return false; // and take no lock: one a parent thread held at fork() stays held here
    const std::lock_guard lock(m_mutex);
    return m_state == State::Running && !m_loopFinished && !isForkedChild();
}

QThread *RunnerCore::thread() {
    const std::lock_guard lock(m_mutex);
    if (m_state == State::Idle)
        startLocked();
    return m_state == State::Running ? m_thread : nullptr;
}

QObject *RunnerCore::context() {
    const std::lock_guard lock(m_mutex);
    if (m_state == State::Idle)
        startLocked();
    return m_state == State::Running ? m_context : nullptr;
}

CallBase::~CallBase() = default;

void CallBase::finish(std::exception_ptr error) noexcept {
    {
        const std::lock_guard lock(m_mutex);
        if (m_status.load(std::memory_order_relaxed) != CallStatus::Pending)
            return; // the caller has left: the late outcome is dropped with the call
        m_error = std::move(error);
        m_status.store(CallStatus::Finished, std::memory_order_release);
    }
    m_cv.notify_one();
}

void CallBase::coroutineStarted() noexcept {
    m_core->coroutineStarted();
}

void CallBase::coroutineEnded() noexcept {
    if (!m_isAbandoned.load(std::memory_order_acquire))
        m_core->coroutineEnded();
}

void CallBase::retire() noexcept {
    if (!m_isAbandoned.load(std::memory_order_acquire))
        m_core->retire(this);
}

} // namespace detail

EventLoopThreadRunner::EventLoopThreadRunner() : EventLoopThreadRunner(RunnerOptions{}) {}

EventLoopThreadRunner::EventLoopThreadRunner(RunnerOptions options)
    : d(std::make_shared<detail::RunnerCore>(std::move(options))) {}

EventLoopThreadRunner::~EventLoopThreadRunner() {
    if (d->isLoopThread()) {
        // Destroyed by code running on its own loop: the loop must keep running (for the grace
        // period) after we return, so another thread joins it and frees the core.
        d->close();
        std::thread([core = d] { core->close(); }).detach();
        return;
    }
    d->close();
}

void EventLoopThreadRunner::close() {
    d->close();
}

bool EventLoopThreadRunner::isRunning() const noexcept {
    return d->isRunning();
}

QThread *EventLoopThreadRunner::thread() {
    return d->thread();
}

QObject *EventLoopThreadRunner::context() {
    return d->context();
}

void EventLoopThreadRunner::checkUsable() const {
    d->checkUsable();
}

void EventLoopThreadRunner::execute(detail::CallBase &call, detail::Deadline deadline) {
    using detail::CallStatus;
    const bool loopWasIdle = d->dispatch(&call);

    if (loopWasIdle && d->spinBudget() > std::chrono::nanoseconds::zero()) {
        // Watch for a quick result before blocking: a caller that never sleeps needs no wake-up.
        const detail::Deadline spinEnd = std::min(deadline, detail::Clock::now() + d->spinBudget());
        while (call.m_status.load(std::memory_order_acquire) == CallStatus::Pending &&
               detail::Clock::now() < spinEnd)
            detail::cpuRelax();
    }

    CallStatus status;
    {
        std::unique_lock lock(call.m_mutex);
        const auto ended = [&call] {
            return call.m_status.load(std::memory_order_relaxed) != CallStatus::Pending;
        };
        if (deadline == detail::noDeadline)
            call.m_cv.wait(lock, ended);
        else if (!call.m_cv.wait_until(lock, deadline, ended))
            call.m_status.store(CallStatus::TimedOut, std::memory_order_release);
        status = call.m_status.load(std::memory_order_relaxed);
    }
    d->leave(&call);

    switch (status) {
    case CallStatus::Finished:
        if (call.m_error)
            std::rethrow_exception(call.m_error);
        return;
    case CallStatus::TimedOut:
        call.m_stop.request_stop();
        throw TimeoutError("palitra: the timeout passed before the coroutine finished; it was "
                           "asked to stop and its late result will be dropped.");
    case CallStatus::Closed:
    case CallStatus::Pending:
        break;
    }
    throw RunnerClosedError("palitra: the runner was closed before the call finished.");
}

} // namespace palitra
