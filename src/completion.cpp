// SPDX-License-Identifier: MIT
#include <palitra/detail/completion.h>

#include <algorithm>

namespace palitra::detail {

namespace {

inline void cpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

} // namespace

bool Completion::finish(std::exception_ptr error) noexcept {
    {
        const std::lock_guard lock(m_mutex);
        if (m_status.load(std::memory_order_relaxed) != CallStatus::Pending)
            return false;
        m_error = std::move(error);
        m_status.store(CallStatus::Finished, std::memory_order_release);
    }
    m_changed.notify_one();
    return true;
}

bool Completion::end(CallStatus status) noexcept {
    {
        const std::lock_guard lock(m_mutex);
        if (m_status.load(std::memory_order_relaxed) != CallStatus::Pending)
            return false;
        m_status.store(status, std::memory_order_release);
    }
    m_changed.notify_one();
    return true;
}

bool Completion::park() noexcept {
    const std::lock_guard lock(m_mutex);
    if (m_status.load(std::memory_order_relaxed) != CallStatus::Pending)
        return false;
    m_status.store(CallStatus::Parked, std::memory_order_release);
    return true;
}

bool Completion::unpark() noexcept {
    {
        const std::lock_guard lock(m_mutex);
        if (m_status.load(std::memory_order_relaxed) != CallStatus::Parked)
            return false;
        m_status.store(CallStatus::Closed, std::memory_order_release);
    }
    m_changed.notify_one();
    return true;
}

CallStatus Completion::wait(Deadline deadline, std::chrono::nanoseconds spin) {
    if (spin > std::chrono::nanoseconds::zero()) {
        const Deadline spinEnd = std::min(deadline, Clock::now() + spin);
        while (m_status.load(std::memory_order_acquire) == CallStatus::Pending &&
               Clock::now() < spinEnd)
            cpuRelax();
    }
    std::unique_lock lock(m_mutex);
    const auto ended = [this] { return !isWaiting(m_status.load(std::memory_order_relaxed)); };
    if (deadline != noDeadline && !m_changed.wait_until(lock, deadline, ended)) {
        if (m_status.load(std::memory_order_relaxed) == CallStatus::Pending) {
            m_status.store(CallStatus::TimedOut, std::memory_order_seq_cst); // see m_begun
            return CallStatus::TimedOut;
        }
    }
    m_changed.wait(lock, ended); // no deadline, or parked: only unpark() ends it now
    return m_status.load(std::memory_order_relaxed);
}

} // namespace palitra::detail
