// SPDX-License-Identifier: MIT
#pragma once

#include <palitra/palitra_export.h>
#include <palitra/runner.h>

#include <memory>
#include <utility>

namespace palitra {

namespace detail {
//! The global runner, created on first use (exactly once even when threads race) and after
//! shutdownGlobalRunner(). The shared_ptr keeps it valid for a call that races a shutdown.
PALITRA_EXPORT std::shared_ptr<EventLoopThreadRunner> globalRunner();
} // namespace detail

/*!
 * \brief EventLoopThreadRunner::run() on the global runner, which is created on first use.
 *
 * \code
 * const QByteArray page = palitra::run([&]() -> QCoro::Task<QByteArray> {
 *     co_return co_await fetch(url);
 * }, std::chrono::seconds(5));
 * \endcode
 * The global runner's thread is named "palitra-global". It is shut down at process exit (and
 * when the QCoreApplication in use is destroyed), waiting at most its close grace period.
 */
template<typename Fn>
auto run(Fn &&fn) {
    if constexpr (!detail::checkCallable<Fn>())
        return detail::Rejected{};
    else
        return detail::globalRunner()->run(std::forward<Fn>(fn));
}

/*!
 * \overload
 * Throws TimeoutError once \a timeout has passed; see EventLoopThreadRunner::run().
 */
template<typename Fn, typename Rep, typename Period>
auto run(Fn &&fn, std::chrono::duration<Rep, Period> timeout) {
    if constexpr (!detail::checkCallable<Fn>())
        return detail::Rejected{};
    else
        return detail::globalRunner()->run(std::forward<Fn>(fn), timeout);
}

//! Does not compile, with a sentence that says so: the timeout goes last, run(fn, timeout).
template<typename Rep, typename Period, typename Fn>
auto run(std::chrono::duration<Rep, Period>, Fn &&) {
    // Always taken: the check's sentence is the only error.
    if constexpr (!detail::rejectTimeoutFirst<Fn>())
        return detail::Rejected{};
}

//! EventLoopThreadRunner::gather() on the global runner: `gather(fa, fb)`, `gather(range)`,
//! with an optional trailing timeout.
template<typename... Args>
auto gather(Args &&...args) {
    return detail::globalRunner()->gather(std::forward<Args>(args)...);
}

//! EventLoopThreadRunner::gatherOutcomes() on the global runner (Python's
//! `return_exceptions=True`).
template<typename... Args>
auto gatherOutcomes(Args &&...args) {
    return detail::globalRunner()->gatherOutcomes(std::forward<Args>(args)...);
}

/*!
 * \brief EventLoopThreadRunner::submit() on the global runner: starts \a fn there and returns a
 * QFuture at once.
 *
 * \code
 * QFuture<QByteArray> page = palitra::submit([url]() -> QCoro::Task<QByteArray> {
 *     co_return co_await fetch(url);
 * });
 * page.then(this, [this](const QByteArray &bytes) { show(bytes); });
 * \endcode
 */
template<typename Fn>
auto submit(Fn &&fn) {
    if constexpr (!detail::checkCallable<Fn>())
        return detail::Rejected{};
    else
        return detail::globalRunner()->submit(std::forward<Fn>(fn));
}

/*!
 * \overload
 * The future finishes with TimeoutError once \a timeout has passed; see
 * EventLoopThreadRunner::submit().
 */
template<typename Fn, typename Rep, typename Period>
auto submit(Fn &&fn, std::chrono::duration<Rep, Period> timeout) {
    if constexpr (!detail::checkCallable<Fn>())
        return detail::Rejected{};
    else
        return detail::globalRunner()->submit(std::forward<Fn>(fn), timeout);
}

//! Does not compile, with a sentence that says so: the timeout goes last,
//! submit(fn, timeout).
template<typename Rep, typename Period, typename Fn>
auto submit(std::chrono::duration<Rep, Period>, Fn &&) {
    // Always taken: the check's sentence is the only error.
    if constexpr (!detail::rejectTimeoutFirst<Fn>())
        return detail::Rejected{};
}

/*!
 * \brief Sets the RunnerOptions of the global runner.
 *
 * They apply to the next global runner that is created: the first one, or the next one after
 * shutdownGlobalRunner(). A global runner that exists already keeps its options (call
 * shutdownGlobalRunner() first to apply them at once). Without a call, the global runner uses
 * the default options with the thread name "palitra-global"; a \c threadName left at its
 * default ("palitra") also becomes "palitra-global". Thread-safe.
 */
PALITRA_EXPORT void setGlobalRunnerOptions(RunnerOptions options);

//! True when the global runner exists and its loop thread is running.
PALITRA_EXPORT bool isRunnerAlive() noexcept;

/*!
 * \brief EventLoopThreadRunner::stats() of the global runner: what it has done since it was made
 * (after shutdownGlobalRunner(), the fresh one starts from zero).
 *
 * Never creates the global runner: while none exists, every field is zero. Thread-safe.
 */
PALITRA_EXPORT RunnerStats globalStats() noexcept;

/*!
 * \brief Closes the global runner (see EventLoopThreadRunner::close()) and forgets it.
 *
 * Thread-safe and idempotent. The next free-function call creates a fresh runner on a new thread.
 * Calls blocked on the old runner end with RunnerClosedError.
 */
PALITRA_EXPORT void shutdownGlobalRunner();

} // namespace palitra
