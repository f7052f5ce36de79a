// SPDX-License-Identifier: MIT
// Not public API: palitra::detail may change in any release.
//
// One run() or one whole gather() is one CallBase. The caller allocates it, the runner queues it,
// the loop thread start()s it, and its Completion hands the outcome back. Two references keep it
// alive: the waiter's (dropped when it stops waiting, for whatever reason) and the loop's (dropped
// when the last coroutine of the call has ended). That is what lets a timed-out caller leave while
// its coroutine, its callable and the captures it refers to stay valid until the frame ends.
#pragma once

#include <palitra/detail/completion.h>
#include <palitra/detail/resumer.h>
#include <palitra/detail/traits.h>
#include <palitra/palitra_export.h>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <stop_token>
#include <tuple>
#include <typeinfo>
#include <utility>
#include <vector>

namespace palitra::detail {

class RunnerCore;
class CallBase;
struct RunnerInternals;
// The runner's bookkeeping of one call (its place in the runner's lists). Not installed: only
// the library knows its layout.
struct CallLinks;

class PALITRA_EXPORT CallBase {
public:
    CallBase(const CallBase &) = delete;
    CallBase &operator=(const CallBase &) = delete;

    //! Loop thread: invoke the callable(s). Never throws; failures become the call's outcome.
    virtual void start() noexcept = 0;
    //! The call will never start (the runner closed first): drop the callables now.
    virtual void discard() noexcept = 0;
    //! The coroutine of job \a index ended, with \a failure or null. Runs where it ended.
    virtual void jobEnded(std::size_t index, std::exception_ptr failure) noexcept = 0;
    //! close() ended this call (its Completion is Closed): tell whoever waits. Runs on the
    //! closing thread without the runner's lock. A blocked caller has been woken already.
    virtual void closed() noexcept {}

    //! Drops one reference; the last one deletes the call.
    void release() noexcept {
        if (m_refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
            delete this;
    }
    void retain() noexcept { m_refs.fetch_add(1, std::memory_order_relaxed); }

    //! The hand-off with whoever waits for this call.
    Completion &completion() noexcept { return m_completion; }
    //! True once the call has ended for whoever waits for it (outcome, timeout, close, cancel).
    bool hasEnded() const noexcept { return !m_completion.isPending(); }
    //! A thread blocks on this call (run, gather), as opposed to a QFuture (submit).
    bool hasBlockedCaller() const noexcept { return m_hasBlockedCaller; }
    //! Asks the call's coroutines to stop: the stop callbacks registered on its token run here,
    //! and a token taken later is already stopped. Any thread; a second request does nothing.
    void requestStop() noexcept;
    //! The call's stop token (palitra::currentStopToken(), CallContext::stopToken()). Any
    //! thread; every token of one call shares one stop state (when memory runs out before the
    //! first, before any stop request, the token may never stop).
    std::stop_token stopToken() const noexcept;
    //! The runner the call was dispatched to (null until then).
    RunnerCore *core() const noexcept;
    //! Drops the loop's reference once the call is over on the loop side (all its coroutines
    //! ended, or it was never started): it leaves the runner's in-flight list first.
    void retire() noexcept;
    //! Loop thread, once every coroutine has ended: the outcome (\a failure or null) is in,
    //! the call retires, and only then is a sleeping waiter woken.
    void finishAndRetire(std::exception_ptr failure) noexcept;

protected:
    //! Two references: the waiter's and the loop's.
    explicit CallBase(bool hasBlockedCaller = true) noexcept;
    virtual ~CallBase();

    //! Loop thread, before invoking anything: claims the call for starting. False if it has
    //! already ended (timed out or closed while queued): then nothing may be invoked.
    bool begin() noexcept { return m_completion.begin(); }

    //! Bookkeeping for close(): how many coroutines of this runner are still running.
    void coroutineStarted() noexcept;
    void coroutineEnded() noexcept;

private:
    std::atomic<int> m_refs{2};
    Completion m_completion;
    // The stop state is made by the first stopToken(), not here: most calls never ask for one,
    // and making it is an allocation per call (a tenth of a round trip's user-space work). A
    // stop requested before then is remembered, and the call's tokens are then those of one
    // state shared by all such calls and stopped from the start.
    mutable CompactMutex m_stopMutex;
    mutable std::stop_source m_stop{std::nostopstate}; // under m_stopMutex until it has a state
    bool m_stopRequested = false;                      // under m_stopMutex
    const bool m_hasBlockedCaller;
    // The runner's CallLinks live here. Only the size is fixed by this header (the library
    // checks that its links fit); the layout is the library's own.
    friend struct CallLinks;
    static constexpr std::size_t linksAlignment = alignof(void *);
    alignas(linksAlignment) std::byte m_linksStorage[8 * sizeof(void *)];
};

//! Makes \a call the one palitra::currentCall() and palitra::currentStopToken() see while its
//! callable runs synchronously on the loop thread (up to its first suspension).
class PALITRA_EXPORT CurrentCallScope {
public:
    explicit CurrentCallScope(CallBase &call) noexcept;
    //! No call is current while it lives: around palitra's own resumption of a coroutine, which
    //! may happen inside another call's synchronous part (an emission there resumes an
    //! awaitSignal() at once), where that coroutine must not see the other call as its own.
    explicit CurrentCallScope(std::nullptr_t) noexcept;
    ~CurrentCallScope();
    CurrentCallScope(const CurrentCallScope &) = delete;
    CurrentCallScope &operator=(const CurrentCallScope &) = delete;

private:
    CallBase *m_previous;
};

//! A coroutine of \a owner ended on a thread that is not its runner's loop thread (it was
//! resumed elsewhere, by an awaitable that does not come back): warns once per callable type.
PALITRA_EXPORT void checkEndedOnLoopThread(const CallBase &owner,
                                           const std::type_info &callable) noexcept;

//! One coroutine of a call: its callable, the Task it returned, and the slot for its value.
/*!
 * The Task is awaited by hand (its awaiter's await_ready / await_suspend / await_resume) with a
 * resumer handle as the continuation, rather than from a coroutine defined here; see
 * makeResumer(). The Task and its awaiter are kept until the coroutine has ended: the Task
 * object owns the frame's lifetime in QCoro 0.8 and must not be destroyed while it is suspended.
 */
template<typename Fn>
class Job {
public:
    using Task = std::invoke_result_t<std::decay_t<Fn> &>;
    using Value = ValueOf<Fn>;
    using Slot = Stored<Value>;

