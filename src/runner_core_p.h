// SPDX-License-Identifier: MIT
#pragma once

#include <palitra/detail/call.h>
#include <palitra/detail/compact_mutex.h>
#include <palitra/runner.h>

#include "loop_local_registry_p.h"
#include "loop_thread_p.h"
#include "loop_wake_word_p.h"
#include "process_exit_p.h"
#include "runner_stats_p.h"
#include "spin_policy_p.h"
#include "stall_watchdog_p.h"
#include "wake_batch_p.h"

#include <QCoreApplication>
#include <QObject>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace palitra::detail {

class RunnerCore;

//! How close() treats the callers blocked on other threads.
enum class CloseMode {
    //! An explicit close(): they are released at once with RunnerClosedError.
    ReleaseWaiters,
    //! The process is exiting: they stay blocked until it ends (parked), so that no thread but
    //! the exiting one wakes, throws or runs user code. releaseParked() can release them later.
    ParkWaiters,
};

//! palitra's own access to the core behind a public EventLoopThreadRunner.
struct RunnerInternals {
    static RunnerCore &core(EventLoopThreadRunner &runner) noexcept { return *runner.d; }
};

//! The QObject living on the loop thread: context() for users, and the receiver of the drain
//! and shutdown events.
class LoopContext final : public QObject {
public:
    explicit LoopContext(RunnerCore *core) : m_core(core) {}
    bool event(QEvent *event) override;

private:
    RunnerCore *m_core;
};

/*!
 * What an EventLoopThreadRunner is: its lifecycle, its loop thread, the queue of calls waiting
 * for that thread, and the lists of calls it must account for at close().
 *
 * Lifecycle: one Phase, changed under m_mutex, only ever forward. It is an atomic so that the
 * few readers that must not take the lock (a call's checks, the drain, the last coroutine's end,
 * fork) read it with acquire.
 *
 *     Idle ──first call / thread() / context()──▶ Running ──close()──▶ Closing
 *      │                                            │                    │ the loop handles the
 *      │                                            │                    ▼ shutdown event
 *      │                          event loop quit   │               GracePeriod
 *      │                          outside palitra   │                    │ last coroutine ended,
 *      │                                            ▼                    ▼ or grace period over
 *      │                                        LoopEnded ◀──────────────┘
 *      │                                            │ the loop thread joined
 *      └──────────────────close()────────────────▶ Closed
 *
 * Closing also goes straight to LoopEnded when the loop quits before it handles the shutdown
 * event, and to GracePeriod when that event cannot be posted. In a forked child, close() of a
 * runner started in the parent sets Closed without the lock (a parent thread may have held it at
 * fork()). Two facts beside the phase are not phases:
 * - m_endedBehindBack: why the runner closed (its loop quit outside palitra), which the error
 *   message needs in every phase after Running, Closed included.
 * - who joins: the one close() that takes m_thread waits for it while the loop thread goes on
 *   through GracePeriod and LoopEnded by itself, so the join is no step of that sequence. A
 *   close() that gives up on a thread stuck in synchronous work leaves the phase where the loop
 *   is (that thread may still end its grace period and its loop) and marks it m_stranded.
 *
 * One call's path: dispatch() queues it and, only when the queue was empty, posts one
 * DrainEvent; the loop thread's drain() start()s every queued call; the call's Completion hands
 * the outcome back; the caller (or the future's winner) leaves the waiting list.
 */
/*!
 * An object the loop thread owns: deleted when the loop ends, unless it deleted itself before.
 * Linked and unlinked in O(1) however many there are (a QObject parent is not: taking a child
 * out searches the parent's list, so N children deleted newest first cost N^2). Loop thread
 * only.
 */
class LoopOwned {
public:
    explicit LoopOwned(RunnerCore &core) noexcept;
    virtual ~LoopOwned();
    LoopOwned(const LoopOwned &) = delete;
    LoopOwned &operator=(const LoopOwned &) = delete;

private:
    friend class RunnerCore;
    RunnerCore &m_core;
    LoopOwned *m_previous = nullptr;
    LoopOwned *m_next = nullptr;
};

//! What a blocked caller learns from queueing its call: how it may wait for it.
struct Dispatched {
    //! The loop was idle (the queue was empty and no drain has been running callables for
    //! longer than the spin budget), so that a spin may pay off.
    bool loopWasIdle = false;
    //! The word to sleep on first so that the loop may batch this caller's wake-up with others'
    //! (Completion::wait(), WakeBatch); null when it is to sleep on its own word.
    CallerWakeWord *sharedWake = nullptr;
};

