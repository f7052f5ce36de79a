// SPDX-License-Identifier: MIT
#pragma once

#include <palitra/detail/call.h>
#include <palitra/detail/deadline.h>
#include <palitra/detail/future_call.h>
#include <palitra/detail/traits.h>
#include <palitra/errors.h>
#include <palitra/outcome.h>
#include <palitra/palitra_export.h>

#include <QFuture>
#include <QList>
#include <QString>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

QT_BEGIN_NAMESPACE
class QObject;
class QThread;
QT_END_NAMESPACE

namespace palitra {

//! How an EventLoopThreadRunner is set up. Every field has a sensible default.
struct RunnerOptions {
    //! Name of the loop thread (shown by debuggers, `top -H`, `QThread::objectName()`).
    QString threadName = QStringLiteral("palitra");
    //! How long close() lets coroutines that were asked to stop finish before the loop quits,
    //! counted from when every stop has been requested; the ones still suspended then are abandoned
    //! (never resumed, never destroyed) and reported with qCWarning. Also bounds how long process
    //! exit waits. A negative value means none; one beyond what a Qt timer can arm (about 24.8
    //! days) means that longest one.
    std::chrono::milliseconds closeGracePeriod = std::chrono::seconds(2);
    //! The budget of the adaptive spin: how long a caller of run()/gather() may watch for its
    //! outcome before it blocks (the idle loop thread: five times that, for the next call).
    //! `std::chrono::nanoseconds::zero()` turns both spins off.
    /*!
     * On a multi-core machine a quick call (a trivial round trip takes a few microseconds) then
     * ends without its caller being put to sleep and woken again, which is most of its cost
     * there. The spin adapts per runner: a caller spins only while this runner's recent spins
     * caught their outcome within the budget; after two misses in a row callers block at once,
     * and probe again after 16 calls, then ever more rarely (up to one call in 1024) while the
     * probes keep missing, so calls that take long cost next to no extra CPU. It never spins
     * when the loop already had calls queued, nor when the process may run on one CPU only, and
     * at most one caller fewer than there are CPUs spins at a time (the loop keeps a CPU).
     *
     * The loop thread, once it has nothing left to do, watches for the next call the same way
     * before it sleeps, for up to five times the budget (100 µs by default; never past its next
     * timer; only in its futex-sleeping dispatcher: Linux, built with Qt's private headers, no
     * socket notifier on the loop): a caller that queues a call meanwhile wakes nobody, and the
     * loop takes the call at once. Waking a sleeping thread on another CPU is the other half of an
     * unpinned round trip's cost, and a caller's spin only catches its outcome if the loop did not
     * have to be woken first. It adapts the same way on its own record (an idle loop soon sleeps at
     * once, and probes ever more rarely), never runs on one CPU, and yields the CPU between two
     * looks past its first microseconds.
     *
     * To turn it off: `options.spinBeforeBlocking = std::chrono::nanoseconds::zero();`
     * (zero or any negative value). A larger budget catches slower calls at the price of more
     * CPU per miss; one longer than a day is taken as a day (for the loop's spin too).
     */
    std::chrono::nanoseconds spinBeforeBlocking = std::chrono::microseconds(20);
    /*!
     * \brief Warn when the loop thread or a caller is stuck longer than this; zero (the
     * default) or less: off.
     *
     * When on, a watchdog thread of the runner logs one qCWarning (category `palitra`) for each
     * loop step that runs longer than this (one batch of events the loop thread handles without
     * returning to its event loop: a callable's synchronous part, a resumed coroutine up to its
     * next suspension, any slot or timer there), naming the callable type when the step is the
     * start of a call; and one for each run()/gather() whose caller has been blocked longer than
     * this, naming the caller's thread and the callable type. Like asyncio's slow-callback
     * warning, for both sides. Off, it costs one comparison per loop step and per call.
     */
    std::chrono::nanoseconds stallWarning = std::chrono::nanoseconds::zero();
    //! Runs on the loop thread once it has started, before any call is invoked there: set up
    //! what every call will use. An exception from it is reported with qCWarning and the loop
    //! runs on.
    std::function<void()> onLoopStarted = {};
    //! Runs on the loop thread when its loop has ended, after the last coroutine ended or was
    //! abandoned and before the LoopLocal values are destroyed. An exception from it is
    //! reported with qCWarning.
    std::function<void()> onLoopFinishing = {};
};

/*!
 * \brief What a runner has done since it was made: EventLoopThreadRunner::stats(),
 * palitra::globalStats().
 *
 * A call is one run(), one whole gather() or gatherOutcomes() (however many coroutines), or one
 * submit(), counted once the runner has accepted it (queued it for the loop); a call refused up
 * front (invalid callable, DeadlockError, closed runner, a deadline already passed) is not
 * counted. Every accepted call ends exactly once for whoever waits for it (its blocked caller or
 * its QFuture), and that end is counted in exactly one of completed, failed, timedOut,
 * closedOut or cancelled; until then it is inFlight. Each field is exact on its own, but they are
 * read one by one: while calls run, they are not a snapshot of a single instant.
 */
struct RunnerStats {
    //! Calls accepted and not ended yet for their waiter: queued, running, or (while the
    //! process exits) parked. A call that timed out, was released by close() or cancelled is no
    //! longer in flight, even while its coroutine runs on until it stops.
    std::int64_t inFlight = 0;
    //! Calls that ended with their value (for gatherOutcomes(): with every slot filled, values
    //! and exceptions alike).
    std::int64_t completed = 0;
    //! Calls that ended with the coroutine's exception (for gather(): its first failure).
    std::int64_t failed = 0;
    //! Calls whose caller's deadline passed first (TimeoutError), queued or running.
    std::int64_t timedOut = 0;
    //! Calls released by close() (or by the loop thread ending) with RunnerClosedError.
    std::int64_t closedOut = 0;
    //! submit() calls whose QFuture was cancelled first.
    std::int64_t cancelled = 0;
    //! Coroutines (not calls: a gather counts each of its own) still suspended when the loop
    //! ended, and so abandoned: never resumed, never destroyed.
    std::int64_t abandoned = 0;
    //! The longest single loop step seen so far, the one running now included: the time the loop
    //! thread spent in one batch of events without returning to its event loop (a look at a
    //! step that is just ending may see it a little longer than its final length). Zero until
    //! the loop has started. Without Qt's private headers only the steps that start calls are
    //! measured.
    std::chrono::nanoseconds longestStall = std::chrono::nanoseconds::zero();
};

//! The list type of gather(range): a QList, or a std::vector for move-only results (QList's
//! implicit sharing needs copyable elements).
template<typename T>
using ResultList = std::conditional_t<std::is_copy_constructible_v<T>, QList<T>, std::vector<T>>;

/*!
 * \brief A persistent thread running a Qt event loop, on which your coroutines run while
 * synchronous code waits for them without running any event loop itself.
 *
 * Constructing a runner starts nothing; the first call that needs the loop starts its thread.
 * All members are thread-safe. The runner can neither be copied nor moved; the destructor calls
 * close().
 *
 * \code
 * palitra::EventLoopThreadRunner runner;
 * int answer = runner.run([]() -> QCoro::Task<int> { co_return 42; });
 * \endcode
 */
class PALITRA_EXPORT EventLoopThreadRunner {
public:
    //! A runner with default RunnerOptions. Starts no thread.
    EventLoopThreadRunner();
    //! A runner with \a options. Starts no thread.
    explicit EventLoopThreadRunner(RunnerOptions options);
    //! Calls close().
    ~EventLoopThreadRunner();

