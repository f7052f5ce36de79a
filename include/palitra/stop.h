// SPDX-License-Identifier: MIT
#pragma once

#include <palitra/detail/waker.h>
#include <palitra/palitra_export.h>

#include <QMetaObject>
#include <QObject>
#include <QPointer>

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>

namespace palitra {

/*!
 * \brief The stop token of the palitra call whose callable is running right now on this thread.
 *
 * QCoro 0.8 cannot cancel a suspended coroutine, and destroying a suspended frame is a
 * use-after-free for almost every QCoro awaitable, so palitra never does. Instead every run() and
 * every gather() carries a `std::stop_source`; stop is requested when the caller's timeout
 * passes, when a sibling fails in a default-mode gather, and when the runner closes.
 *
 * The token is only "current" while the callable runs synchronously, that is up to the
 * coroutine's first suspension. Read it at the top of the coroutine and keep it:
 * \code
 * palitra::run([]() -> QCoro::Task<int> {
 *     const std::stop_token stop = palitra::currentStopToken();
 *     while (!stop.stop_requested())
 *         co_await palitra::sleepFor(100ms, stop);
 *     co_return 0;
 * }, 2s);
 * \endcode
 * Outside a palitra callable it returns a token with `stop_possible() == false`; on a runner's
 * loop thread (after the first suspension, say) that is a mistake, reported once per place in
 * the code with qCWarning. For the token after a suspension, take palitra::currentCall() at the
 * top and use its CallContext::stopToken().
 * \note Stop callbacks run on the thread that requests the stop (the caller on timeout, the
 * thread calling close()): they must post to the loop thread before touching loop objects. The
 * helpers below do.
 */
PALITRA_EXPORT std::stop_token currentStopToken() noexcept;

//! Awaitable returned by palitra::sleepFor(). `co_await` gives true if the whole time passed,
//! false if it woke early because stop was requested.
class PALITRA_EXPORT SleepAwaiter {
public:
    //! See palitra::sleepFor().
    SleepAwaiter(std::chrono::milliseconds duration, std::stop_token stop) noexcept;
    ~SleepAwaiter();
    //! Moves an awaiter that has not been awaited yet (compilers may move the operand of
    //! co_await into the frame).
    SleepAwaiter(SleepAwaiter &&other) noexcept;
    SleepAwaiter &operator=(SleepAwaiter &&) = delete;

    //! \internal
    bool await_ready() const noexcept;
    //! \internal
    bool await_suspend(std::coroutine_handle<> handle) noexcept;
    //! \internal \throws std::bad_alloc if the sleep could not be set up (palitra::Error on
    //! a thread that is ending).
    bool await_resume() const;

private:
    static void onWake(void *context, bool byStop) noexcept;

    std::chrono::milliseconds m_duration;
    std::stop_token m_stop;
    std::exception_ptr m_failure;
    std::coroutine_handle<> m_handle;
    bool m_wokeByStop = false;
    detail::LoopWake m_wake; // last: cancelled first
};

/*!
 * \brief Sleeps on the current thread's event loop for \a duration, waking early when \a stop is
 * requested.
 *
 * `co_await palitra::sleepFor(500ms, stop)` is true when the whole time passed and false when it
 * ended early because of a stop request (or stop was already requested: then it does not
 * suspend). The coroutine resumes on the thread that awaited, whichever thread requested the
 * stop. Durations are rounded up to whole milliseconds. It works on any thread that runs a Qt
 * event loop, not only palitra's loop thread.
 *
 * Each thread keeps its sleeps in one heap (O(log n) to add one and to remove one that woke
 * early) under a single Qt timer for the earliest deadline, so that many thousands of sleeping
 * coroutines cost the same per sleep as a few. Sleeps that share a stop token also share one
 * stop callback per thread: a stop request posts a single event, and the thread then wakes all
 * of them, in time linear in their number. Sleeps still pending when their thread ends are
 * never resumed (their coroutines stay suspended, never destroyed).
 * \throws std::bad_alloc (from `co_await`) if the sleep could not be set up, or palitra::Error
 * when it is awaited on a thread that is ending.
 */
template<typename Rep, typename Period>
SleepAwaiter sleepFor(std::chrono::duration<Rep, Period> duration, std::stop_token stop) {
    return SleepAwaiter(std::chrono::ceil<std::chrono::milliseconds>(duration), std::move(stop));
}

/*!
 * \brief Runs \a action on \a target's thread once stop is requested, for as long as the guard
 * lives.
 *
 * The action runs on \a target's thread from its event loop, never inline on the thread that
 * requested the stop. A guard made on \a target's thread (the usual case: a coroutine guarding
 * its own reply) joins that thread's stop wake-ups, which share one stop callback per token:
 * a stop request posts one event for all of them, however many there are. An action that has
 * not run when the guard is destroyed never runs. A guard made on another thread posts its
 * action with a queued call of its own. Destroy the guard before \a target: the destructor
 * unregisters the action and waits for one that is running on another thread at that moment.
 */
class PALITRA_EXPORT StopGuard {
public:
    //! A guard that does nothing.
    StopGuard() noexcept;
    //! Registers \a action; if stop was already requested, it is posted at once.
    StopGuard(const std::stop_token &stop, QObject *target, std::function<void()> action);
    ~StopGuard();
    //! Takes over \a other's registration; \a other then does nothing.
    StopGuard(StopGuard &&other) noexcept;
    //! Unregisters this guard's action and takes over \a other's registration.
    StopGuard &operator=(StopGuard &&other) noexcept;

private:
    struct Poster {
        QObject *target;
        std::function<void()> action;
        void operator()() const noexcept;
    };
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/*!
 * \brief Aborts \a reply on its own thread when \a stop is requested.
 *
 * `QNetworkReply::abort()` finishes the reply with `OperationCanceledError`, which resumes a
 * pending `co_await reply` at once: that is how a network call ends early without destroying a
 * suspended frame. Keep the guard alive while awaiting and destroy it before the reply:
 * \code
 * auto *reply = nam->get(request);
 * const auto guard = palitra::abortOnStop(reply, stop);
 * co_await reply;
 * reply->deleteLater();
 * \endcode
 * Works with any QObject subclass that has an `abort()` member (a template, so that palitra does
 * not link QtNetwork).
 */
template<typename Reply>
[[nodiscard]] StopGuard abortOnStop(Reply *reply, const std::stop_token &stop) {
    static_assert(std::is_base_of_v<QObject, Reply>,
                  "palitra::abortOnStop() takes a QObject with an abort() member, such as "
                  "QNetworkReply.");
    return StopGuard(stop, reply, [reply] { reply->abort(); });
}

//! Awaitable returned by palitra::awaitSignal(). Its bodies are in detail/stop_impl.h.
template<typename Sender, typename... Args>
class SignalAwaiter {
public:
    //! What `co_await` gives: the signal's arguments, or std::nullopt when stop (or the
    //! sender's destruction) came first.
    using Result = std::optional<std::tuple<std::decay_t<Args>...>>;
    //! The awaited signal.
    using Signal = void (Sender::*)(Args...);

