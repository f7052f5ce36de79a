// SPDX-License-Identifier: MIT
// Not installed. The runner's bookkeeping of one call, kept out of the installed headers: a
// CallBase only reserves storage for it, so that its layout can change without touching what
// users' code compiles against.
#pragma once

#include <palitra/detail/call.h>

#include <atomic>
#include <new>

namespace palitra::detail {

//! Where one call stands in its runner's lists. Only the runner touches it, under its lock,
//! except isAbandoned.
struct CallLinks {
    //! The links of \a call, which lives in the storage the call reserves for them.
    static CallLinks &of(CallBase &call) noexcept {
        return *std::launder(reinterpret_cast<CallLinks *>(call.m_linksStorage));
    }
    static const CallLinks &of(const CallBase &call) noexcept {
        return *std::launder(reinterpret_cast<const CallLinks *>(call.m_linksStorage));
    }

    RunnerCore *core = nullptr;
    // The runner's list of calls that someone waits for (a blocked caller or a future).
    CallBase *prev = nullptr;
    CallBase *next = nullptr;
    // close()'s private list of the waiters it releases, so that it can ask them to stop after
    // dropping the runner's lock (stop callbacks are user code).
    CallBase *closeNext = nullptr;
    // The runner's list of calls the loop has taken from the queue and not retired yet. What is
    // left in it when the loop ends is abandoned, and moved to a process-wide list, so that the
    // leak is deliberate and reachable, not lost.
    CallBase *flightPrev = nullptr;
    CallBase *flightNext = nullptr;
    bool closedByClose = false;
    // Set when the loop ended with this call in flight: from then on it never touches its
    // runner, which may be gone by the time a foreign thread resumes the coroutine.
    std::atomic<bool> isAbandoned{false};
};

//! Shorthand for the runner's code.
inline CallLinks &linksOf(CallBase *call) noexcept {
    return CallLinks::of(*call);
}

} // namespace palitra::detail
