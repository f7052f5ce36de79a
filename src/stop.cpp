// SPDX-License-Identifier: MIT
#include <palitra/detail/call.h>
#include <palitra/stop.h>

#include <QMetaObject>
#include <QTimerEvent>

namespace palitra {

namespace {
// The token of the call whose callable is being invoked on this thread right now.
thread_local const std::stop_token *tlsCurrentStop = nullptr;
} // namespace

std::stop_token currentStopToken() noexcept {
    return tlsCurrentStop ? *tlsCurrentStop : std::stop_token{};
}

namespace detail {

CurrentStopScope::CurrentStopScope(const std::stop_token &token) noexcept
    : m_previous(tlsCurrentStop) {
    tlsCurrentStop = &token;
}

CurrentStopScope::~CurrentStopScope() {
    tlsCurrentStop = m_previous;
}

Waker::Waker(std::coroutine_handle<> handle) : m_handle(handle) {}

Waker::~Waker() = default;

void Waker::wake(bool byStop) {
    if (!m_handle)
        return; // already resumed, or the awaiter is gone
    if (m_timerId != 0) {
        killTimer(m_timerId);
        m_timerId = 0;
    }
    m_wokeByStop = byStop;
    // Last statement: resuming may destroy the awaiter, which detaches this object.
    std::exchange(m_handle, {}).resume();
}

void Waker::postStopWake() noexcept {
    QMetaObject::invokeMethod(
        this, [this] { wake(true); }, Qt::QueuedConnection);
}

void Waker::startTimeout(std::chrono::milliseconds timeout) {
    m_timerId = startTimer(timeout, Qt::PreciseTimer);
}

void Waker::detach() noexcept {
    m_handle = {};
    if (m_timerId != 0) {
        killTimer(m_timerId);
        m_timerId = 0;
    }
    deleteLater();
}

void Waker::timerEvent(QTimerEvent *event) {
    if (event->timerId() == m_timerId)
        wake(false);
}

} // namespace detail

SleepAwaiter::SleepAwaiter(std::chrono::milliseconds duration, std::stop_token stop) noexcept
    : m_duration(duration), m_stop(std::move(stop)) {}

SleepAwaiter::SleepAwaiter(SleepAwaiter &&other) noexcept
    : m_duration(other.m_duration), m_stop(std::move(other.m_stop)) {}

SleepAwaiter::~SleepAwaiter() {
    m_onStop.reset(); // first: a stop callback may be posting to the Waker right now
    if (m_waker)
        m_waker->detach();
}

bool SleepAwaiter::await_ready() const noexcept {
    return m_stop.stop_requested();
}

void SleepAwaiter::await_suspend(std::coroutine_handle<> handle) {
    m_waker = new detail::Waker(handle);
    m_waker->startTimeout(std::max(m_duration, std::chrono::milliseconds::zero()));
    if (m_stop.stop_possible())
        m_onStop.emplace(m_stop, detail::PostStopWake{m_waker});
}

bool SleepAwaiter::await_resume() const noexcept {
    if (m_waker)
        return !m_waker->wokeByStop();
    return !m_stop.stop_requested();
}

StopGuard::StopGuard() noexcept = default;

StopGuard::StopGuard(const std::stop_token &stop, QObject *target, std::function<void()> action) {
    if (stop.stop_possible() && target && action)
        m_callback =
            std::make_unique<std::stop_callback<Poster>>(stop, Poster{target, std::move(action)});
}

StopGuard::~StopGuard() = default;
StopGuard::StopGuard(StopGuard &&) noexcept = default;
StopGuard &StopGuard::operator=(StopGuard &&) noexcept = default;

void StopGuard::Poster::operator()() const noexcept {
    QMetaObject::invokeMethod(target, action, Qt::QueuedConnection);
}

} // namespace palitra
