// SPDX-License-Identifier: MIT
// Not public API: the template bodies behind palitra/stop.h (SignalAwaiter). Do not include this
// file directly.
#pragma once

#include <palitra/stop.h>

#include <utility>

namespace palitra {

template<typename Sender, typename... Args>
SignalAwaiter<Sender, Args...>::SignalAwaiter(const Sender *sender, Signal signal,
                                              std::stop_token stop)
    : m_sender(sender), m_signal(signal), m_stop(std::move(stop)) {}

template<typename Sender, typename... Args>
SignalAwaiter<Sender, Args...>::~SignalAwaiter() {
    m_onStop.cancel(); // first: it would wake through the Waker
    if (m_waker) {
        QObject::disconnect(m_connection);
        QObject::disconnect(m_destroyedConnection);
        m_waker->detach();
    }
}

template<typename Sender, typename... Args>
SignalAwaiter<Sender, Args...>::SignalAwaiter(SignalAwaiter &&other) noexcept
    : m_sender(other.m_sender), m_signal(other.m_signal), m_stop(std::move(other.m_stop)) {}

template<typename Sender, typename... Args>
bool SignalAwaiter<Sender, Args...>::await_ready() const noexcept {
    return m_stop.stop_requested() || !m_sender;
}

template<typename Sender, typename... Args>
bool SignalAwaiter<Sender, Args...>::await_suspend(std::coroutine_handle<> handle) noexcept {
    try {
        const Sender *const sender = m_sender.data();
        m_waker = new detail::Waker(handle);
        // The Waker lives on the awaiting (loop) thread: an emission from another thread is
        // queued to it, one from this thread is direct. Either way we resume here. An emission
        // queued before this awaiter went away is still delivered (disconnect does not recall
        // it), so the slots check that the Waker is still attached before touching the awaiter.
        detail::Waker *waker = m_waker;
        m_connection = QObject::connect(sender, m_signal, waker, [this, waker](Args... args) {
            if (!waker->isAttached() || m_result || m_failure || m_isDone)
                return;
            try {
                m_result.emplace(std::forward<Args>(args)...);
            } catch (...) { // a throwing copy must not escape into the event loop
                m_failure = std::current_exception();
            }
            finish();
        });
        // Queued even from this thread: the coroutine must not run inside the sender's
        // destructor, where touching the sender would be a use-after-free.
        m_destroyedConnection = QObject::connect(
            sender, &QObject::destroyed, waker,
            [this, waker] {
                if (waker->isAttached() && !m_result && !m_failure && !m_isDone)
                    finish();
            },
            Qt::QueuedConnection);
        if (m_stop.stop_possible())
            m_onStop.arm(&SignalAwaiter::onStop, this, detail::LoopWake::Clock::time_point::max(),
                         m_stop);
        return true;
    } catch (...) {
        m_failure = std::current_exception();
        if (m_waker) {
            QObject::disconnect(m_connection);
            QObject::disconnect(m_destroyedConnection);
            std::exchange(m_waker, nullptr)->detach();
        }
        return false;
    }
}

template<typename Sender, typename... Args>
auto SignalAwaiter<Sender, Args...>::await_resume() -> Result {
    if (m_failure)
        std::rethrow_exception(m_failure);
    return std::move(m_result);
}

template<typename Sender, typename... Args>
void SignalAwaiter<Sender, Args...>::onStop(void *context, bool) noexcept {
    static_cast<SignalAwaiter *>(context)->finish();
}

template<typename Sender, typename... Args>
void SignalAwaiter<Sender, Args...>::finish() {
    m_isDone = true;
    QObject::disconnect(m_connection);
    QObject::disconnect(m_destroyedConnection);
    m_waker->wake(); // last: resuming may destroy this awaiter
}

} // namespace palitra