    //! See palitra::awaitSignal().
    SignalAwaiter(const Sender *sender, Signal signal, std::stop_token stop);
    //! Disconnects from the sender and withdraws the stop callback.
    ~SignalAwaiter();
    //! Moves an awaiter that has not been awaited yet (compilers may move the operand of
    //! co_await into the frame).
    SignalAwaiter(SignalAwaiter &&other) noexcept;
    SignalAwaiter &operator=(SignalAwaiter &&) = delete;

    //! \internal Ready at once, with std::nullopt, when stop was requested or the sender is
    //! gone (null, or destroyed since awaitSignal() was called).
    bool await_ready() const noexcept;
    //! \internal noexcept, failures reported by await_resume: GCC 12 destroys the awaiter twice
    //! when await_suspend throws.
    bool await_suspend(std::coroutine_handle<> handle) noexcept;
    //! \internal The signal's arguments, or std::nullopt when stop came first or the sender
    //! was destroyed.
    Result await_resume();

private:
    static void onStop(void *context, bool) noexcept;
    void finish();

    QPointer<const Sender> m_sender; // null once the sender is destroyed
    Signal m_signal;
    std::stop_token m_stop;
    detail::Waker *m_waker = nullptr;
    QMetaObject::Connection m_connection;
    QMetaObject::Connection m_destroyedConnection;
    Result m_result;
    std::exception_ptr m_failure;
    bool m_isDone = false;
    detail::LoopWake m_onStop;
};

/*!
 * \brief Waits for \a signal of \a sender and resumes on the awaiting thread (the loop thread).
 *
 * QCoro 0.8's `co_await qCoro(obj, &Obj::signal)` resumes the coroutine in `obj`'s thread: a
 * coroutine on the loop thread awaiting a GUI object's signal would continue on the GUI thread,
 * which is blocked in run(). This awaitable always resumes where it was awaited. `co_await` gives
 * the signal's arguments as a `std::optional<std::tuple<...>>`, or `std::nullopt` when \a stop
 * was requested first or \a sender is gone: null, destroyed before the await, or destroyed
 * while it waits (then the coroutine resumes from the awaiting thread's event loop, never
 * inside the sender's destructor).
 * \note The arguments of a signal emitted from another thread are copied (queued connection).
 * \note A signal emitted on the awaiting thread resumes the coroutine inside the emission, as a
 * directly connected slot would run, so the coroutine sees every emission it re-awaits in time.
 * Qt's rule for slots holds: do not delete the sender before the coroutine's next suspension
 * (for instance by returning, when the frame owns it); use `deleteLater()`, for instance
 * through `QScopedPointer<T, QScopedPointerDeleteLater>`.
 */
template<typename Sender, typename Base, typename... Args>
requires std::is_base_of_v<Base, Sender> && std::is_base_of_v<QObject, Base>
    SignalAwaiter<Base, Args...> awaitSignal(const Sender *sender, void (Base::*signal)(Args...),
                                             std::stop_token stop = {}) {
    return SignalAwaiter<Base, Args...>(sender, signal, std::move(stop));
}

} // namespace palitra

#include <palitra/detail/stop_impl.h>
