// SPDX-License-Identifier: MIT
//
// EventLoopThreadRunner: the public face of a RunnerCore (runner_core_p.h), and the blocking
// wait that run() and gather() share.
#include <palitra/errors.h>
#include <palitra/runner.h>

#include "runner_core_p.h"
#include "wait_graph_p.h"

#include <optional>
#include <thread>
#include <typeinfo>

namespace palitra {

EventLoopThreadRunner::EventLoopThreadRunner() : EventLoopThreadRunner(RunnerOptions{}) {}

EventLoopThreadRunner::EventLoopThreadRunner(RunnerOptions options)
    : d(std::make_shared<detail::RunnerCore>(std::move(options), this)) {}

EventLoopThreadRunner::~EventLoopThreadRunner() {
    if (d->isLoopThread()) {
        // Destroyed by code running on its own loop: the loop must keep running (for the grace
        // period) after we return, so another thread joins it and frees the core.
        d->close();
        std::thread([core = d] { core->close(); }).detach();
        return;
    }
    d->close();
}

void EventLoopThreadRunner::close() {
    d->close();
}

bool EventLoopThreadRunner::isRunning() const noexcept {
    return d->isRunning();
}

RunnerStats EventLoopThreadRunner::stats() const noexcept {
    return d->statsNow();
}

QThread *EventLoopThreadRunner::thread() {
    return d->thread();
}

QObject *EventLoopThreadRunner::context() {
    return d->context();
}

void EventLoopThreadRunner::checkUsable() const {
    d->checkUsable();
}

void EventLoopThreadRunner::execute(detail::CallBase &call, detail::Deadline deadline) {
    using detail::CallStatus;
    // Only the core from here on: once the call is queued, user code that close() runs (a
    // continuation, a stop callback) may destroy this runner object while we wait; the core
    // stays until every waiter has left it.
    detail::RunnerCore &core = *d;
    // A loop thread that blocks on another runner's loop joins the graph of blocked loops,
    // which refuses the call that would close a cycle.
    std::optional<detail::BlockedLoopScope> blockedLoop;
    if (detail::RunnerCore *const waiter = detail::RunnerCore::current()) {
        try {
            blockedLoop.emplace(*waiter, core, call);
        } catch (...) {
            call.discard();
            call.release(); // the loop's reference: the loop will never see this call
            throw;
        }
    }
    core.stats().accepted();
    detail::Dispatched dispatched;
    try {
        dispatched = core.dispatch(&call);
    } catch (...) {
        core.stats().refused();
        throw;
    }
    CallStatus status;
    {
        const detail::WatchedCaller watched(core.watchdog(), typeid(call).name());
        // A quick outcome caught while spinning needs no sleep and no wake-up (SpinPolicy).
        core.spinPolicy().spin(call.completion(), deadline, dispatched.loopWasIdle);
        status = call.completion().wait(deadline, dispatched.sharedWake);
    }
    // Out of the graph of blocked loops before leave(): once the last waiter has left, a closer
    // may free the core, and the graph holds only live runners.
    blockedLoop.reset();
    // Counted by the caller itself, before it returns or throws: its own next look at stats()
    // sees its call ended.
    core.stats().ended(status, call.completion().error() != nullptr);
    core.leave(&call);

    switch (status) {
    case CallStatus::Finished:
        if (call.completion().error())
            std::rethrow_exception(call.completion().error());
        return;
    case CallStatus::TimedOut:
        if (!call.completion().hasBegun()) {
            throw TimeoutError("palitra: the timeout passed while the call was still queued "
                               "(the loop thread was busy); the callable was not invoked.");
        }
        call.requestStop();
        throw TimeoutError("palitra: the timeout passed before the coroutine finished; it was "
                           "asked to stop and its late result will be dropped.");
    case CallStatus::Closed:
    case CallStatus::Cancelled:
    case CallStatus::Pending:
    case CallStatus::Parked:
        break;
    }
    throw RunnerClosedError("palitra: the runner was closed before the call finished.");
}

void EventLoopThreadRunner::executeDetached(detail::FutureCallBase &call) noexcept {
    try {
        d->checkUsableFromAnywhere();
        detail::throwIfPassed(call.deadline());
    } catch (...) {
        call.discard();
        call.release(); // the loop's reference: the loop will never see this call
        call.failBeforeQueue(std::current_exception());
        return;
    }
    d->stats().accepted(); // before the loop can see the call, and so end it
    try {
        d->dispatch(&call); // on failure it drops the loop's reference itself
    } catch (...) {
        d->stats().refused();
        call.failBeforeQueue(std::current_exception());
    }
}

} // namespace palitra