class RunnerCore : public std::enable_shared_from_this<RunnerCore> {
public:
    //! \a owner: the EventLoopThreadRunner this core is behind (its address only: whether it
    //! lives in static storage).
    RunnerCore(RunnerOptions options, const void *owner);
    ~RunnerCore();

    //! The runner that this thread is the loop thread of, or null.
    static RunnerCore *current() noexcept;

    //! Throws DeadlockError on this runner's loop thread, then checkUsableFromAnywhere().
    void checkUsable() const;
    //! Throws RunnerClosedError once closed, Error in a forked child or without the
    //! application the loop thread needs.
    void checkUsableFromAnywhere() const;
    //! Queues \a call for the loop and says how its caller may wait (see Dispatched). On failure
    //! the call is discarded, the loop's reference dropped, and the error rethrown.
    Dispatched dispatch(CallBase *call);
    //! Whether, and how long, a caller spins before it blocks.
    SpinPolicy &spinPolicy() noexcept { return m_spin; }
    //! Whether, and how long, the idle loop thread spins before it sleeps.
    SpinPolicy &idleSpinPolicy() noexcept { return m_idleSpin; }
    //! The waiter of \a call stops waiting: it leaves the waiting list.
    void leave(CallBase *call) noexcept;
    //! close() in the mode the process is in: parks blocked callers while it exits.
    void close();
    void close(CloseMode mode);
    //! Releases, with RunnerClosedError, the callers a ParkWaiters close() left blocked.
    void releaseParked() noexcept;
    bool isRunning() const;
    QThread *thread();
    QObject *context();
    //! The loop thread's context object, for loop-side code only (no lock, no start).
    QObject *loopContext() const noexcept { return m_context; }
    bool isLoopThread() const noexcept { return current() == this; }
    //! The runner's name (RunnerOptions::threadName), for messages.
    const QString &name() const noexcept { return m_options.threadName; }
    //! The values of LoopLocal objects for this loop thread. Loop thread only.
    LoopLocalRegistry &loopLocals() noexcept { return m_loopLocals; }

    //! RunnerStats' counters, changed where calls end.
    StatsCounters &stats() noexcept { return m_stats; }
    //! EventLoopThreadRunner::stats().
    RunnerStats statsNow() const noexcept;
    //! detail::wakeBatchStats().
    WakeBatchStats wakeBatchStats() const noexcept { return m_wakeBatchCounters.stats(); }
    //! The stallWarning watchdog, where blocked callers register; null when warnings are off.
    StallWatchdog *watchdog() const noexcept { return m_watchdog.get(); }

    void coroutineStarted() noexcept { m_inFlight.fetch_add(1, std::memory_order_relaxed); }
    void coroutineEnded() noexcept;
    //! The loop side is done with \a call: it leaves the in-flight list and the loop's
    //! reference is dropped.
    void retire(CallBase *call) noexcept;

private:
    friend class LoopContext;
    friend class LoopOwned;
    //! The runner's lifecycle; see the class comment for its diagram.
    enum class Phase : std::uint8_t {
        Idle,        //!< no loop thread yet: the first call, thread() or context() starts it
        Running,     //!< the loop thread takes calls
        Closing,     //!< close() asked: no new calls, waiters released, stops being requested;
                     //!< the shutdown event is posted once they all have been
        GracePeriod, //!< the loop quits when the last coroutine ends or the grace period is over
        LoopEnded,   //!< the event loop returned; the loop thread is ending
        Closed,      //!< the loop thread is joined (or never started, or exists only in a parent)
    };

    //! Posts \a event to the context object (the loop thread), which then owns it.
    void post(QEvent *event);
    //! Pairs with post() for ThreadSanitizer: see there.
    void acquirePosted() const noexcept { (void)m_postFence.load(std::memory_order_acquire); }

