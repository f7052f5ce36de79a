// SPDX-License-Identifier: MIT
#include "spin_policy_p.h"

#include <palitra/runner.h>

#include "runner_core_p.h"

#include <sched.h>

#include <algorithm>

namespace palitra::detail {

namespace {

// How many CPUs this process may run on (a guess of 2 when the kernel will not say).
int usableCpus() noexcept {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    if (sched_getaffinity(0, sizeof cpus, &cpus) != 0)
        return 2;
    return CPU_COUNT(&cpus);
}

// A spin ends at now + budget on steady_clock: a day keeps that far from overflowing (and
// nobody means a longer spin), whatever RunnerOptions said.
constexpr std::chrono::nanoseconds maxBudget = std::chrono::hours(24);

// The idle loop's spin waits for the next call, which comes from a caller that may first have
// to be woken itself (tens of microseconds on a virtual machine): a spin as short as a caller's
// would miss it every time, and a loop that sleeps makes every caller's spin miss in turn.
constexpr int idleFactor = 5;

// Spinning only pays off when the loop thread can run on another CPU meanwhile.
std::chrono::nanoseconds usableSpin(std::chrono::nanoseconds requested, int cpus) noexcept {
    if (requested <= std::chrono::nanoseconds::zero() || cpus < 2)
        return std::chrono::nanoseconds::zero();
    return std::min(requested, maxBudget);
}

constexpr std::chrono::microseconds yieldAfter{3};

inline void cpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

} // namespace

SpinPolicy::SpinPolicy(std::chrono::nanoseconds budget) noexcept
    : SpinPolicy(budget, usableCpus()) {}

SpinPolicy SpinPolicy::forIdleLoop(std::chrono::nanoseconds callerBudget) noexcept {
    return SpinPolicy(
        std::clamp(callerBudget, std::chrono::nanoseconds::zero(), maxBudget / idleFactor) *
        idleFactor);
}

SpinPolicy::SpinPolicy(std::chrono::nanoseconds budget, int cpus) noexcept
    : m_budget(usableSpin(budget, cpus)), m_maxSpinners(std::max(1, cpus - 1)) {}

bool SpinPolicy::shouldSpin(bool loopWasIdle, bool &isProbe) noexcept {
    isProbe = false;
    if (!loopWasIdle) {
        // The loop has other calls to run first: this one is unlikely to be quick.
        m_blockedBusy.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    if (m_misses.load(std::memory_order_relaxed) < missLimit)
        return true;
    if (m_sinceProbe.fetch_add(1, std::memory_order_relaxed) + 1 <
        m_probeEvery.load(std::memory_order_relaxed)) {
        m_blockedCold.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    m_sinceProbe.store(0, std::memory_order_relaxed);
    isProbe = true;
    return true;
}

void SpinPolicy::record(bool caught, bool isProbe) noexcept {
    m_spins.fetch_add(1, std::memory_order_relaxed);
    if (caught) {
        m_caught.fetch_add(1, std::memory_order_relaxed);
        m_misses.store(0, std::memory_order_relaxed);
        m_probeEvery.store(probeFirst, std::memory_order_relaxed);
        return;
    }
    if (m_misses.load(std::memory_order_relaxed) < missLimit)
        m_misses.fetch_add(1, std::memory_order_relaxed);
    if (isProbe) {
        // Still slow: probe half as often, so that long calls cost next to nothing in spins.
        const unsigned every = m_probeEvery.load(std::memory_order_relaxed);
        m_probeEvery.store(std::min(every * 2, probeMax), std::memory_order_relaxed);
    }
}

bool SpinPolicy::spin(const Completion &completion, Deadline deadline, bool loopWasIdle) noexcept {
    return watch([&] { return !completion.isPending(); }, deadline, loopWasIdle);
}

bool SpinPolicy::spinIdle(const std::atomic<int> &wakeWord, int bits, Deadline until) noexcept {
    return watch([&] { return (wakeWord.load(std::memory_order_acquire) & bits) != 0; }, until,
                 true);
}

template<typename IsReady>
bool SpinPolicy::watch(IsReady isReady, Deadline deadline, bool loopWasIdle) noexcept {
    if (m_budget <= std::chrono::nanoseconds::zero())
        return false;
    bool isProbe = false;
    if (!shouldSpin(loopWasIdle, isProbe))
        return false;
    // One CPU stays for the loop thread: callers beyond that block instead of spinning, or they
    // would take the CPU the loop needs to answer them.
    if (m_spinners.fetch_add(1, std::memory_order_relaxed) >= m_maxSpinners) {
        m_spinners.fetch_sub(1, std::memory_order_relaxed);
        m_blockedCrowded.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    const auto start = Clock::now();
    const Deadline spinEnd = std::min(deadline, start + m_budget);
    const Deadline yieldFrom = start + yieldAfter;
    bool caught = isReady();
    for (auto now = start; !caught && now < spinEnd; now = Clock::now()) {
        // Past a short pure spin, let the thread this one waits for have this CPU if it waits
        // for one (the other CPUs may be busy with other processes): a spin must never be what
        // delays it.
        if (now < yieldFrom)
            cpuRelax();
        else
            sched_yield();
        caught = isReady();
    }
    m_spinners.fetch_sub(1, std::memory_order_relaxed);
    // An outcome first seen after the spin's end (this thread was descheduled, in the yield or
    // anywhere else) did not come within the budget: for the policy it is a miss.
    record(caught && Clock::now() <= spinEnd, isProbe);
    return caught;
}

SpinStats SpinPolicy::stats() const noexcept {
    SpinStats stats;
    stats.spins = m_spins.load(std::memory_order_relaxed);
    stats.caught = m_caught.load(std::memory_order_relaxed);
    stats.blockedCold = m_blockedCold.load(std::memory_order_relaxed);
    stats.blockedBusy = m_blockedBusy.load(std::memory_order_relaxed);
    stats.blockedCrowded = m_blockedCrowded.load(std::memory_order_relaxed);
    return stats;
}

SpinStats spinStats(EventLoopThreadRunner &runner) noexcept {
    return RunnerInternals::core(runner).spinPolicy().stats();
}

SpinStats idleSpinStats(EventLoopThreadRunner &runner) noexcept {
    return RunnerInternals::core(runner).idleSpinPolicy().stats();
}

bool loopSpinsWhenIdle() noexcept {
#if defined(PALITRA_LOOP_SLEEPS_ON_FUTEX)
    return true;
#else
    return false;
#endif
}

} // namespace palitra::detail
