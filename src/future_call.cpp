// SPDX-License-Identifier: MIT
// submit()'s calls: how a QFuture learns of each way a call can end.
#include <palitra/detail/future_call.h>
#include <palitra/detail/waker.h>
#include <palitra/errors.h>

#include "logging_p.h"
#include "runner_core_p.h"

#include <QFutureWatcher>
#include <QObject>

#include <stop_token>

namespace palitra::detail {

/*!
 * Lives on the loop thread while a submitted call runs: sees the future's cancel() (Qt tells a
 * QFutureWatcher, on the watcher's thread) and keeps the call's deadline. Owned by the loop, so
 * the loop's end deletes it if nothing did before. It holds a reference to its call, so a
 * signal that arrives late never touches a deleted one.
 */
class FutureWatch final : public QObject, private LoopOwned {
public:
    FutureWatch(FutureCallBase *call, RunnerCore &core, Deadline deadline)
        : LoopOwned(core), m_call(call) {
        connect(&m_watcher, &QFutureWatcherBase::canceled, this,
                [this] { m_call->cancelledByUser(); });
        // However the call ended, and on whichever thread: Qt tells the watcher here, on the
        // loop thread, so no other thread ever touches this object. Later, not now: this may
        // run inside one of the watcher's own signals.
        connect(&m_watcher, &QFutureWatcherBase::finished, this, &QObject::deleteLater);
        // Replays a cancel() made before this point, so none is missed.
        m_watcher.setFuture(QFuture<void>(&m_call->futureInterface()));
        // In the loop thread's timer heap, as palitra::sleepFor()'s deadlines: O(log n) to arm
        // and to cancel, however many submitted calls wait (a QTimer each would be a sorted
        // insertion into Qt's timer list).
        if (deadline != noDeadline)
            m_deadlineWake.arm(&FutureWatch::onDeadline, this, deadline, std::stop_token{});
        // Last: whatever threw above left no reference behind (the destructor, which drops it,
        // does not run for a constructor that threw).
        m_call->retain();
    }
    ~FutureWatch() override { m_call->release(); }

private:
    static void onDeadline(void *watch, bool /*byStop*/) noexcept {
        static_cast<FutureWatch *>(watch)->m_call->deadlinePassed(
            "palitra: the timeout passed before the coroutine finished; it was asked to stop and "
            "its late result will be dropped.");
    }

    FutureCallBase *m_call;
    QFutureWatcher<void> m_watcher;
    LoopWake m_deadlineWake; // last: cancelled first, before the watcher goes
};

FutureCallBase::FutureCallBase(Deadline deadline)
    : CallBase(/*hasBlockedCaller=*/false), m_deadline(deadline) {}

FutureCallBase::~FutureCallBase() = default;

bool FutureCallBase::beginWatched() noexcept {
    if (!begin())
        return false; // closed while queued; closed() has finished the future
    if (futureInterface().isCanceled()) {
        cancelledByUser();
        return false;
    }
    if (m_deadline != noDeadline && Clock::now() >= m_deadline) {
        deadlinePassed("palitra: the timeout passed while the call was still queued (the loop "
                       "thread was busy); the callable was not invoked.");
        return false;
    }
    try {
        new FutureWatch(this, *core(), m_deadline); // owned by the loop
    } catch (...) {
        if (completion().end(CallStatus::Closed)) {
            core()->stats().ended(CallStatus::Closed, false);
            report(std::current_exception());
        }
        return false;
    }
    return true;
}

void FutureCallBase::settle(std::exception_ptr failure) noexcept {
    if (!completion().finish(failure))
        return; // it ended another way first: the late outcome is dropped
    if (!failure) {
        try {
            reportValue();
        } catch (...) {
            failure = std::current_exception(); // moving the value failed
        }
    }
    // A cancel() that came after the coroutine ended but before its outcome reached the future
    // makes Qt drop that outcome (reporting an exception cancels the future too, so look first):
    // the future ends cancelled, and is counted so.
    const bool outcomeDropped =
        futureInterface().isCanceled() && (failure || futureInterface().resultCount() == 0);
    // Before the future finishes: whoever sees it finished sees it counted.
    if (outcomeDropped)
        core()->stats().ended(CallStatus::Cancelled, false);
    else
        core()->stats().ended(CallStatus::Finished, failure != nullptr);
    report(std::move(failure));
}

void FutureCallBase::cancelledByUser() noexcept {
    if (!completion().end(CallStatus::Cancelled))
        return;
    core()->stats().ended(CallStatus::Cancelled, false);
    // Before the future finishes, as close() and run()'s timeout do: whoever sees it finished
    // (a continuation, a waiter) sees the stop requested. The watch's reference keeps us alive.
    requestStop();
    report(nullptr); // the future is cancelled already; this finishes it
}

void FutureCallBase::deadlinePassed(const char *message) noexcept {
    if (!completion().end(CallStatus::TimedOut))
        return;
    core()->stats().ended(CallStatus::TimedOut, false);
    requestStop(); // first, as in cancelledByUser()
    report(std::make_exception_ptr(TimeoutError(message)));
}

void FutureCallBase::closed() noexcept {
    // close() has unlinked the call and holds a reference of its own; only the future and the
    // waiter's reference are left to us. The watch lives on the loop thread: the loop's end
    // deletes it.
    core()->stats().ended(CallStatus::Closed, false);
    finishFuture(std::make_exception_ptr(
        RunnerClosedError("palitra: the runner was closed before the call finished.")));
    release();
}

void FutureCallBase::failBeforeQueue(std::exception_ptr error) noexcept {
    completion().end(CallStatus::Closed);
    finishFuture(std::move(error));
    release();
}

void FutureCallBase::report(std::exception_ptr error) noexcept {
    finishFuture(std::move(error));
    core()->leave(this);
    release();
}

void FutureCallBase::finishFuture(std::exception_ptr error) noexcept {
    if (error)
        futureInterface().reportException(error);
    reportFinished();
}

} // namespace palitra::detail