    //! The phase, read under m_mutex (where it only changes).
    Phase phaseLocked() const noexcept { return m_phase.load(std::memory_order_relaxed); }
    //! Moves the phase on, under m_mutex (but in close() in a forked child); released to the
    //! lock-free readers.
    // Sequentially consistent: beginShutdown() stores GracePeriod then reads m_inFlight, while a
    // coroutine ending on another thread decrements m_inFlight then reads the phase; with both
    // seq_cst at least one of them sees the other, so the last coroutine's end is never missed
    // (which would keep the loop waiting out the whole grace period).
    void setPhase(Phase phase) noexcept { m_phase.store(phase, std::memory_order_seq_cst); }
    void startLocked();
    //! dispatch() without the clean-up on failure.
    Dispatched enqueue(CallBase *call);
    bool isLoopBusy() const noexcept;
    void loopBody(LoopThread &thread);
    void runHook(const std::function<void()> &hook, const char *name) noexcept;
    void drain() noexcept;
    void beginShutdown();
    void beginClose(std::unique_lock<CompactMutex> &lock, CloseMode mode);
    void join(std::unique_lock<CompactMutex> &lock);
    //! Posts the shutdown event that begins the grace period, once. Under m_mutex.
    void postShutdown();
    //! Whether the loop thread was started in a parent process, so it does not exist here.
    //! Without the lock, only after reading a phase other than Idle (which publishes
    //! m_startGeneration).
    bool isForkedChild() const noexcept;
    void link(CallBase *call) noexcept;
    void unlink(CallBase *call) noexcept;
    void linkFlight(CallBase *call) noexcept;
    void unlinkFlight(CallBase *call) noexcept;
    static void keepAbandoned(CallBase *flight) noexcept;

    const RunnerOptions m_options;
    ProcessExitWatch m_exitWatch;
    SpinPolicy m_spin;
    SpinPolicy m_idleSpin; // the loop thread's own: its spins catch calls, not outcomes

    mutable CompactMutex m_mutex;
    std::condition_variable_any m_changed; // joined (or given up on), or the last waiter left
    std::atomic<Phase> m_phase{Phase::Idle};
    // The event loop quit without close() asking it to. Written only while the phase leaves
    // Running (under m_mutex), so a lock-free reader that has read a later phase with acquire
    // sees it.
    bool m_endedBehindBack = false;
    bool m_stranded = false;       // close() gave up on a loop thread stuck in synchronous work
    bool m_shutdownPosted = false; // close() has requested every stop and told the loop to end
    std::thread::id m_requestingStopsOn; // the thread whose close() is requesting the stops
    bool m_closeBeganExiting = false;    // that close() began while the process was exiting
    std::vector<CallBase *> m_queue;     // dispatched, not started yet
    CallBase *m_waiting = nullptr;       // calls someone waits for: a caller or a future
    CallBase *m_flight = nullptr;        // calls the loop has taken and not retired
    std::size_t m_waitingCount = 0;
    std::size_t m_parkedCount = 0;  // of them, parked by a ParkWaiters close
    LoopThread *m_thread = nullptr; // owned; taken by the close() that joins it
    // The same thread, for quitting its loop from loop-side code: never cleared, since that code
    // may still run after close() gave up on a loop stuck in synchronous work (the thread object
    // is then leaked with the core, so the pointer stays valid).
    QThread *m_loopThread = nullptr;
    QObject *m_context = nullptr;
    // The fork generation the loop thread was started in; empty if it never started.
    std::optional<unsigned> m_startGeneration;

    // When the drain running now began (steady clock ticks; 0: none). Loop thread writes only.
    std::atomic<std::int64_t> m_drainingSince{0};
    // The CPU the loop thread ran its latest drain on (-1: none yet). Loop thread writes only.
    std::atomic<int> m_loopCpu{-1};
    // Where this runner's callers on the loop's CPU sleep, so that one wake-up reaches several.
    CallerWakeWord &m_sharedWake = CallerWakeWord::sharedForNewRunner();
    HeldWakes *m_heldWakes = nullptr; // loop thread only: while its event loop runs
    WakeBatchCounters m_wakeBatchCounters;
    std::atomic<int> m_inFlight{0};
    std::atomic<unsigned> m_postFence{0};

    std::latch m_ready{1};
    LoopWakeWord m_loopWakeWord{0};  // outlives every loop thread of this runner
    std::vector<CallBase *> m_spare; // loop thread only: recycled queue storage
    LoopLocalRegistry m_loopLocals;  // loop thread only
    LoopOwned *m_owned = nullptr;    // loop thread only: the newest LoopOwned

    StatsCounters m_stats;
    LoopSteps m_steps; // outlives every loop thread of this runner, like m_loopWakeWord
    std::unique_ptr<StallWatchdog> m_watchdog; // null: stallWarning is off
};

} // namespace palitra::detail
