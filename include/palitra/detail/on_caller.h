// SPDX-License-Identifier: MIT
// Not public API: the template body behind palitra::CallContext::onCaller(). Do not include this
// file directly; include <palitra/call_context.h>.
#pragma once

#include <palitra/call_context.h>
#include <palitra/detail/completion.h>
#include <palitra/detail/traits.h>
#include <palitra/detail/waker.h>
#include <palitra/palitra_export.h>

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace palitra::detail {

//! Why onCaller()'s work did not run, as the exception its `co_await` throws.
PALITRA_EXPORT std::exception_ptr onCallerFailure(CallStatus status) noexcept;
//! The exception for an onCaller() that has no blocked caller to run on (or no call at all).
PALITRA_EXPORT std::exception_ptr onCallerWithoutCaller(const CallBase *call) noexcept;
//! The call's Completion, or null when it has no thread blocked in it.
PALITRA_EXPORT Completion *blockedCallerOf(CallBase *call) noexcept;

//! What a rejected onCaller() returns: awaitable, and its result converts to anything, so that
//! the static_assert sentence stays the only error.
struct RejectedAwait {
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    Rejected await_resume() const noexcept { return {}; }
};

//! The awaitable of CallContext::onCaller(): routed work that resumes its coroutine through a
//! LoopWake (a posted event on the awaiting thread), never inline on the caller's thread.
template<typename Fn>
class OnCallerAwaiter final : RoutedWork {
public:
    using Result = std::invoke_result_t<Fn &>;

    template<typename F>
    OnCallerAwaiter(CallContext call, F &&fn)
        : m_call(std::move(call)), m_fn(std::in_place, std::forward<F>(fn)) {}
    OnCallerAwaiter(OnCallerAwaiter &&other) noexcept(std::is_nothrow_move_constructible_v<Fn>)
        : m_call(std::move(other.m_call)), m_fn(std::move(other.m_fn)) {}
    OnCallerAwaiter &operator=(OnCallerAwaiter &&) = delete;
    ~OnCallerAwaiter() {
        // Gone before the work came back (its frame was destroyed while suspended): take it
        // out of the caller's queue, and make sure no wake-up touches this object any more.
        if (m_completion)
            m_completion->withdraw(this);
        m_wake.cancel();
    }

    bool await_ready() const noexcept { return false; }
    //! noexcept, failures reported by await_resume: GCC 12 destroys the awaiter twice when
    //! await_suspend throws.
    bool await_suspend(std::coroutine_handle<> handle) noexcept {
        Completion *const completion = blockedCallerOf(m_call.m_call);
        if (!completion) {
            m_failure = onCallerWithoutCaller(m_call.m_call);
            return false;
        }
        m_handle = handle;
        try {
            m_wake.arm(&OnCallerAwaiter::handedBack, this, LoopWake::Clock::time_point::max(),
                       m_handedBack.get_token());
        } catch (...) {
            m_failure = std::current_exception();
            return false;
        }
        m_completion = completion;
        // Queued also while the caller is parked (the process exits): it never runs then, and
        // fails with RunnerClosedError if the program goes on after all.
        if (Completion::isWaiting(completion->route(this)))
            return true;
        const CallStatus status = completion->status();
        m_completion = nullptr;
        m_wake.cancel();
        m_failure = onCallerFailure(status);
        return false;
    }
    //! \a fn's result, or its exception, or why it did not run.
    Result await_resume() {
        if (m_failure)
            std::rethrow_exception(m_failure);
        if constexpr (std::is_reference_v<Result>)
            return static_cast<Result>(**m_result);
        else if constexpr (!std::is_void_v<Result>)
            return std::move(*m_result);
    }

private:
    void runOnCaller() noexcept override {
        try {
            if constexpr (std::is_void_v<Result>) {
                std::invoke(*m_fn);
            } else if constexpr (std::is_reference_v<Result>) {
                Result value = std::invoke(*m_fn);
                m_result.emplace(std::addressof(value));
            } else {
                m_result.emplace(std::invoke(*m_fn));
            }
        } catch (...) {
            m_failure = std::current_exception();
        }
        m_fn.reset(); // captures go on the caller's thread, where they were used
    }
    void fail(CallStatus status) noexcept override { m_failure = onCallerFailure(status); }
    void handBack() noexcept override {
        m_completion = nullptr; // no longer queued
        // A copy keeps the stop state alive while request_stop() runs: once the wake-up is
        // posted, the loop may resume the coroutine and destroy this awaiter at any moment.
        std::stop_source handedBack = m_handedBack;
        handedBack.request_stop();
    }
    static void handedBack(void *self, bool) noexcept {
        static_cast<OnCallerAwaiter *>(self)->m_handle.resume();
    }

    // A reference result refers to the caller's objects: keep where it points.
    using Kept = std::conditional_t<
        std::is_reference_v<Result>, std::remove_reference_t<Result> *,
        std::conditional_t<std::is_void_v<Result>, char, std::remove_cv_t<Result>>>;

    CallContext m_call;
    std::optional<Fn> m_fn;
    std::optional<Kept> m_result;
    std::exception_ptr m_failure;
    std::coroutine_handle<> m_handle;
    Completion *m_completion = nullptr;
    std::stop_source m_handedBack;
    LoopWake m_wake;
};

} // namespace palitra::detail

namespace palitra {

template<typename Fn>
auto CallContext::onCaller(Fn &&fn) const {
    if constexpr (!std::is_invocable_v<std::decay_t<Fn> &>) {
        static_assert(detail::alwaysFalse<Fn>,
                      "palitra::CallContext::onCaller(fn): fn must be callable with no "
                      "arguments; capture what it needs: call.onCaller([&model, page] { "
                      "model.setPage(page); }).");
        return detail::RejectedAwait{}; // so that the co_await adds no error of its own
    } else {
        return detail::OnCallerAwaiter<std::decay_t<Fn>>(*this, std::forward<Fn>(fn));
    }
}

} // namespace palitra