    EventLoopThreadRunner(const EventLoopThreadRunner &) = delete;
    EventLoopThreadRunner &operator=(const EventLoopThreadRunner &) = delete;
    EventLoopThreadRunner(EventLoopThreadRunner &&) = delete;
    EventLoopThreadRunner &operator=(EventLoopThreadRunner &&) = delete;

    /*!
     * \brief Invokes \a fn on the loop thread and blocks, without running any event loop, until
     * its coroutine finishes.
     *
     * \param fn a callable taking no arguments and returning `QCoro::Task<T>`; it is moved or
     * copied into the runner and kept until its coroutine has ended.
     * \return the coroutine's value (moved, never copied); nothing for `Task<void>`.
     * \throws whatever the coroutine throws, with its own dynamic type.
     * \throws RunnerClosedError if the runner is closed, or closes while waiting.
     * \throws DeadlockError if called on this runner's own loop thread, or on another runner's
     * loop thread while this runner's loop thread is (through any chain of blocked loop threads
     * and onCaller() hops) blocked in a call on that runner: waiting would never end. \a fn is
     * not invoked.
     * \throws std::invalid_argument for a null function pointer or empty std::function.
     */
    template<typename Fn>
    auto run(Fn &&fn);

    /*!
     * \brief Like run(fn), but throws TimeoutError once \a timeout has passed.
     *
     * The deadline is the caller's own: it holds even while the loop thread is busy. On timeout
     * the coroutine is asked to stop (currentStopToken()) and its late outcome is dropped; the
     * callable and its captures live until the coroutine ends, so captures by reference must
     * outlive it. A timeout of zero or less has already passed: TimeoutError is thrown at once
     * and \a fn is not invoked. Any `std::chrono::duration` is accepted, floating-point and
     * extreme ones included (`hours::max()` means no timeout).
     */
    template<typename Fn, typename Rep, typename Period>
    auto run(Fn &&fn, std::chrono::duration<Rep, Period> timeout);

