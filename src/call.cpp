// SPDX-License-Identifier: MIT
// The out-of-line part of detail::CallBase: what the call templates need from the runner.
#include <palitra/detail/call.h>

#include "call_links_p.h"
#include "runner_core_p.h"

#include <mutex>
#include <new>

namespace palitra::detail {

CallBase::CallBase(bool hasBlockedCaller) noexcept : m_hasBlockedCaller(hasBlockedCaller) {
    static_assert(sizeof(CallLinks) <= sizeof(m_linksStorage) &&
                      alignof(CallLinks) <= linksAlignment,
                  "CallBase's storage for the runner's links is too small: growing it changes the "
                  "size of every call, which is part of the ABI");
    new (m_linksStorage) CallLinks;
}

CallBase::~CallBase() {
    CallLinks::of(*this).~CallLinks();
}

namespace {

// The one state behind every call whose stop was requested before anything asked for its token:
// stopped from the start, so such a call needs no state of its own. Never destroyed, since a loop
// thread may still ask for it while the process exits.
std::stop_token stoppedToken() noexcept {
    static const std::stop_source *const stopped = [] {
        auto *source = new std::stop_source;
        source->request_stop();
        return source;
    }();
    return stopped->get_token();
}

// Made as the library loads, so that handing it out later never allocates.
[[maybe_unused]] const bool stoppedTokenMade = stoppedToken().stop_requested();

} // namespace

void CallBase::requestStop() noexcept {
    {
        const std::lock_guard lock(m_stopMutex);
        m_stopRequested = true;
        if (!m_stop.stop_possible())
            return; // no token yet: every one handed out from now on is stopped
    }
    // Without the lock: the callbacks are user code, and may ask for the token. The source is
    // never assigned again once it has a state, so reading it here is safe.
    m_stop.request_stop();
}

std::stop_token CallBase::stopToken() const noexcept {
    const std::lock_guard lock(m_stopMutex);
    if (!m_stop.stop_possible()) {
        if (m_stopRequested)
            return stoppedToken(); // requested before the first token: nothing left to signal
        try {
            m_stop = std::stop_source();
        } catch (const std::bad_alloc &) {
            // Out of memory: a token that can never be stopped. The coroutine then runs to its
            // own end; a timeout or close still releases its caller.
            return {};
        }
    }
    return m_stop.get_token();
}

RunnerCore *CallBase::core() const noexcept {
    return CallLinks::of(*this).core;
}

void CallBase::coroutineStarted() noexcept {
    CallLinks::of(*this).core->coroutineStarted();
}

void CallBase::coroutineEnded() noexcept {
    const CallLinks &links = CallLinks::of(*this);
    if (!links.isAbandoned.load(std::memory_order_acquire))
        links.core->coroutineEnded();
}

void CallBase::retire() noexcept {
    const CallLinks &links = CallLinks::of(*this);
    if (!links.isAbandoned.load(std::memory_order_acquire))
        links.core->retire(this);
}

void CallBase::finishAndRetire(std::exception_ptr failure) noexcept {
    // A sleeping waiter is woken after the loop has let go of the call, not before: its own
    // reference is then normally the last, so the call is freed on the thread that allocated it
    // (freeing another thread's block costs glibc several times a local one once its per-thread
    // cache is full). A waiter that spins, or wakes for another reason, may still see the
    // outcome first and leave: then the loop frees the call, as before. The wake-up touches
    // only the waiter's static word, so it is safe once the call is gone.
    PendingWake wake;
    m_completion.finish(std::move(failure), wake);
    retire(); // may delete this: a waiter that timed out has already let go
    wake.make();
}

} // namespace palitra::detail
