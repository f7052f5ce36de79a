// SPDX-License-Identifier: MIT
#include <palitra/detail/completion.h>

#include "caller_wake_p.h"
#include "wake_batch_p.h"

#include <mutex>
#include <utility>

namespace palitra::detail {

void PendingWake::make() noexcept {
    // A sleeper on a shared word may have its wake-up held to the end of the drain, to be made
    // with the others' (WakeBatch); one on its own word is woken now.
    CallerWakeWord *const sleeper = std::exchange(m_sleeper, nullptr);
    if (sleeper &&
        !(m_sleeperBits != CallerWakeWord::anyThread && WakeBatch::hold(*sleeper, m_sleeperBits)))
        sleeper->wake(m_sleeperBits);
    Completion::failRouted(std::exchange(m_routed, nullptr), CallStatus::Finished);
}

bool Completion::finish(std::exception_ptr error) noexcept {
    PendingWake wake;
    return finish(std::move(error), wake);
}

bool Completion::finish(std::exception_ptr error, PendingWake &wake) noexcept {
    const std::lock_guard lock(m_mutex);
    if (m_status.load(std::memory_order_relaxed) != CallStatus::Pending)
        return false;
    m_error = std::move(error);
    m_status.store(CallStatus::Finished, std::memory_order_release);
    wake.m_routed = takeRouted();
    wake.m_sleeper = m_sleeper;
    wake.m_sleeperBits = m_sleeperBits;
    return true;
}

bool Completion::end(CallStatus status) noexcept {
    RoutedWork *routed = nullptr;
    CallerWakeWord *sleeper = nullptr;
    std::uint32_t bits = 0;
    {
        const std::lock_guard lock(m_mutex);
        if (m_status.load(std::memory_order_relaxed) != CallStatus::Pending)
            return false;
        m_status.store(status, std::memory_order_release);
        routed = takeRouted();
        sleeper = m_sleeper;
        bits = m_sleeperBits;
    }
    wake(sleeper, bits);
    failRouted(routed, status);
    return true;
}

bool Completion::park() noexcept {
    // Routed work stays queued: while the process exits no user code runs on the parked
    // thread, and unpark() fails it if the program goes on.
    const std::lock_guard lock(m_mutex);
    if (m_status.load(std::memory_order_relaxed) != CallStatus::Pending)
        return false;
    m_status.store(CallStatus::Parked, std::memory_order_release);
    return true;
}

bool Completion::unpark() noexcept {
    RoutedWork *routed = nullptr;
    CallerWakeWord *sleeper = nullptr;
    std::uint32_t bits = 0;
    {
        const std::lock_guard lock(m_mutex);
        if (m_status.load(std::memory_order_relaxed) != CallStatus::Parked)
            return false;
        m_status.store(CallStatus::Closed, std::memory_order_release);
        routed = takeRouted();
        sleeper = m_sleeper;
        bits = m_sleeperBits;
    }
    wake(sleeper, bits);
    failRouted(routed, CallStatus::Closed);
    return true;
}

CallStatus Completion::route(RoutedWork *work) noexcept {
    CallerWakeWord *sleeper = nullptr;
    std::uint32_t bits = 0;
    {
        const std::lock_guard lock(m_mutex);
        const CallStatus status = m_status.load(std::memory_order_relaxed);
        if (!isWaiting(status))
            return status;
        work->m_nextRouted = nullptr;
        if (m_routedLast)
            m_routedLast->m_nextRouted = work;
        else
            m_routedFirst = work;
        m_routedLast = work;
        if (status == CallStatus::Parked)
            return status; // kept for unpark(); a parked waiter runs nothing
        sleeper = m_sleeper;
        bits = m_sleeperBits;
    }
    wake(sleeper, bits);
    return CallStatus::Pending;
}

void Completion::withdraw(RoutedWork *work) noexcept {
    const std::lock_guard lock(m_mutex);
    RoutedWork *previous = nullptr;
    for (RoutedWork *each = m_routedFirst; each; previous = each, each = each->m_nextRouted) {
        if (each != work)
            continue;
        (previous ? previous->m_nextRouted : m_routedFirst) = each->m_nextRouted;
        if (m_routedLast == each)
            m_routedLast = previous;
        return;
    }
}

void Completion::wake(CallerWakeWord *sleeper, std::uint32_t bits) noexcept {
    // The word is static (never freed), so the waiter may already be gone.
    if (sleeper)
        sleeper->wake(bits);
}

RoutedWork *Completion::takeRouted() noexcept {
    m_routedLast = nullptr;
    return std::exchange(m_routedFirst, nullptr);
}

void Completion::failRouted(RoutedWork *first, CallStatus status) noexcept {
    while (first) {
        RoutedWork *const work = std::exchange(first, first->m_nextRouted);
        work->fail(status);
        work->handBack(); // last: the work may be gone after it
    }
}

CallStatus Completion::wait(Deadline deadline, CallerWakeWord *shared) {
    CallerWakeWord &own = CallerWakeWord::ofThisThread();
    std::unique_lock lock(m_mutex);
    for (;;) {
        const CallStatus status = m_status.load(std::memory_order_relaxed);
        if (!isWaiting(status))
            return status;
        const bool timed = status == CallStatus::Pending && deadline != noDeadline;
        if (timed && Clock::now() >= deadline) {
            // Routed work that ran past the deadline does not extend it: the caller leaves on
            // time, and what is still queued fails with TimeoutError.
            m_status.store(CallStatus::TimedOut, std::memory_order_seq_cst); // see m_begun
            RoutedWork *const routed = takeRouted();
            lock.unlock();
            failRouted(routed, CallStatus::TimedOut);
            return CallStatus::TimedOut;
        }
        if (status == CallStatus::Pending && m_routedFirst) {
            // One at a time: if the call ends while this one runs, the rest are failed, not run.
            RoutedWork *const work = std::exchange(m_routedFirst, m_routedFirst->m_nextRouted);
            if (!m_routedFirst)
                m_routedLast = nullptr;
            lock.unlock(); // the work is user code
            work->runOnCaller();
            work->handBack();
            lock.lock();
            continue;
        }
        // Asleep until a transition or routed work wakes this thread's word. The epoch is read
        // under the lock that every transition takes, so one made after this look moves it
        // before its wake, and the sleep below cannot miss it. A parked call sleeps without a
        // deadline: only unpark() ends it now. A caller on the loop's CPU sleeps on its runner's
        // shared word, so that the drain may wake it with the others (WakeBatch); a parked one
        // on its own.
        const bool together = shared && status == CallStatus::Pending;
        CallerWakeWord &word = together ? *shared : own;
        m_sleeper = &word;
        m_sleeperBits = together ? CallerWakeWord::bitOfThisThread() : CallerWakeWord::anyThread;
        const std::uint32_t bits = m_sleeperBits;
        const std::uint32_t seen = word.epoch();
        lock.unlock();
        word.sleep(seen, timed ? deadline : noDeadline, bits);
        lock.lock();
        m_sleeper = nullptr;
    }
}

} // namespace palitra::detail
