// SPDX-License-Identifier: MIT
// Not public API: palitra::detail may change in any release.
#pragma once

#include <palitra/palitra_export.h>

#include <cstdint>

namespace palitra {
class EventLoopThreadRunner;
}

namespace palitra::detail {

//! For palitra's tests: what a runner's adaptive spin (RunnerOptions::spinBeforeBlocking)
//! decided for the calls made on it so far.
struct SpinStats {
    std::uint64_t spins = 0;       //!< calls whose caller spun before blocking (probes included)
    std::uint64_t caught = 0;      //!< of them, calls that ended while their caller spun
    std::uint64_t blockedCold = 0; //!< calls that blocked at once: recent spins had missed
    std::uint64_t blockedBusy = 0; //!< calls that blocked at once: the loop had work queued
    //! calls that blocked at once: as many other callers were spinning as the CPUs allow
    std::uint64_t blockedCrowded = 0;
};

//! \copydoc SpinStats
PALITRA_EXPORT SpinStats spinStats(EventLoopThreadRunner &runner) noexcept;
//! The same for the runner's idle loop thread, which spins before it sleeps: \c spins and
//! \c caught count its spins and those that a call (or any wake-up) ended; \c blockedCold the
//! times it slept at once because recent spins had missed.
PALITRA_EXPORT SpinStats idleSpinStats(EventLoopThreadRunner &runner) noexcept;
//! For palitra's tests: what became of the wake-ups of a runner's callers that slept on its
//! loop thread's CPU, which a drain holds to make them together at its end.
struct WakeBatchStats {
    std::uint64_t held = 0;         //!< wake-ups a drain held (to its end, or the keeper's look)
    std::uint64_t madeByKeeper = 0; //!< times the keeper made wake-ups still held after a period
};

//! \copydoc WakeBatchStats
PALITRA_EXPORT WakeBatchStats wakeBatchStats(EventLoopThreadRunner &runner) noexcept;
//! Whether this build's loop thread spins when idle at all: only its futex-sleeping dispatcher
//! does (Linux, built with Qt's private headers).
PALITRA_EXPORT bool loopSpinsWhenIdle() noexcept;

} // namespace palitra::detail
