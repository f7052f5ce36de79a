// SPDX-License-Identifier: MIT
// Not public API: palitra::detail may change in any release.
#pragma once

#include <palitra/errors.h>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace palitra::detail {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

//! A deadline that never passes.
inline constexpr Deadline noDeadline = Deadline::max();

//! The deadline of a timeout of zero or less. The clock's epoch lies before any now() (the
//! monotonic clock counts from boot), so no positive timeout can produce it and a call can tell
//! "was given no time" from "ran out of time before it could start".
inline constexpr Deadline zeroTimeout = Deadline{};

//! The deadline \a timeout after \a now: the pure part of deadlineAfter(), for testing.
template<typename Rep, typename Period>
constexpr Deadline deadlineAfter(std::chrono::duration<Rep, Period> timeout, Deadline now) {
    if (timeout <= std::chrono::duration<Rep, Period>::zero())
        return zeroTimeout;
    // Compare in long double nanoseconds: wide enough for hours::max() and for floating ones.
    using WideNs = std::chrono::duration<long double, std::nano>;
    const WideNs requested = std::chrono::duration_cast<WideNs>(timeout);
    const WideNs room = std::chrono::duration_cast<WideNs>(noDeadline - now);
    if (requested >= room)
        return noDeadline;
    // Round up so that a tiny positive timeout is never turned into zero.
    return now + std::chrono::ceil<Clock::duration>(requested);
}

//! The caller's deadline for a call that may take \a timeout from now.
/*!
 * Any duration is accepted, floating-point ones included. Values too large for the clock mean
 * "no deadline" instead of overflowing; zero, negative and duration::min() mean "already
 * passed" (zeroTimeout).
 */
template<typename Rep, typename Period>
Deadline deadlineAfter(std::chrono::duration<Rep, Period> timeout) {
    if constexpr (std::is_floating_point_v<Rep>) {
        if (std::isnan(timeout.count()))
            throw std::invalid_argument("palitra: the timeout is NaN");
    }
    return deadlineAfter(timeout, Clock::now());
}

//! Why a call with \a deadline cannot be queued at \a now, or nullptr when it can.
constexpr const char *passedDeadlineReason(Deadline deadline, Deadline now) noexcept {
    if (deadline == zeroTimeout) {
        return "palitra: the timeout was zero or less, so it had already passed when the call was "
               "made; no callable was invoked.";
    }
    if (deadline != noDeadline && now >= deadline) {
        return "palitra: the timeout was positive but had already passed before the call could "
               "be queued for the loop thread (taking the callables and checking the runner took "
               "longer than that); no callable was invoked. Give the call a longer timeout.";
    }
    return nullptr;
}

//! Throws palitra::TimeoutError, saying which way, if \a deadline has already passed.
inline void throwIfPassed(Deadline deadline) {
    if (deadline == noDeadline)
        return;
    if (const char *reason = passedDeadlineReason(deadline, Clock::now()))
        throw TimeoutError(reason);
}

} // namespace palitra::detail
