// SPDX-License-Identifier: MIT
#pragma once

namespace palitra::detail {

class CallBase;
class RunnerCore;

/*!
 * While it lives: the loop thread of \a waiter blocks in a run()/gather() on \a target, in
 * \a call.
 *
 * Loop threads blocked in each other's calls form a graph; a call that would close a cycle
 * (A's loop waits for B's while B's waits, directly or through other runners, for A's) can
 * never finish, so it is refused before anything is queued. The check and the registration are
 * one step under one lock: of two loops that block on each other at the same moment, at least
 * one sees the other. Only loop threads register (a plain thread waits for nobody's loop in
 * turn), so run() from an ordinary thread pays nothing for it.
 */
class BlockedLoopScope {
public:
    //! \throws DeadlockError if \a target's loop thread is blocked, directly or transitively, in
    //! a call on \a waiter.
    BlockedLoopScope(RunnerCore &waiter, RunnerCore &target, const CallBase &call);
    ~BlockedLoopScope();
    BlockedLoopScope(const BlockedLoopScope &) = delete;
    BlockedLoopScope &operator=(const BlockedLoopScope &) = delete;

private:
    RunnerCore *const m_waiter;
};

} // namespace palitra::detail
