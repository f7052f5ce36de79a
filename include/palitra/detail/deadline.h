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

//! The caller's deadline for a call that may take \a timeout from now.
/*!
 * Any duration is accepted, floating-point ones included. Values too large for the clock mean
 * "no deadline" instead of overflowing; zero, negative and duration::min() mean "already passed".
 */
template<typename Rep, typename Period>
Deadline deadlineAfter(std::chrono::duration<Rep, Period> timeout) {
    if constexpr (std::is_floating_point_v<Rep>) {
        if (std::isnan(timeout.count()))
            throw std::invalid_argument("palitra: the timeout is NaN");
    }
    const Deadline now = Clock::now();
    if (timeout <= std::chrono::duration<Rep, Period>::zero())
        return now - Clock::duration(1);
    // Compare in long double nanoseconds: wide enough for hours::max() and for floating ones.
    using WideNs = std::chrono::duration<long double, std::nano>;
    const WideNs requested = std::chrono::duration_cast<WideNs>(timeout);
    const WideNs room = std::chrono::duration_cast<WideNs>(noDeadline - now);
    if (requested >= room)
        return noDeadline;
    // Round up so that a tiny positive timeout is never turned into zero.
    return now + std::chrono::ceil<Clock::duration>(requested);
}

//! Throws palitra::TimeoutError if \a deadline has already passed.
inline void throwIfPassed(Deadline deadline) {
    if (deadline != noDeadline && Clock::now() >= deadline)
        throw TimeoutError("palitra: the timeout had already passed when the call was made "
                           "(a timeout of zero or less); the callable was not invoked.");
}

} // namespace palitra::detail
