// SPDX-License-Identifier: MIT
#pragma once

#include <palitra/palitra_export.h>

#include <stop_token>
#include <type_traits>
#include <utility>

namespace palitra {

namespace detail {
class CallBase;
template<typename Fn>
class OnCallerAwaiter;
} // namespace detail

class CallContext;

/*!
 * \brief The call whose callable is being invoked on this thread right now.
 *
 * Like palitra::currentStopToken(), it is only known while the callable runs synchronously,
 * up to its coroutine's first suspension: read it at the top and keep the handle, which stays
 * valid for the whole call. Elsewhere it returns a context that belongs to no call; on a
 * runner's loop thread that is a mistake (the value would silently be empty), reported once
 * per place in the code with qCWarning.
 */
[[nodiscard]] PALITRA_EXPORT CallContext currentCall() noexcept;

/*!
 * \brief The run(), gather() or submit() call a coroutine belongs to: a small copyable handle,
 * valid for as long as any copy of it lives.
 *
 * Take it with palitra::currentCall() at the top of the callable, before its first
 * `co_await`, and pass it to helper coroutines by value:
 * \code
 * palitra::run([&model]() -> QCoro::Task<> {
 *     const palitra::CallContext call = palitra::currentCall();
 *     const QByteArray page = co_await fetch(url, call.stopToken());
 *     co_await call.onCaller([&] { model.setPage(page); }); // on the GUI thread, blocked in run()
 * }, 5s);
 * \endcode
 * A default-constructed CallContext belongs to no call: isValid() is false, stopToken() never
 * stops and onCaller() fails with palitra::Error.
 */
class PALITRA_EXPORT CallContext {
public:
    //! A context that belongs to no call.
    CallContext() noexcept = default;
    //! Shares \a other's call.
    CallContext(const CallContext &other) noexcept;
    //! Takes \a other's call; \a other then belongs to none.
    CallContext(CallContext &&other) noexcept : m_call(std::exchange(other.m_call, nullptr)) {}
    //! Shares \a other's call.
    CallContext &operator=(const CallContext &other) noexcept;
    //! Takes \a other's call.
    CallContext &operator=(CallContext &&other) noexcept;
    //! Lets go of the call (which lives on while others hold it or it runs).
    ~CallContext();

    //! Whether this context belongs to a call.
    [[nodiscard]] bool isValid() const noexcept { return m_call != nullptr; }

    //! The call's stop token: stop is requested on the caller's timeout, close(), the first
    //! failure of a gather, or the cancellation of a submitted call's QFuture. Valid across
    //! every suspension, unlike palitra::currentStopToken(), which only the synchronous part of
    //! the callable may read.
    [[nodiscard]] std::stop_token stopToken() const noexcept;

    /*!
     * \brief Runs \a fn on the thread blocked in this call's run() or gather(), and resumes the
     * awaiting coroutine on its own thread with \a fn's result or exception.
     *
     * `co_await call.onCaller(fn)` gives what `fn()` returns (nothing for void); an exception
     * thrown by \a fn is rethrown by the `co_await` with its own type. The blocked caller runs
     * \a fn from inside its wait and runs nothing else there: its event loop, its timers and
     * its posted events still never run, so \a fn may touch objects of the caller's thread (a
     * GUI model, a widget) and nothing re-enters it. Several onCaller() of one call run in the
     * order they were awaited, one at a time.
     *
     * \a fn is moved (or copied) into the awaiter; it runs at most once, and not at all when
     * the caller is no longer waiting. Then the `co_await` throws instead, on the awaiting
     * thread: TimeoutError when the caller's timeout passed, RunnerClosedError when close()
     * released it, palitra::Error when the call already ended otherwise (a sibling of a
     * gather failed) or when it has no blocked caller (a submit()ted call: nobody waits on a
     * thread) or this context belongs to no call. While the process exits, a blocked caller
     * runs nothing: the `co_await` stays suspended (see docs/SEMANTICS.md, exit).
     *
     * \note g++ 12 destroys twice a lambda temporary with an init-capture of a type with a
     * destructor written inside a `co_await` expression: name such a lambda first and pass it
     * with std::move.
     *
     * Await it on the runner's loop thread (or any thread with a running Qt event loop): the
     * coroutine resumes there, from that thread's event loop.
     */
    template<typename Fn>
    [[nodiscard]] auto onCaller(Fn &&fn) const;

private:
    friend CallContext currentCall() noexcept;
    template<typename Fn>
    friend class detail::OnCallerAwaiter;
    //! Shares \a call (which may be null).
    explicit CallContext(detail::CallBase *call) noexcept;

    detail::CallBase *m_call = nullptr;
};

} // namespace palitra

#include <palitra/detail/on_caller.h>
