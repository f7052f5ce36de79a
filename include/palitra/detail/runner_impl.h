// SPDX-License-Identifier: MIT
// Not public API: the template bodies behind palitra/runner.h. Do not include this file directly.
#pragma once

#include <palitra/runner.h>

namespace palitra {

template<typename Fn>
auto EventLoopThreadRunner::run(Fn &&fn) {
    // A rejected callable stops here, so that its static_assert sentence is the only error.
    if constexpr (!detail::checkCallable<Fn>())
        return detail::Rejected{};
    else
        return runUntil(std::forward<Fn>(fn), detail::noDeadline);
}

template<typename Fn, typename Rep, typename Period>
auto EventLoopThreadRunner::run(Fn &&fn, std::chrono::duration<Rep, Period> timeout) {
    if constexpr (!detail::checkCallable<Fn>())
        return detail::Rejected{};
    else
        return runUntil(std::forward<Fn>(fn), detail::deadlineAfter(timeout));
}

template<typename Rep, typename Period, typename Fn>
auto EventLoopThreadRunner::run(std::chrono::duration<Rep, Period>, Fn &&) {
    // Always taken: the check's sentence is the only error.
    if constexpr (!detail::rejectTimeoutFirst<Fn>())
        return detail::Rejected{};
}

template<typename... Args>
auto EventLoopThreadRunner::gather(Args &&...args) {
    if constexpr (!detail::checkGatherArguments<Args...>())
        return detail::Rejected{};
    else
        return gatherDispatch<false>(std::forward<Args>(args)...);
}

template<typename... Args>
auto EventLoopThreadRunner::gatherOutcomes(Args &&...args) {
    if constexpr (!detail::checkGatherArguments<Args...>())
        return detail::Rejected{};
    else
        return gatherDispatch<true>(std::forward<Args>(args)...);
}

template<typename Fn>
auto EventLoopThreadRunner::submit(Fn &&fn) {
    if constexpr (!detail::checkCallable<Fn>())
        return detail::Rejected{};
    else
        return submitUntil(std::forward<Fn>(fn), detail::noDeadline);
}

template<typename Fn, typename Rep, typename Period>
auto EventLoopThreadRunner::submit(Fn &&fn, std::chrono::duration<Rep, Period> timeout) {
    if constexpr (!detail::checkCallable<Fn>())
        return detail::Rejected{};
    else
        return submitUntil(std::forward<Fn>(fn), detail::deadlineAfter(timeout));
}

template<typename Rep, typename Period, typename Fn>
auto EventLoopThreadRunner::submit(std::chrono::duration<Rep, Period>, Fn &&) {
    // Always taken: the check's sentence is the only error.
    if constexpr (!detail::rejectTimeoutFirst<Fn>())
        return detail::Rejected{};
}

template<typename Fn>
auto EventLoopThreadRunner::submitUntil(Fn &&fn, detail::Deadline deadline) {
    using F = std::decay_t<Fn>;
    if (detail::isEmptyCallable(fn))
        detail::throwEmptyCallable();
    auto *call = new detail::FutureCall<F>(std::forward<Fn>(fn), deadline);
    // Taken before the call is queued: from then on the loop may end it and free it.
    auto future = call->future();
    executeDetached(*call);
    return future;
}

template<typename Fn>
auto EventLoopThreadRunner::runUntil(Fn &&fn, detail::Deadline deadline) {
    using F = std::decay_t<Fn>;
    if (detail::isEmptyCallable(fn))
        detail::throwEmptyCallable();
    checkUsable();
    detail::throwIfPassed(deadline);
    detail::CallerRef call(new detail::RunCall<F>(std::forward<Fn>(fn)));
    execute(*call, deadline);
    return call->take();
}

template<bool Outcomes, typename... Args>
auto EventLoopThreadRunner::gatherDispatch(Args &&...args) {
    if constexpr (sizeof...(Args) == 0) {
        return gatherTuple<Outcomes>(detail::noDeadline);
    } else if constexpr (detail::isDuration<
                             std::tuple_element_t<sizeof...(Args) - 1, std::tuple<Args...>>>) {
        auto all = std::forward_as_tuple(std::forward<Args>(args)...);
        return gatherWithLastAsTimeout<Outcomes>(all,
                                                 std::make_index_sequence<sizeof...(Args) - 1>{});
    } else {
        return gatherUntil<Outcomes>(detail::noDeadline, std::forward<Args>(args)...);
    }
}

template<bool Outcomes, typename... Args>
auto EventLoopThreadRunner::gatherUntil(detail::Deadline deadline, Args &&...args) {
    if constexpr (sizeof...(Args) == 1 &&
                  (detail::CallableRange<std::remove_cvref_t<Args>> && ...)) {
        return gatherRange<Outcomes>(deadline, std::forward<Args>(args)...);
    } else {
        return gatherTuple<Outcomes>(deadline, std::forward<Args>(args)...);
    }
}

template<bool Outcomes, typename Tuple, std::size_t... I>
auto EventLoopThreadRunner::gatherWithLastAsTimeout(Tuple &all, std::index_sequence<I...>) {
    const auto deadline = detail::deadlineAfter(std::get<sizeof...(I)>(all));
    return gatherUntil<Outcomes>(deadline,
                                 std::forward<std::tuple_element_t<I, Tuple>>(std::get<I>(all))...);
}

template<bool Outcomes, typename R>
auto EventLoopThreadRunner::gatherRange(detail::Deadline deadline, R &&range) {
    using Element = std::ranges::range_value_t<std::remove_cvref_t<R>>;
    static_assert(detail::checkCallable<Element>());
    using F = std::decay_t<Element>;
    using Slot = typename detail::Job<F>::Slot;
    using List = ResultList<std::conditional_t<Outcomes, Outcome<Slot>, Slot>>;

    std::vector<detail::Job<F>> jobs;
    jobs.reserve(static_cast<std::size_t>(std::ranges::size(range)));
    const auto take = [&jobs](auto &&fn) {
        if (detail::isEmptyCallable(fn))
            detail::throwEmptyCallable();
        if constexpr (detail::movesElements<R>)
            jobs.emplace_back(std::move(fn));
        else
            jobs.emplace_back(static_cast<const F &>(fn));
    };
    if constexpr (!detail::movesElements<R> && !std::ranges::view<std::remove_cvref_t<R>> &&
                  std::ranges::input_range<const std::remove_reference_t<R>>) {
        // Const access: iterating a shared QList non-const would detach the caller's list.
        for (const auto &fn : std::as_const(range))
            take(fn);
    } else {
        for (auto &&fn : range)
            take(std::forward<decltype(fn)>(fn));
    }
    checkUsable();
    List out;
    if (jobs.empty())
        return out;
    detail::throwIfPassed(deadline);
    detail::CallerRef call(new detail::RangeGatherCall<F>(std::move(jobs), Outcomes));
    execute(*call, deadline);
    if constexpr (Outcomes)
        call->takeOutcomes(out);
    else
        call->takeValues(out);
    return out;
}

template<bool Outcomes, typename... Fns>
auto EventLoopThreadRunner::gatherTuple(detail::Deadline deadline, Fns &&...fns) {
    static_assert((detail::checkCallable<Fns>() && ...));
    using Call = detail::TupleGatherCall<std::decay_t<Fns>...>;
    const bool anyEmpty = (detail::isEmptyCallable(fns) || ...);
    if (anyEmpty)
        detail::throwEmptyCallable();
    checkUsable();
    if constexpr (sizeof...(Fns) == 0) {
        return std::tuple<>{};
    } else {
        detail::throwIfPassed(deadline);
        detail::CallerRef call(new Call(Outcomes, std::forward<Fns>(fns)...));
        execute(*call, deadline);
        if constexpr (Outcomes)
            return call->template takeOutcomes<Outcome>();
        else
            return call->takeValues();
    }
}

} // namespace palitra
