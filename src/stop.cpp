// SPDX-License-Identifier: MIT
#include <palitra/detail/call.h>
#include <palitra/stop.h>

#include "logging_p.h"

#include <QCoreApplication>
#include <QMetaObject>
#include <QTimerEvent>

#include <new>
#include <utility>

namespace palitra {

namespace {
// The token of the call whose callable is being invoked on this thread right now.
thread_local const std::stop_token *tlsCurrentStop = nullptr;
} // namespace

std::stop_token currentStopToken() noexcept {
    return tlsCurrentStop ? *tlsCurrentStop : std::stop_token{};
}

namespace detail {

namespace {
// The continuation palitra gives to a user's Task: it starts suspended; resuming it runs the
// callback and then frees the frame (final_suspend never suspends).
// Resumer frames all have the same size: a per-thread free list makes them almost free. A
// frame may be freed on another thread than the one that made it (a coroutine that ended
// there); it then simply joins that thread's list.
class ResumerFramePool {
public:
    ~ResumerFramePool() {
        while (m_free)
            ::operator delete(std::exchange(m_free, m_free->next));
        m_count = maxKept; // a frame freed later on this exiting thread goes straight to delete
    }
    void *allocate(std::size_t size) {
        if (size == m_size && m_free) {
            --m_count;
            return std::exchange(m_free, m_free->next);
        }
        return ::operator new(size);
    }
    void deallocate(void *frame, std::size_t size) noexcept {
        if ((m_size == 0 || size == m_size) && m_count < maxKept && size >= sizeof(Node)) {
            m_size = size;
            m_free = new (frame) Node{m_free};
            ++m_count;
            return;
        }
        ::operator delete(frame);
    }

private:
    struct Node {
        Node *next;
    };
    static constexpr std::size_t maxKept = 256;
    Node *m_free = nullptr;
    std::size_t m_size = 0;
    std::size_t m_count = 0;
};

thread_local ResumerFramePool resumerFrames;

struct Resumer {
    struct promise_type {
        static void *operator new(std::size_t size) { return resumerFrames.allocate(size); }
        static void operator delete(void *frame, std::size_t size) noexcept {
            resumerFrames.deallocate(frame, size);
        }
        Resumer get_return_object() noexcept {
            return {std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); } // callbacks are noexcept
    };
    std::coroutine_handle<promise_type> handle;
};

Resumer resumeInto(void (*onResume)(void *), void *context) {
    onResume(context);
    co_return;
}
} // namespace

std::coroutine_handle<> makeResumer(void (*onResume)(void *), void *context) {
    return resumeInto(onResume, context).handle;
}

CurrentStopScope::CurrentStopScope(const std::stop_token &token) noexcept
    : m_previous(tlsCurrentStop) {
    tlsCurrentStop = &token;
}

CurrentStopScope::~CurrentStopScope() {
    tlsCurrentStop = m_previous;
}

namespace {
const QEvent::Type stopWakeEvent = static_cast<QEvent::Type>(QEvent::registerEventType());
} // namespace

Waker::Waker(std::coroutine_handle<> handle)
    : m_handle(handle), m_stopEvent(new QEvent(stopWakeEvent)) {}

Waker::~Waker() {
    if (!m_stopPosted.load(std::memory_order_acquire))
        delete m_stopEvent;
}

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
    if (m_stopPosted.exchange(true, std::memory_order_acq_rel))
        return;
    try {
        QCoreApplication::postEvent(this, m_stopEvent);
    } catch (...) {
        // Qt's queue could not grow. The coroutine then wakes at its own timer or signal, or is
        // abandoned at close(); terminating the process would be worse.
        m_stopPosted.store(false, std::memory_order_release);
        qCWarning(lcPalitra, "out of memory while posting a stop wake-up; it is lost");
    }
}

bool Waker::event(QEvent *event) {
    if (event->type() == stopWakeEvent) {
        wake(true);
        return true;
    }
    return QObject::event(event);
}

void Waker::startTimeout(std::chrono::milliseconds timeout) {
    m_timerId = startTimer(timeout, Qt::PreciseTimer);
}

void Waker::detach() noexcept {
    m_attached = false;
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

bool SleepAwaiter::await_suspend(std::coroutine_handle<> handle) noexcept {
    // noexcept, failures reported by await_resume: GCC 12 destroys the awaiter twice when
    // await_suspend throws.
    try {
        m_waker = new detail::Waker(handle);
        m_waker->startTimeout(std::max(m_duration, std::chrono::milliseconds::zero()));
        if (m_stop.stop_possible())
            m_onStop.emplace(m_stop, detail::PostStopWake{m_waker});
        return true;
    } catch (...) {
        m_failure = std::current_exception();
        if (m_waker)
            std::exchange(m_waker, nullptr)->detach();
        return false;
    }
}

bool SleepAwaiter::await_resume() const {
    if (m_failure)
        std::rethrow_exception(m_failure);
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
    try {
        QMetaObject::invokeMethod(target, action, Qt::QueuedConnection);
    } catch (...) {
        qCWarning(detail::lcPalitra, "out of memory while posting a stop action; it is lost");
    }
}

} // namespace palitra
