// SPDX-License-Identifier: MIT
//
// Waking the loop thread: the deferral that holds a wake of its futex word until the waker's
// lock is released. The word itself and the futex calls are in loop_wake_word_p.h; the
// dispatcher that sleeps on the word is LoopEventDispatcher.
#include "loop_wake_word_p.h"

namespace palitra::detail {

#if defined(PALITRA_LOOP_SLEEPS_ON_FUTEX)

namespace {

thread_local LoopWakeDeferral *tlsDeferral = nullptr;

} // namespace

LoopWakeDeferral::LoopWakeDeferral() noexcept : m_outer(tlsDeferral) {
    tlsDeferral = this;
}

LoopWakeDeferral::~LoopWakeDeferral() {
    tlsDeferral = m_outer;
    if (m_pending)
        wakeOne(*m_pending);
}

bool LoopWakeDeferral::defer(LoopWakeWord &word) noexcept {
    LoopWakeDeferral *const deferral = tlsDeferral;
    if (!deferral || (deferral->m_pending && deferral->m_pending != &word))
        return false; // one loop per scope: a second one is woken at once
    deferral->m_pending = &word;
    return true;
}

#else

LoopWakeDeferral::LoopWakeDeferral() noexcept = default;
LoopWakeDeferral::~LoopWakeDeferral() = default;

#endif

} // namespace palitra::detail