    //! Does not compile, with a sentence that says so: the timeout goes last, run(fn, timeout).
    template<typename Rep, typename Period, typename Fn>
    auto run(std::chrono::duration<Rep, Period> timeout, Fn &&fn);

    /*!
     * \brief Runs all callables concurrently on the loop and returns their values in order.
     *
     * `gather(fa, fb, fc)` returns `std::tuple<A, B, C>` (`std::monostate` for a void one);
     * `gather(range)` returns a ResultList<T> in input order for any sized range of callables
     * (those of an lvalue range or a view are copied, those of an owning rvalue range moved).
     * A trailing `std::chrono::duration` sets a timeout: `gather(fa, fb, 2s)`, `gather(list, 2s)`.
     *
     * Every coroutine is started before the caller waits, all in one posted call. The first
     * failure is thrown at once and the siblings are asked to stop; their late outcomes are
     * dropped. An empty gather returns an empty result at once and starts nothing. Every
     * callable is checked first: an empty one throws std::invalid_argument and none starts.
     * \throws as run(), plus the first coroutine exception.
     */
    template<typename... Args>
    auto gather(Args &&...args);

    /*!
     * \brief Like gather(), but each slot holds its coroutine's value or exception.
     *
     * Returns `std::tuple<Outcome<A>, ...>` or a ResultList of Outcome<T>; only TimeoutError,
     * RunnerClosedError, DeadlockError and std::invalid_argument are thrown. This is Python's
     * `gather(..., return_exceptions=True)`.
     */
    template<typename... Args>
    auto gatherOutcomes(Args &&...args);

    /*!
     * \brief Starts \a fn on the loop thread like run(), but returns at once with a QFuture.
     *
     * Returns `QFuture<T>` (`QFuture<void>` for `Task<void>`) that always finishes: with the
     * coroutine's value, with its exception (`result()` and `waitForFinished()` rethrow it with
     * its own type), cancelled, with TimeoutError, or with RunnerClosedError. Watch it with
     * `QFutureWatcher`, chain `.then(context, ...)` / `.onFailed(...)`, or `co_await` it from a
     * QCoro coroutine on any thread with an event loop, another runner's loop included.
     *
     * `future.cancel()` asks the call to stop (the coroutine's currentStopToken() is stop
     * requested) and finishes the future as cancelled once the loop thread has seen it; a late
     * result is dropped. Submitting from the runner's own loop thread is fine (no
     * DeadlockError): the call starts when the loop next drains its queue.
     *
     * \throws std::invalid_argument for a null function pointer or empty std::function. Every
     * other failure, a closed runner included, finishes the returned future instead.
     */
    template<typename Fn>
    auto submit(Fn &&fn);