    template<typename F>
    explicit Job(F &&fn) : m_fn(std::in_place, std::forward<F>(fn)) {}

    //! Invokes the callable (the coroutine runs until its first suspension) and arranges for
    //! \a owner to hear of its end. Never throws: a failure to start is the job's failure.
    void start(CallBase &owner, std::size_t index) noexcept {
        m_owner = &owner;
        m_index = index;
        std::coroutine_handle<> resumer;
        try {
            // The resumer is made before the coroutine starts: once it runs, a failure to
            // allocate its continuation could neither stop it nor be reported when it ends.
            resumer = makeResumer(&Job::resumed, this);
            m_task.emplace(std::invoke(*m_fn));
        } catch (...) {
            if (resumer)
                resumer.destroy();
            end(std::current_exception());
            return;
        }
        m_awaiter.emplace(m_task->operator co_await());
        if (!m_awaiter->await_ready()) {
            m_awaiter->await_suspend(resumer);
            return;
        }
        resumer.destroy();
        complete();
    }

    void discard() noexcept { m_fn.reset(); }
    Slot takeSlot() { return std::move(*m_slot); }

private:
    static void resumed(void *self) {
        auto *const job = static_cast<Job *>(self);
        checkEndedOnLoopThread(*job->m_owner, typeid(Fn));
        job->complete();
    }

    //! The coroutine has ended: take its value or exception.
    void complete() noexcept {
        std::exception_ptr failure;
        try {
            if constexpr (std::is_void_v<Value>) {
                m_awaiter->await_resume();
                m_slot.emplace();
            } else {
                m_slot.emplace(m_awaiter->await_resume());
            }
        } catch (...) {
            failure = std::current_exception();
        }
        end(std::move(failure));
    }

