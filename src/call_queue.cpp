// SPDX-License-Identifier: MIT
//
// The runner's call queue and its drain: how a call is queued (dispatch, enqueue), taken by the
// loop thread and started (drain), and the runner's two lists of calls -- those someone waits
// for, and those in flight on the loop -- with what is left in flight when a loop ends. The
// members are RunnerCore's (runner_core_p.h); its lifecycle and close() are in runner_core.cpp.
#include "call_links_p.h"
#include "drain_event_p.h"
#include "runner_core_p.h"

#include <palitra/errors.h>

#include <mutex>
#include <typeinfo>
#include <utility>
#include <vector>

namespace palitra::detail {

namespace {

// Calls still suspended when their loop ended: never resumed, never destroyed (QCoro cannot
// destroy a suspended coroutine safely), and kept reachable here for the life of the process so
// that the leak is visibly deliberate (LeakSanitizer and valgrind see them as reachable).
std::mutex abandonedMutex;
CallBase *abandonedCalls = nullptr;

// The two intrusive lists of calls (waiting, in flight) differ only in their links.
template<CallBase *CallLinks::*Prev, CallBase *CallLinks::*Next>
void pushFront(CallBase *&head, CallBase *call) noexcept {
    linksOf(call).*Prev = nullptr;
    linksOf(call).*Next = head;
    if (head)
        linksOf(head).*Prev = call;
    head = call;
}

template<CallBase *CallLinks::*Prev, CallBase *CallLinks::*Next>
void erase(CallBase *&head, CallBase *call) noexcept {
    CallLinks &links = linksOf(call);
    if (links.*Prev)
        linksOf(links.*Prev).*Next = links.*Next;
    else
        head = links.*Next;
    if (links.*Next)
        linksOf(links.*Next).*Prev = links.*Prev;
    links.*Prev = links.*Next = nullptr;
}

} // namespace

void RunnerCore::link(CallBase *call) noexcept {
    pushFront<&CallLinks::prev, &CallLinks::next>(m_waiting, call);
    ++m_waitingCount;
}

void RunnerCore::unlink(CallBase *call) noexcept {
    erase<&CallLinks::prev, &CallLinks::next>(m_waiting, call);
    --m_waitingCount;
}

void RunnerCore::linkFlight(CallBase *call) noexcept {
    pushFront<&CallLinks::flightPrev, &CallLinks::flightNext>(m_flight, call);
}

void RunnerCore::unlinkFlight(CallBase *call) noexcept {
    erase<&CallLinks::flightPrev, &CallLinks::flightNext>(m_flight, call);
}

void RunnerCore::keepAbandoned(CallBase *flight) noexcept {
    const std::lock_guard lock(abandonedMutex);
    while (flight) {
        CallBase *call = std::exchange(flight, linksOf(flight).flightNext);
        linksOf(call).isAbandoned.store(true, std::memory_order_release);
        linksOf(call).flightPrev = nullptr;
        linksOf(call).flightNext = abandonedCalls;
        abandonedCalls = call;
    }
}

void RunnerCore::retire(CallBase *call) noexcept {
    {
        const std::lock_guard lock(m_mutex);
        if (linksOf(call).isAbandoned.load(std::memory_order_acquire))
            return; // resumed after its loop ended (only possible off the loop thread): keep it
        unlinkFlight(call);
    }
    call->release();
}

Dispatched RunnerCore::dispatch(CallBase *call) {
    m_exitWatch.arm(); // before any lock of ours: see ProcessExitWatch
    try {
        return enqueue(call);
    } catch (...) {
        // After enqueue()'s lock and wake-up deferral are gone: discard() runs the user's
        // destructors, which may post to a loop thread and wait for it.
        call->discard();
        call->release(); // the loop's reference: the loop will never see this call
        throw;
    }
}

Dispatched RunnerCore::enqueue(CallBase *call) {
    // Destroyed after the lock: the loop is woken once the queue is free for it to take.
    const LoopWakeDeferral wakeAfterUnlock;
    const std::lock_guard lock(m_mutex);
    if (phaseLocked() >= Phase::Closing)
        throw RunnerClosedError("palitra: the runner is closed.");
    if (phaseLocked() == Phase::Idle)
        startLocked();
    linksOf(call).core = this;
    const bool wasEmpty = m_queue.empty();
    m_queue.push_back(call);
    if (wasEmpty) {
        try {
            // One posted drain per burst: later calls join the queue it will empty.
            post(new DrainEvent);
        } catch (...) {
            m_queue.pop_back();
            throw;
        }
    }
    // Another waiter means the loop has other calls to answer, maybe in the same drain: a
    // caller on the loop's CPU then lets the drain wake it with the others (WakeBatch). A
    // caller alone gains nothing from it (its drain ends with its call), and one on another
    // CPU would only lose the time it could run meanwhile.
    const bool batchable = m_waitingCount != 0 && [this] {
        const int cpu = currentCpu(); // only asked when it matters: a caller alone never is
        return cpu != -1 && cpu == m_loopCpu.load(std::memory_order_relaxed);
    }();
    link(call);
    return {wasEmpty && !isLoopBusy(), batchable ? &m_sharedWake : nullptr};
}

bool RunnerCore::isLoopBusy() const noexcept {
    // A drain always runs for a moment, the one that answers a quick call included; only one
    // that has lasted longer than a spin is in synchronous work a spin cannot wait out.
    const std::int64_t since = m_drainingSince.load(std::memory_order_relaxed);
    return since != 0 && Clock::now() - Clock::time_point(Clock::duration(since)) > m_spin.budget();
}

void RunnerCore::leave(CallBase *call) noexcept {
    const std::lock_guard lock(m_mutex);
    unlink(call);
    if (m_waitingCount == m_parkedCount && phaseLocked() != Phase::Running)
        m_changed.notify_all();
}

void RunnerCore::drain() noexcept {
    // A local batch, so that a callable spinning a nested event loop (which drains again) cannot
    // disturb this iteration; its storage is recycled into the queue.
    std::vector<CallBase *> batch = std::move(m_spare);
    {
        const std::lock_guard lock(m_mutex);
        batch.swap(m_queue);
        for (CallBase *call : batch)
            linkFlight(call);
    }
    // Callers that queue while a callable has kept the loop busy for long block at once.
    const std::int64_t outerDrain = m_drainingSince.exchange(
        Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    m_loopCpu.store(currentCpu(), std::memory_order_relaxed);
    // Callers on this CPU are woken together once the drain's callables have run.
    const WakeBatch wakes(m_heldWakes);
    for (CallBase *call : batch) {
        if (m_phase.load(std::memory_order_acquire) >= Phase::Closing) {
            // close() ran inside an earlier callable: it has already released this caller.
            call->discard();
            call->retire();
        } else {
            if (m_watchdog) // names the call in a stall warning
                m_steps.setLabel(typeid(*call).name());
            call->start();
            if (m_watchdog)
                m_steps.setLabel(nullptr);
        }
    }
    m_drainingSince.store(outerDrain, std::memory_order_relaxed);
    batch.clear();
    m_spare = std::move(batch);
}

} // namespace palitra::detail
