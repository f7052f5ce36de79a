// SPDX-License-Identifier: MIT
#include "caller_wake_p.h"

#include <array>
#include <chrono>
#include <cstddef>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>
#endif

namespace palitra::detail {

namespace {

constexpr std::size_t wordCount = 256;
std::array<CallerWakeWord, wordCount> words;
constexpr std::size_t sharedWordCount = 64;
std::array<CallerWakeWord, sharedWordCount> sharedWords;

// The order in which this thread first blocked.
std::size_t threadOrdinal() noexcept {
    static std::atomic<std::size_t> nextThread{0};
    thread_local const std::size_t ordinal = nextThread.fetch_add(1, std::memory_order_relaxed);
    return ordinal;
}

#if defined(__linux__)
int *futexWord(std::atomic<std::uint32_t> &word) noexcept {
    static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(int) &&
                  std::atomic<std::uint32_t>::is_always_lock_free);
    return reinterpret_cast<int *>(&word);
}
#endif

} // namespace

CallerWakeWord &CallerWakeWord::ofThisThread() noexcept {
    return words[threadOrdinal() % wordCount];
}

CallerWakeWord &CallerWakeWord::sharedForNewRunner() noexcept {
    static std::atomic<std::size_t> nextRunner{0};
    return sharedWords[nextRunner.fetch_add(1, std::memory_order_relaxed) % sharedWordCount];
}

std::uint32_t CallerWakeWord::bitOfThisThread() noexcept {
    return std::uint32_t(1) << (threadOrdinal() % 32);
}

#if defined(__linux__)

void CallerWakeWord::sleep(std::uint32_t seen, Deadline deadline, std::uint32_t bits) noexcept {
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, which is steady_clock's.
    timespec until{};
    timespec *timeout = nullptr;
    if (deadline != noDeadline) {
        const auto sinceEpoch = deadline.time_since_epoch();
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(sinceEpoch);
        until.tv_sec = static_cast<time_t>(seconds.count());
        until.tv_nsec = static_cast<long>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(sinceEpoch - seconds).count());
        timeout = &until;
    }
    // Any return (woken, the epoch moved, the deadline, a signal) sends the caller back to its
    // state, so the result needs no look.
    syscall(SYS_futex, futexWord(m_epoch), FUTEX_WAIT_BITSET_PRIVATE, static_cast<int>(seen),
            timeout, nullptr, static_cast<int>(bits));
}

void CallerWakeWord::wake(std::uint32_t bits) noexcept {
    // The epoch moves first, so that a caller between reading it and sleeping does not sleep.
    m_epoch.fetch_add(1, std::memory_order_acq_rel);
    syscall(SYS_futex, futexWord(m_epoch), FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, nullptr, nullptr,
            static_cast<int>(bits));
}

#else

// Without a futex every sleeper of a word wakes: the bits only say who need not.
void CallerWakeWord::sleep(std::uint32_t seen, Deadline deadline, std::uint32_t) noexcept {
    std::unique_lock lock(m_mutex);
    const auto moved = [&] { return m_epoch.load(std::memory_order_relaxed) != seen; };
    if (deadline == noDeadline)
        m_changed.wait(lock, moved);
    else
        m_changed.wait_until(lock, deadline, moved);
}

void CallerWakeWord::wake(std::uint32_t) noexcept {
    {
        const std::lock_guard lock(m_mutex);
        m_epoch.fetch_add(1, std::memory_order_acq_rel);
    }
    m_changed.notify_all();
}

#endif

} // namespace palitra::detail
