// SPDX-License-Identifier: MIT
// Must compile (see CMakeLists.txt): the deadline arithmetic of run() and gather(), and which of
// the two "already passed" sentences a call gets, pinned with static_asserts. A clock reading is
// passed in, so each case is exact.
#include <palitra/detail/deadline.h>

#include <chrono>
#include <limits>
#include <string_view>

namespace {

using namespace std::chrono_literals;
using palitra::detail::Deadline;
using palitra::detail::deadlineAfter;
using palitra::detail::noDeadline;
using palitra::detail::passedDeadlineReason;
using palitra::detail::zeroTimeout;
using Seconds = std::chrono::duration<double>;

// Any reading of the monotonic clock lies after its epoch; a day after boot will do.
constexpr Deadline now = Deadline{} + 24h;

constexpr bool says(const char *reason, std::string_view words) {
    return reason != nullptr && std::string_view(reason).find(words) != std::string_view::npos;
}

// Zero or less: no time at all, whatever the duration type.
static_assert(deadlineAfter(0ms, now) == zeroTimeout);
static_assert(deadlineAfter(-1h, now) == zeroTimeout);
static_assert(deadlineAfter(std::chrono::nanoseconds::min(), now) == zeroTimeout);
static_assert(deadlineAfter(Seconds(-0.5), now) == zeroTimeout);
static_assert(deadlineAfter(Seconds(-std::numeric_limits<double>::infinity()), now) == zeroTimeout);
static_assert(says(passedDeadlineReason(deadlineAfter(0s, now), now), "zero or less"));
// ... even when the caller looks much later.
static_assert(says(passedDeadlineReason(deadlineAfter(-1ms, now), now + 1h), "zero or less"));

// A positive timeout is never rounded to zero, and cannot be mistaken for one.
static_assert(deadlineAfter(1ns, now) == now + 1ns);
static_assert(deadlineAfter(Seconds(1e-12), now) == now + 1ns);
static_assert(deadlineAfter(1ns, Deadline{}) != zeroTimeout);
static_assert(passedDeadlineReason(deadlineAfter(1ns, now), now) == nullptr);
static_assert(passedDeadlineReason(deadlineAfter(2s, now), now + 1999ms) == nullptr);

// A positive timeout that ran out before the call was queued says so, not "zero or less".
static_assert(says(passedDeadlineReason(deadlineAfter(1ns, now), now + 1ns),
                   "was positive but had already passed before the call could be queued"));
static_assert(!says(passedDeadlineReason(deadlineAfter(2s, now), now + 3s), "zero or less"));

// Too long for the clock: no deadline, never a wrap into the past.
static_assert(deadlineAfter(std::chrono::hours::max(), now) == noDeadline);
static_assert(deadlineAfter(Seconds(std::numeric_limits<double>::infinity()), now) == noDeadline);
static_assert(deadlineAfter(Seconds::max(), now) == noDeadline);
static_assert(passedDeadlineReason(noDeadline, Deadline::max()) == nullptr);

} // namespace
