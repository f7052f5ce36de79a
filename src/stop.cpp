// SPDX-License-Identifier: MIT
#include <palitra/detail/call.h>
#include <palitra/stop.h>

#include "logging_p.h"

#include <QCoreApplication>
#include <QMetaObject>
#include <QPointer>
#include <QThread>

#include <algorithm>
#include <new>
#include <optional>
#include <utility>

namespace palitra {

namespace detail {

Waker::Waker(std::coroutine_handle<> handle) : m_handle(handle) {}

Waker::~Waker() = default;

void Waker::wake() {
    if (!m_handle)
        return;                                     // already resumed, or the awaiter is gone
    const CurrentCallScope outsideAnyCall(nullptr); // an emission in a call's synchronous part
    // Resuming may destroy the awaiter, which detaches this object: nothing of it is used after.
    std::exchange(m_handle, {}).resume();
}

void Waker::detach() noexcept {
    m_attached = false;
    m_handle = {};
    deleteLater();
}

} // namespace detail

SleepAwaiter::SleepAwaiter(std::chrono::milliseconds duration, std::stop_token stop) noexcept
    : m_duration(duration), m_stop(std::move(stop)) {}

SleepAwaiter::SleepAwaiter(SleepAwaiter &&other) noexcept
    : m_duration(other.m_duration), m_stop(std::move(other.m_stop)) {}

SleepAwaiter::~SleepAwaiter() = default; // m_wake cancels a wake-up that is still armed

bool SleepAwaiter::await_ready() const noexcept {
    return m_stop.stop_requested();
}

bool SleepAwaiter::await_suspend(std::coroutine_handle<> handle) noexcept {
    // noexcept, failures reported by await_resume: GCC 12 destroys the awaiter twice when
    // await_suspend throws.
    try {
        using Clock = detail::LoopWake::Clock;
        // Far enough never to be reached, near enough never to overflow the clock.
        constexpr auto longest = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::hours(24 * 365 * 100));
        const auto duration = std::clamp(m_duration, std::chrono::milliseconds::zero(), longest);
        m_handle = handle;
        m_wake.arm(&SleepAwaiter::onWake, this, Clock::now() + duration, m_stop);
        return true;
    } catch (...) {
        m_failure = std::current_exception();
        return false;
    }
}

void SleepAwaiter::onWake(void *context, bool byStop) noexcept {
    auto *const self = static_cast<SleepAwaiter *>(context);
    self->m_wokeByStop = byStop;
    // Last statement: resuming destroys this awaiter when the co_await expression ends.
    self->m_handle.resume();
}

bool SleepAwaiter::await_resume() const {
    if (m_failure)
        std::rethrow_exception(m_failure);
    if (m_handle)
        return !m_wokeByStop;
    return !m_stop.stop_requested();
}

// The guard's state lives on the heap, so that moving the guard moves nothing a wake-up or a
// stop callback points to.
struct StopGuard::Impl {
    QPointer<QObject> target;
    std::function<void()> action;
    detail::LoopWake wake; // when created on the target's thread (the usual case)
    // From another thread: a callback of its own, posting the action to the target's thread.
    std::optional<std::stop_callback<Poster>> posting;

    static void runAction(void *context, bool) noexcept;
};

StopGuard::StopGuard() noexcept = default;

StopGuard::StopGuard(const std::stop_token &stop, QObject *target, std::function<void()> action) {
    if (!stop.stop_possible() || !target || !action)
        return;
    auto impl = std::make_unique<Impl>();
    impl->target = target;
    if (target->thread() == QThread::currentThread()) {
        impl->action = std::move(action);
        impl->wake.arm(&Impl::runAction, impl.get(), detail::LoopWake::Clock::time_point::max(),
                       stop);
    } else {
        impl->posting.emplace(stop, Poster{target, std::move(action)});
    }
    m_impl = std::move(impl);
}

StopGuard::~StopGuard() = default;
StopGuard::StopGuard(StopGuard &&) noexcept = default;
StopGuard &StopGuard::operator=(StopGuard &&) noexcept = default;

void StopGuard::Impl::runAction(void *context, bool) noexcept {
    auto *const impl = static_cast<Impl *>(context);
    if (!impl->target)
        return; // the target is gone, as a queued call to it would be dropped
    // Moved out first: the action may destroy the guard (aborting a reply resumes the coroutine
    // that owns it).
    const std::function<void()> action = std::move(impl->action);
    try {
        action();
    } catch (...) {
        qCWarning(detail::lcPalitra, "a StopGuard action threw; the exception was dropped");
    }
}

void StopGuard::Poster::operator()() const noexcept {
    try {
        QMetaObject::invokeMethod(target, action, Qt::QueuedConnection);
    } catch (...) {
        qCWarning(detail::lcPalitra, "out of memory while posting a stop action; it is lost");
    }
}

} // namespace palitra
