// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>

namespace palitra::detail {

/*!
 * Whether the process is exiting: from then on every close() parks its blocked callers instead
 * of releasing them, so that no thread but the exiting one wakes, throws or runs user code.
 *
 * exit() runs the exiting thread's thread_local destructors first, then the atexit handlers and
 * static destructors, newest first. A runner can be destroyed by any of those, so palitra learns
 * of the exit as early as it can:
 *   - on main()'s thread (return from main() included) from a thread_local of its own, armed on
 *     that thread's first call: its destructor is the first thing exit() runs there, before any
 *     runner's destructor but a thread_local one made later;
 *   - for exit() on any thread, from an atexit hook, registered before the first call of the
 *     process and again before the first call of each runner in static storage (a global, a
 *     function-local static, a member of one): that runner's destructor was registered when its
 *     construction ended, before its first call, so the hook runs first.
 * Both are armed on a call's way in, before palitra takes any lock of its own: registering
 * either takes the dynamic loader's lock, which dlopen() holds while it runs constructors.
 */
//! Marks the process as exiting (the hooks above, and the global runner's own).
void markProcessExiting() noexcept;
//! Whether markProcessExiting() has been called.
bool isProcessExiting() noexcept;

//! The part of the watch that belongs to one runner: arm() on each of its calls' way in.
class ProcessExitWatch {
public:
    //! \a runnerObject: the EventLoopThreadRunner (its address only: whether it lives in static
    //! storage).
    explicit ProcessExitWatch(const void *runnerObject) noexcept : m_runnerObject(runnerObject) {}

    //! Arms the hooks for this runner and for the calling thread, once each; no palitra lock
    //! may be held. One load on the way of every later call.
    void arm() noexcept {
        if (!m_armed.load(std::memory_order_acquire)) [[unlikely]]
            armSlow();
        armForThisThread();
    }

private:
    void armSlow() noexcept;
    static void armForThisThread() noexcept;

    const void *const m_runnerObject; // never dereferenced
    std::atomic<bool> m_armed{false};
};

} // namespace palitra::detail