    /*!
     * \brief Like submit(fn), but the future finishes with TimeoutError once \a timeout has
     * passed; the coroutine is then asked to stop.
     *
     * The deadline is kept by the loop thread, so a loop busy in synchronous code delays it. A
     * timeout of zero or less has already passed: the future finishes with TimeoutError and
     * \a fn is not invoked.
     */
    template<typename Fn, typename Rep, typename Period>
    auto submit(Fn &&fn, std::chrono::duration<Rep, Period> timeout);

    //! Does not compile, with a sentence that says so: the timeout goes last,
    //! submit(fn, timeout).
    template<typename Rep, typename Period, typename Fn>
    auto submit(std::chrono::duration<Rep, Period> timeout, Fn &&fn);

    /*!
     * \brief Closes the runner. Idempotent and thread-safe, also from the loop thread itself.
     *
     * After it, run() and gather() throw RunnerClosedError. Callers blocked right now are
     * released at once with RunnerClosedError; calls queued but not started fail the same way and
     * are never invoked. Coroutines in flight are asked to stop and get
     * RunnerOptions::closeGracePeriod to end; then the loop quits and the thread is joined.
     * Coroutines still suspended are abandoned (never resumed, never destroyed: their frames
     * leak on purpose) and counted in a qCWarning. Called on the loop thread, close() does not
     * wait for the thread; the destructor joins it. Nor does a close() (or the destructor) called
     * from user code that close() runs on its own thread — a stop callback, a continuation
     * attached to a future it releases: the outer close() finishes the job.
     */
    void close();

    //! True while the loop thread runs and the runner is not closed.
    [[nodiscard]] bool isRunning() const noexcept;

    /*!
     * \brief What this runner has done since it was made (see RunnerStats). Thread-safe,
     * lock-free, and cheap: it starts nothing, and works before the loop starts and after close().
     */
    [[nodiscard]] RunnerStats stats() const noexcept;

    //! The loop thread; starts it if needed. nullptr after close().
    QThread *thread();
    //! A QObject living on the loop thread (for invokeMethod, QTimer::singleShot, connections,
    //! or as a parent that close() deletes); starts the loop if needed. nullptr after close().
    //! \note Without a QCoreApplication, start timers on the loop thread itself (in a coroutine
    //! or a functor posted with invokeMethod): Qt 6.4's `QTimer::singleShot(ms > 0, context(),
    //! fn)` called from a thread that has no event loop starts its timer on that thread and
    //! never fires. A zero-delay singleShot is a queued call and works anywhere.
    QObject *context();

private:
    template<typename Fn>
    auto runUntil(Fn &&fn, detail::Deadline deadline);
    template<typename Fn>
    auto submitUntil(Fn &&fn, detail::Deadline deadline);
    template<bool Outcomes, typename... Args>
    auto gatherDispatch(Args &&...args);
    template<bool Outcomes, typename... Args>
    auto gatherUntil(detail::Deadline deadline, Args &&...args);
    template<bool Outcomes, typename Tuple, std::size_t... I>
    auto gatherWithLastAsTimeout(Tuple &all, std::index_sequence<I...>);
    template<bool Outcomes, typename R>
    auto gatherRange(detail::Deadline deadline, R &&range);
    template<bool Outcomes, typename... Fns>
    auto gatherTuple(detail::Deadline deadline, Fns &&...fns);

    //! Throws DeadlockError on this runner's loop thread, RunnerClosedError once closed, Error
    //! in a forked child or without the application the loop thread needs.
    void checkUsable() const;
    //! The one dispatch path of run() and gather(): queue \a call, post a drain if the queue was
    //! empty, wait until the outcome, the deadline or close. Rethrows the coroutine's failure.
    void execute(detail::CallBase &call, detail::Deadline deadline);
    //! The dispatch path of submit(): queue \a call, or finish it with the reason it cannot
    //! be queued. Never throws.
    void executeDetached(detail::FutureCallBase &call) noexcept;

    friend struct detail::RunnerInternals;
    std::shared_ptr<detail::RunnerCore> d;
};

} // namespace palitra

#include <palitra/detail/runner_impl.h>
