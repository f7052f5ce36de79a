// SPDX-License-Identifier: MIT
#pragma once

namespace palitra::detail {

/*!
 * Whether the process is exiting: from then on every close() parks its blocked callers instead
 * of releasing them, so that no thread but the exiting one wakes, throws or runs user code.
 *
 * exit() runs the exiting thread's thread_local destructors first, then the atexit handlers and
 * static destructors, newest first. A runner can be destroyed by any of those, so the process is
 * known to be exiting as early as palitra can tell:
 *   - the first destructor of exit() on the main thread (return from main() included), and on a
 *     loop thread, is a thread_local of palitra's: it notices exit() before anything else runs;
 *   - for exit() on another thread, an atexit hook, registered when the first runner starts and
 *     again when a runner that lives in static storage starts: then it runs before the
 *     destructor of that runner (registered when its construction ended, so before its start).
 */
//! Marks the process as exiting (the hooks above, and the global runner's own).
void markProcessExiting() noexcept;
//! Whether markProcessExiting() has been called.
bool isProcessExiting() noexcept;

//! Called when a runner is made: on the main thread, arms its thread_local.
void watchProcessExitFromMainThread() noexcept;
//! Whether \a address lies in a loaded module's image (its data and bss included): an object
//! there has static storage duration, and exit() (or dlclose()) destroys it.
bool isInStaticStorage(const void *address) noexcept;
//! Called when a runner starts its loop thread (\a runnerIsStatic: the EventLoopThreadRunner
//! object is in static storage): arms the hooks above.
void watchProcessExitForRunner(bool runnerIsStatic) noexcept;

//! Called on a loop thread as it starts: its exit() is noticed first, until loopThreadEnds().
void watchProcessExitOnLoopThread() noexcept;
//! Called on a loop thread whose loop has ended: its thread_local destructors now run because
//! the thread ends, not because of exit().
void loopThreadEnds() noexcept;

} // namespace palitra::detail