    //! Drops the task and the callable here, on the loop thread, so that captures are gone when
    //! the caller wakes; then reports. The owner may delete this job, so it comes last.
    void end(std::exception_ptr failure) noexcept {
        m_awaiter.reset();
        m_task.reset();
        m_fn.reset();
        m_owner->jobEnded(m_index, std::move(failure));
    }

    using Awaiter = decltype(std::declval<Task &>().operator co_await());

    std::optional<std::decay_t<Fn>> m_fn;
    std::optional<Task> m_task;
    std::optional<Awaiter> m_awaiter;
    std::optional<Slot> m_slot;
    CallBase *m_owner = nullptr;
    std::size_t m_index = 0;
};

//! What every call of one coroutine (run, submit) does with it, whatever waits for it: \a Base
//! is CallBase for a blocked caller, FutureCallBase for a QFuture.
template<typename Fn, typename Base>
class SingleJobCall : public Base {
public:
    void discard() noexcept override { m_job.discard(); }

protected:
    template<typename F, typename... BaseArgs>
    explicit SingleJobCall(F &&fn, BaseArgs... baseArgs)
        : Base(baseArgs...), m_job(std::forward<F>(fn)) {}

    //! Loop thread: invokes the callable if \a claimed (the call has not ended while queued);
    //! otherwise drops it unstarted.
    void startJob(bool claimed) noexcept {
        if (!claimed) { // the waiter left before the loop got here: don't start it at all
            m_job.discard();
            this->retire();
            return;
        }
        CurrentCallScope scope(*this);
        this->coroutineStarted();
        m_job.start(*this, 0);
    }

    Job<Fn> m_job;
};

//! One palitra::run().
template<typename Fn>
class RunCall final : public SingleJobCall<Fn, CallBase> {
public:
    template<typename F>
    explicit RunCall(F &&fn) : SingleJobCall<Fn, CallBase>(std::forward<F>(fn)) {}

    void start() noexcept override { this->startJob(this->begin()); }

    void jobEnded(std::size_t, std::exception_ptr failure) noexcept override {
        this->coroutineEnded();
        this->finishAndRetire(std::move(failure));
    }

    ValueOf<Fn> take() {
        if constexpr (!std::is_void_v<ValueOf<Fn>>)
            return this->m_job.takeSlot();
    }
};

//! The shared part of both gather calls: counting ends, first failure, outcome mode.
class GatherBase : public CallBase {
public:
    //! One coroutine ended. In default mode the first failure ends the whole call at once and
    //! asks the siblings to stop; in outcome mode failures wait in their slot.
    void jobEnded(std::size_t index, std::exception_ptr failure) noexcept override {
        coroutineEnded();
        if (failure) {
            if (m_collectOutcomes) {
                m_errors[index] = std::move(failure);
            } else if (!m_failed.exchange(true, std::memory_order_acq_rel)) {
                completion().finish(std::move(failure));
                requestStop();
            }
        }
        if (m_remaining.fetch_sub(1, std::memory_order_acq_rel) == 1)
            finishAndRetire(nullptr);
    }

protected:
    GatherBase(std::size_t count, bool collectOutcomes)
        : m_errors(collectOutcomes ? count : 0), m_remaining(count),
          m_collectOutcomes(collectOutcomes) {}

    //! Outcome mode: the exception of job \a index, or null.
    const std::exception_ptr &errorOf(std::size_t index) const noexcept { return m_errors[index]; }

    //! Starts every job, in order, with this call's stop token current.
    template<typename StartEach>
    void startAll(StartEach startEach) noexcept {
        if (!begin()) {
            discard();
            retire();
            return;
        }
        // Every job may end synchronously, and the last end may delete the call while the loop
        // below still runs: hold a reference for its duration.
        retain();
        {
            CurrentCallScope scope(*this);
            startEach();
        }
        release();
    }

private:
    std::vector<std::exception_ptr> m_errors;
    std::atomic<std::size_t> m_remaining;
    std::atomic<bool> m_failed{false};
    const bool m_collectOutcomes;
};

//! One palitra::gather(fns...) / gatherOutcomes(fns...): a fixed set of callables.
template<typename... Fns>
class TupleGatherCall final : public GatherBase {
public:
    // Each Job is built in place: moving one (its empty optionals) makes g++ 12 at -O2 with
    // sanitizers warn -Wmaybe-uninitialized in users' builds.
    template<typename... F>
    TupleGatherCall(bool collectOutcomes, F &&...fns)
        : GatherBase(sizeof...(Fns), collectOutcomes), m_jobs(std::forward<F>(fns)...) {}

