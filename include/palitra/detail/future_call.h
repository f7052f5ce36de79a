// SPDX-License-Identifier: MIT
// Not public API: palitra::detail may change in any release.
//
// One submit() is one FutureCall: the same call as run()'s, with a QFutureInterface as the
// other end of its Completion instead of a blocked thread. Whoever ends the call first (the
// coroutine's end, the future's cancel(), the deadline, close()) wins the Completion and is the
// only one to report to the future, so it always finishes, exactly once.
#pragma once

#include <palitra/detail/call.h>
#include <palitra/detail/deadline.h>
#include <palitra/palitra_export.h>

#include <QFuture>
#include <QFutureInterface>

#include <exception>
#include <type_traits>
#include <utility>

QT_BEGIN_NAMESPACE
class QObject;
QT_END_NAMESPACE

namespace palitra::detail {

class FutureWatch;

//! The part of a FutureCall that does not depend on its value type.
class PALITRA_EXPORT FutureCallBase : public CallBase {
public:
    //! close() won: the future finishes with RunnerClosedError.
    void closed() noexcept override;
    //! The call could not be queued (closed runner, forked child, deadline already passed):
    //! the future finishes with \a error. The loop's reference must already be gone.
    void failBeforeQueue(std::exception_ptr error) noexcept;
    //! When the future finishes with TimeoutError (noDeadline: never).
    Deadline deadline() const noexcept { return m_deadline; }

protected:
    explicit FutureCallBase(Deadline deadline);
    ~FutureCallBase() override;

    //! Loop thread, before invoking: claims the call, looks at cancel() and the deadline, and
    //! starts watching both. False if nothing may be invoked; the future has then been finished.
    bool beginWatched() noexcept;
    //! The coroutine ended with \a failure (or null); runs where it ended.
    void settle(std::exception_ptr failure) noexcept;

    //! The interface behind the future.
    virtual QFutureInterfaceBase &futureInterface() noexcept = 0;
    //! Moves the coroutine's value into the future (nothing for void).
    virtual void reportValue() = 0;
    //! Finishes the future. Through the typed interface: in Qt 6.4 only
    //! QFutureInterface<T>::reportFinished() runs the continuations of then() and onFailed().
    virtual void reportFinished() noexcept = 0;

private:
    friend class FutureWatch;
    //! The watch saw cancel(): the call ends as cancelled and is asked to stop.
    void cancelledByUser() noexcept;
    //! The watch's timer fired: the call ends with TimeoutError and is asked to stop.
    void deadlinePassed(const char *message) noexcept;
    //! After winning the Completion: finish the future (with \a error, if any), leave the
    //! runner's waiting list and drop the waiter's reference. The watch sees the future finish
    //! and deletes itself on the loop thread.
    void report(std::exception_ptr error) noexcept;
    //! Finishes the future, with \a error if it is not null.
    void finishFuture(std::exception_ptr error) noexcept;

    const Deadline m_deadline;
};

//! One submit(fn).
template<typename Fn>
class FutureCall final : public SingleJobCall<Fn, FutureCallBase> {
public:
    using Value = ValueOf<Fn>;

    template<typename F>
    FutureCall(F &&fn, Deadline deadline)
        : SingleJobCall<Fn, FutureCallBase>(std::forward<F>(fn), deadline) {
        m_future.reportStarted();
    }

    QFuture<Value> future() { return m_future.future(); }

    void start() noexcept override { this->startJob(this->beginWatched()); }

    void jobEnded(std::size_t, std::exception_ptr failure) noexcept override {
        this->coroutineEnded();
        this->settle(std::move(failure));
        this->retire();
    }

private:
    QFutureInterfaceBase &futureInterface() noexcept override { return m_future; }
    void reportValue() override {
        if constexpr (!std::is_void_v<Value>)
            m_future.reportAndMoveResult(this->m_job.takeSlot());
    }
    void reportFinished() noexcept override { m_future.reportFinished(); }

    QFutureInterface<Value> m_future;
};

} // namespace palitra::detail
