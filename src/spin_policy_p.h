// SPDX-License-Identifier: MIT
#pragma once

#include <palitra/detail/completion.h>
#include <palitra/detail/spin_stats.h>

#include <atomic>
#include <chrono>

namespace palitra::detail {

/*!
 * Whether a caller of run()/gather() spins before it blocks, and for how long: one per runner.
 *
 * A spin saves a quick call the sleep and the cross-CPU wake-up of its caller (most of a round
 * trip on a multi-core machine), and wastes up to the budget of CPU on a call that is not quick.
 * So the caller spins only while this runner's recent spins caught their outcome: after
 * missLimit misses in a row it blocks at once, and it probes again now and then (after
 * probeFirst blocked calls, then twice as many after each probe that misses, up to probeMax),
 * so that a runner whose calls became quick again recovers. It never spins when the loop was
 * busy (the queue was not empty) or when the process may run on one CPU only (the loop could
 * not run meanwhile), and at most one caller fewer than there are CPUs spins at a time: the rest
 * block, so that the loop thread always has a CPU to answer on. Past its first microseconds the
 * spin yields the CPU between two looks, so that a loop thread waiting for this CPU (the others
 * busy with other processes) is not delayed.
 *
 * The counters are relaxed atomics: callers on several threads share them, and an estimate that
 * is a call or two behind is good enough for a heuristic.
 */
class SpinPolicy {
public:
    //! \a budget: RunnerOptions::spinBeforeBlocking. Zero or less never spins.
    explicit SpinPolicy(std::chrono::nanoseconds budget) noexcept;
    //! The same for a process that may run on \a cpus CPUs.
    SpinPolicy(std::chrono::nanoseconds budget, int cpus) noexcept;
    //! The idle loop thread's policy for a runner whose callers spin for \a callerBudget: five
    //! times as long (see RunnerOptions::spinBeforeBlocking).
    static SpinPolicy forIdleLoop(std::chrono::nanoseconds callerBudget) noexcept;

    //! The budget after the one-CPU check: zero when this runner never spins.
    std::chrono::nanoseconds budget() const noexcept { return m_budget; }

    /*!
     * The caller's spin before it blocks in Completion::wait(): watches \a completion for at
     * most the budget (and never past \a deadline) if the policy says so for a call queued
     * while the loop \a loopWasIdle, and learns whether it paid off. Returns true if the call
     * ended while spinning.
     */
    bool spin(const Completion &completion, Deadline deadline, bool loopWasIdle) noexcept;
    /*!
     * The idle loop thread's spin before it sleeps: watches \a wakeWord for any of \a bits
     * for at most the budget (and never past \a until, its next timer), if the policy says so,
     * and learns whether work came in time. Returns true if a bit was set while spinning.
     */
    bool spinIdle(const std::atomic<int> &wakeWord, int bits, Deadline until) noexcept;

    //! What the policy decided so far (for palitra's tests: they check decisions, not time).
    SpinStats stats() const noexcept;

    static constexpr int missLimit = 2;
    static constexpr unsigned probeFirst = 16;
    static constexpr unsigned probeMax = 1024;

private:
    //! Spins until \a isReady() or the budget (or \a deadline) ends; counts and learns.
    template<typename IsReady>
    bool watch(IsReady isReady, Deadline deadline, bool loopWasIdle) noexcept;
    //! Whether this call spins; counts the decision.
    bool shouldSpin(bool loopWasIdle, bool &isProbe) noexcept;
    void record(bool caught, bool isProbe) noexcept;

    const std::chrono::nanoseconds m_budget;
    const int m_maxSpinners;
    std::atomic<int> m_spinners{0};
    std::atomic<int> m_misses{0};          // spins in a row that did not catch the outcome
    std::atomic<unsigned> m_sinceProbe{0}; // calls that blocked at once since the last probe
    std::atomic<unsigned> m_probeEvery{probeFirst};

    std::atomic<std::uint64_t> m_spins{0};
    std::atomic<std::uint64_t> m_caught{0};
    std::atomic<std::uint64_t> m_blockedCold{0};
    std::atomic<std::uint64_t> m_blockedBusy{0};
    std::atomic<std::uint64_t> m_blockedCrowded{0};
};

} // namespace palitra::detail