    void start() noexcept override {
        startAll([this] { startEach(std::index_sequence_for<Fns...>{}); });
    }

    void discard() noexcept override {
        std::apply([](auto &...job) { (job.discard(), ...); }, m_jobs);
    }

    //! Default mode: every value, in argument order.
    std::tuple<typename Job<Fns>::Slot...> takeValues() {
        return takeValues(std::index_sequence_for<Fns...>{});
    }
    //! Outcome mode: value or exception of each, in argument order.
    template<template<typename> class Outcome>
    std::tuple<Outcome<typename Job<Fns>::Slot>...> takeOutcomes() {
        return takeOutcomes<Outcome>(std::index_sequence_for<Fns...>{});
    }

private:
    template<std::size_t... I>
    void startEach(std::index_sequence<I...>) noexcept {
        ((coroutineStarted(), std::get<I>(m_jobs).start(*this, I)), ...);
    }
    template<std::size_t... I>
    std::tuple<typename Job<Fns>::Slot...> takeValues(std::index_sequence<I...>) {
        return std::tuple<typename Job<Fns>::Slot...>(std::get<I>(m_jobs).takeSlot()...);
    }
    template<template<typename> class Outcome, std::size_t... I>
    std::tuple<Outcome<typename Job<Fns>::Slot>...> takeOutcomes(std::index_sequence<I...>) {
        return std::tuple<Outcome<typename Job<Fns>::Slot>...>(takeOutcome<Outcome, I>()...);
    }
    template<template<typename> class Outcome, std::size_t I>
    auto takeOutcome() {
        using Slot = typename std::tuple_element_t<I, std::tuple<Job<Fns>...>>::Slot;
        if (errorOf(I))
            return Outcome<Slot>(errorOf(I));
        return Outcome<Slot>(std::get<I>(m_jobs).takeSlot());
    }

    std::tuple<Job<Fns>...> m_jobs;
};

//! One palitra::gather(range) / gatherOutcomes(range).
template<typename Fn>
class RangeGatherCall final : public GatherBase {
public:
    RangeGatherCall(std::vector<Job<Fn>> jobs, bool collectOutcomes)
        : GatherBase(jobs.size(), collectOutcomes), m_jobs(std::move(jobs)) {}

    void start() noexcept override {
        startAll([this] {
            for (std::size_t i = 0; i < m_jobs.size(); ++i) {
                coroutineStarted();
                m_jobs[i].start(*this, i);
            }
        });
    }

    void discard() noexcept override {
        for (auto &job : m_jobs)
            job.discard();
    }

    //! Appends every value, in input order, to \a out.
    template<typename List>
    void takeValues(List &out) {
        out.reserve(static_cast<typename List::size_type>(m_jobs.size()));
        for (auto &job : m_jobs)
            out.emplace_back(job.takeSlot());
    }
    //! Appends every outcome, in input order, to \a out.
    template<typename List>
    void takeOutcomes(List &out) {
        using Outcome = typename List::value_type;
        out.reserve(static_cast<typename List::size_type>(m_jobs.size()));
        for (std::size_t i = 0; i < m_jobs.size(); ++i) {
            if (errorOf(i))
                out.emplace_back(Outcome(errorOf(i)));
            else
                out.emplace_back(Outcome(m_jobs[i].takeSlot()));
        }
    }

private:
    std::vector<Job<Fn>> m_jobs;
};

//! The caller's reference: released however the caller leaves.
template<typename Call>
class CallerRef {
public:
    explicit CallerRef(Call *call) noexcept : m_call(call) {}
    ~CallerRef() { m_call->release(); }
    CallerRef(const CallerRef &) = delete;
    CallerRef &operator=(const CallerRef &) = delete;
    Call *operator->() const noexcept { return m_call; }
    Call &operator*() const noexcept { return *m_call; }

private:
    Call *m_call;
};

} // namespace palitra::detail
