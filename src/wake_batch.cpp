// SPDX-License-Identifier: MIT
#include "wake_batch_p.h"

#include "runner_core_p.h"

#include <palitra/detail/deadline.h>

#include <csignal>
#include <mutex>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#endif

namespace palitra::detail {

namespace {

thread_local WakeBatch *tlsBatch = nullptr;

// A joinable std::thread must not be destroyed; one copied into a forked child cannot be joined
// either (its thread exists only in the parent). Kept reachable, so no leak checker minds.
void keepForever(std::thread &&thread) noexcept {
    static std::mutex mutex;
    static auto *const kept = new std::vector<std::thread>;
    const std::lock_guard lock(mutex);
    try {
        kept->push_back(std::move(thread));
    } catch (...) {
        thread.detach(); // no memory left: the one other way out that does not terminate
    }
}

// Every signal blocked on this thread for one scope; a thread started meanwhile is born so.
class AllSignalsBlocked {
public:
#if defined(__linux__)
    AllSignalsBlocked() noexcept {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &m_saved);
    }
    ~AllSignalsBlocked() {
        pthread_sigmask(SIG_SETMASK, &m_saved, nullptr);
    }

private:
    sigset_t m_saved;
#endif
};

} // namespace

HeldWakes::HeldWakes(CallerWakeWord &shared, WakeBatchCounters &counters) noexcept
    : m_word(shared), m_counters(counters) {}

HeldWakes::~HeldWakes() {
    m_stop.store(true, std::memory_order_release);
    m_keeperWake.wake();
    if (m_keeper.joinable()) {
        if (keeperRunsHere())
            m_keeper.join();
        else
            keepForever(std::move(m_keeper));
    }
    stopWatching();
}

bool HeldWakes::keeperRunsHere() const noexcept {
#if defined(__linux__)
    return m_keeperProcess == getpid(); // not in a child forked by one of the loop's callables
#else
    return true;
#endif
}

bool HeldWakes::hold(std::uint32_t bits) noexcept {
    std::uint64_t state = m_state.load(std::memory_order_relaxed);
    do {
        if (!(state & watching)) {
            requestWatch();
            return false;
        }
    } while (!m_state.compare_exchange_weak(state, state | bits, std::memory_order_acq_rel));
    m_counters.held.store(m_counters.held.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
    return true;
}

void HeldWakes::makeHeld() noexcept {
    makeHeldKeeping(watching, nullptr);
}

void HeldWakes::stopWatching() noexcept {
    makeHeldKeeping(0, nullptr);
}

void HeldWakes::makeHeldKeeping(std::uint64_t keep, std::atomic<std::uint64_t> *count) noexcept {
    const auto held =
        static_cast<std::uint32_t>(m_state.fetch_and(keep, std::memory_order_acq_rel));
    if (!held)
        return;
    if (count) // counted first: the woken caller may run before this thread does again
        count->fetch_add(1, std::memory_order_relaxed);
    m_word.wake(held);
}

void HeldWakes::requestWatch() noexcept {
    if (m_keeperFailed || m_watchRequested.load(std::memory_order_relaxed))
        return; // asked already: until the keeper watches, wake-ups are made at once
    m_watchRequested.store(true, std::memory_order_release);
    if (m_keeper.joinable()) {
        m_keeperWake.wake();
        return;
    }
    try {
        // Born with every signal blocked: a signal of the program's must never find a thread
        // that runs none of its code, not even before the keeper's first instruction.
        [[maybe_unused]] const AllSignalsBlocked blocked;
        m_keeper = std::thread([this] { keep(); });
    } catch (...) {
        // std::system_error or std::bad_alloc: with no thread to spare this loop holds nothing.
        m_keeperFailed = true;
        return;
    }
#if defined(__linux__)
    // Named here, before any caller of this drain is woken: a new thread starts with its
    // creator's name, and for a moment the loop thread would seem to have a twin.
    pthread_setname_np(m_keeper.native_handle(), "palitra-wakes");
    m_keeperProcess = getpid();
#endif
}

void HeldWakes::keep() noexcept {
    std::uint64_t lastHolds = 0;
    int quietPolls = 0;
    for (;;) {
        const std::uint32_t seen = m_keeperWake.epoch();
        if (m_stop.load(std::memory_order_acquire))
            return;
        if (!(m_state.load(std::memory_order_acquire) & watching)) {
            if (m_watchRequested.load(std::memory_order_acquire)) {
                m_state.fetch_or(watching, std::memory_order_acq_rel);
                m_watchRequested.store(false, std::memory_order_release);
                lastHolds = m_counters.held.load(std::memory_order_relaxed);
                quietPolls = 0;
                continue;
            }
            m_keeperWake.sleep(seen, noDeadline); // until asked to watch again, or stopped
            continue;
        }
        m_keeperWake.sleep(seen, Clock::now() + keeperPeriod);
        // Whatever a drain still holds after a period: made now (at worst a drain's batch is
        // split in two, once a period).
        makeHeldKeeping(watching, &m_counters.madeByKeeper);
        const std::uint64_t holds = m_counters.held.load(std::memory_order_relaxed);
        if (holds != lastHolds) {
            lastHolds = holds;
            quietPolls = 0;
        } else if (++quietPolls >= keeperQuietPolls) {
            stopWatching();
        }
    }
}

WakeBatch::WakeBatch(HeldWakes *held) noexcept : m_held(held), m_outer(tlsBatch) {
    tlsBatch = this;
}

WakeBatch::~WakeBatch() {
    tlsBatch = m_outer;
    if (m_holds)
        m_held->makeHeld();
}

bool WakeBatch::hold(CallerWakeWord &word, std::uint32_t bits) noexcept {
    WakeBatch *const batch = tlsBatch;
    if (!batch || !batch->m_held || &batch->m_held->word() != &word || !batch->m_held->hold(bits))
        return false;
    batch->m_holds = true;
    return true;
}

WakeBatchStats wakeBatchStats(EventLoopThreadRunner &runner) noexcept {
    return RunnerInternals::core(runner).wakeBatchStats();
}

int currentCpu() noexcept {
#if defined(__linux__)
    return sched_getcpu(); // the vDSO: no system call
#else
    return -1;
#endif
}

} // namespace palitra::detail
