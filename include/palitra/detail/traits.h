// SPDX-License-Identifier: MIT
// Not public API: palitra::detail may change in any release.
#pragma once

#include <QCoro/QCoroTask>

#include <chrono>
#include <concepts>
#include <functional>
#include <limits>
#include <ranges>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

QT_BEGIN_NAMESPACE
template<typename T>
class QFuture;
QT_END_NAMESPACE

namespace palitra::detail {

template<typename T>
struct IsTask : std::false_type {};
template<typename T>
struct IsTask<QCoro::Task<T>> : std::true_type {
    using Value = T;
};

template<typename T>
inline constexpr bool isTask = IsTask<std::remove_cvref_t<T>>::value;

template<typename T>
struct IsDuration : std::false_type {};
template<typename Rep, typename Period>
struct IsDuration<std::chrono::duration<Rep, Period>> : std::true_type {};

template<typename T>
inline constexpr bool isDuration = IsDuration<std::remove_cvref_t<T>>::value;

//! Guards the dependent static_asserts below so that they only fire on instantiation.
template<typename>
inline constexpr bool alwaysFalse = false;

//! The callable's coroutine result type, `T` of `QCoro::Task<T>`.
template<typename Fn>
using ValueOf = typename IsTask<std::invoke_result_t<std::decay_t<Fn> &>>::Value;

//! What a gather slot stores: `void` becomes `std::monostate`.
template<typename T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

//! A QFuture is recognised only to say what to write instead; no Qt header is needed for that.
template<typename T>
struct IsFuture : std::false_type {};
template<typename T>
struct IsFuture<QFuture<T>> : std::true_type {};

template<typename T>
inline constexpr bool isFuture = IsFuture<std::remove_cvref_t<T>>::value;

//! A range palitra::gather() accepts: iterable once, sized, of callables.
template<typename R>
concept CallableRange =
    std::ranges::input_range<R> && std::ranges::sized_range<R> && !isDuration<R> && !isTask<R>;

//! What a call rejected at compile time returns instead of its result.
/*!
 * The public entry points return it from the branch taken after a failed check, so that nothing
 * else is instantiated for a callable palitra cannot take, and the check's static_assert
 * sentence stays the only error. It converts to whatever the caller expected, so the caller's
 * own code adds no error either; it is never defined, as no such program compiles.
 */
struct Rejected {
    template<typename T>
    operator T() const;
};

//! For run(timeout, fn) and submit(timeout, fn): says that the timeout goes last. Always false.
template<typename Timeout>
consteval bool rejectTimeoutFirst() {
    static_assert(alwaysFalse<Timeout>,
                  "palitra::run() and submit() take the timeout last, after the callable: "
                  "palitra::run(fn, 2s), palitra::submit(fn, 2s); the timeout goes last, as in "
                  "palitra::gather(fa, fb, 2s).");
    return false;
}

//! Checks at compile time that \a Fn is what palitra accepts, with a sentence saying what to
//! write instead. Returns false after a failed check (the static_assert has reported it), so
//! that a caller can skip everything that would only add errors: `if constexpr`.
template<typename Fn>
consteval bool checkCallable() {
    using F = std::remove_cvref_t<Fn>;
    if constexpr (isDuration<F>) {
        static_assert(alwaysFalse<F>,
                      "palitra was given a std::chrono::duration where a callable was expected: "
                      "the timeout goes last, after the callables: palitra::gather(fa, fb, 2s), "
                      "palitra::gather(list, 2s), palitra::run(fn, 2s).");
        return false;
    } else if constexpr (isTask<F>) {
        static_assert(
            alwaysFalse<F>,
            "palitra was given a QCoro::Task object, but a Task starts running the moment "
            "it is created, here on the calling thread, not on the loop thread. Pass a "
            "callable that creates it instead: palitra::run([] { return myCoroutine(); }) "
            "or palitra::run([]() -> QCoro::Task<T> { co_return co_await ...; }).");
        return false;
    } else if constexpr (isFuture<F>) {
        static_assert(alwaysFalse<F>,
                      "palitra was given a QFuture, which is already running elsewhere; palitra "
                      "needs a callable that returns QCoro::Task<T>. To wait for the future on "
                      "the loop thread, await it in one (#include <QCoro/QCoroFuture>): "
                      "palitra::run([]() -> QCoro::Task<T> { co_return co_await makeFuture(); }).");
        return false;
    } else if constexpr (CallableRange<F> && !std::is_invocable_v<std::decay_t<Fn> &>) {
        static_assert(alwaysFalse<F>,
                      "palitra was given a range where one callable was expected: a range of "
                      "callables is gathered on its own, as palitra::gather(list) or "
                      "palitra::gather(list, 2s); pass the others as one list or gather them "
                      "separately.");
        return false;
    } else if constexpr (!std::is_invocable_v<std::decay_t<Fn> &>) {
        static_assert(
            alwaysFalse<F>,
            "palitra needs a callable that takes no arguments and returns QCoro::Task<T>; "
            "this one cannot be called with no arguments. Bind the arguments in a lambda "
            "capture: palitra::run([x] { return myCoroutine(x); }).");
        return false;
    } else {
        using Result = std::invoke_result_t<std::decay_t<Fn> &>;
        if constexpr (isTask<Result> && std::is_reference_v<Result>) {
            static_assert(alwaysFalse<F>,
                          "palitra needs a callable that returns QCoro::Task<T> by value; this one "
                          "returns a reference to a Task, which was created, and started running, "
                          "before palitra could take it. Create the Task in the callable and "
                          "return it by value: palitra::run([] { return myCoroutine(); }).");
            return false;
        } else if constexpr (isTask<Result> && !std::is_same_v<Result, std::remove_cv_t<Result>>) {
            static_assert(alwaysFalse<F>,
                          "palitra needs a callable that returns QCoro::Task<T> by value; this one "
                          "returns a const Task, which palitra cannot take over. Drop the const: "
                          "palitra::run([]() -> QCoro::Task<int> { co_return 42; }).");
            return false;
        } else if constexpr (isFuture<Result>) {
            static_assert(alwaysFalse<F>,
                          "palitra needs a callable that returns QCoro::Task<T>; this one returns "
                          "a QFuture. Make it a coroutine that awaits the future "
                          "(#include <QCoro/QCoroFuture>): palitra::run([]() -> QCoro::Task<T> "
                          "{ co_return co_await makeFuture(); }).");
            return false;
        } else if constexpr (!isTask<Result>) {
            static_assert(alwaysFalse<F>,
                          "palitra needs a callable that returns QCoro::Task<T>; this one returns "
                          "something else. Make it a coroutine: "
                          "palitra::run([]() -> QCoro::Task<int> { co_return 42; }).");
            return false;
        } else if constexpr (!std::is_move_constructible_v<std::decay_t<Fn>>) {
            static_assert(alwaysFalse<F>,
                          "palitra keeps the callable until its coroutine ends, so it must be "
                          "movable or copyable.");
            return false;
        } else {
            return true;
        }
    }
}

//! checkCallable() for each of the types at \a I in \a Tuple.
template<typename Tuple, std::size_t... I>
consteval bool checkCallables(std::index_sequence<I...>) {
    return (checkCallable<std::tuple_element_t<I, Tuple>>() && ...);
}

//! Checks the arguments of gather() and gatherOutcomes() as they will be read: several callables
//! or one range of callables, then an optional timeout. Returns false after a failed check, like
//! checkCallable().
template<typename... Args>
consteval bool checkGatherArguments() {
    constexpr std::size_t count = sizeof...(Args);
    if constexpr (count == 0) {
        return true;
    } else {
        using All = std::tuple<Args...>;
        constexpr bool endsWithTimeout = isDuration<std::tuple_element_t<count - 1, All>>;
        constexpr std::size_t callables = endsWithTimeout ? count - 1 : count;
        // More durations than the one allowed in last place: one comes earlier.
        constexpr bool timeoutBeforeLast =
            (std::size_t{0} + ... + std::size_t{isDuration<Args>}) > (endsWithTimeout ? 1 : 0);
        if constexpr (timeoutBeforeLast) {
            static_assert(alwaysFalse<All>,
                          "palitra::gather() takes its timeout last, after the callables: "
                          "palitra::gather(fa, fb, 2s) or palitra::gather(list, 2s); the timeout "
                          "goes last, as in palitra::run(fn, 2s).");
            return false;
        } else if constexpr (callables == 1 &&
                             CallableRange<std::remove_cvref_t<std::tuple_element_t<0, All>>>) {
            using Range = std::remove_cvref_t<std::tuple_element_t<0, All>>;
            return checkCallable<std::ranges::range_value_t<Range>>();
        } else {
            return checkCallables<All>(std::make_index_sequence<callables>{});
        }
    }
}

//! A null function pointer or an empty std::function cannot be invoked: say so before anything
//! is dispatched.
template<typename T>
struct IsStdFunction : std::false_type {};
template<typename Signature>
struct IsStdFunction<std::function<Signature>> : std::true_type {};

template<typename F>
bool isEmptyCallable(const F &fn) noexcept {
    if constexpr (std::is_pointer_v<F> || std::is_member_pointer_v<F>) {
        return fn == nullptr;
    } else if constexpr (IsStdFunction<F>::value) {
        return !static_cast<bool>(fn);
    } else {
        return false;
    }
}

[[noreturn]] inline void throwEmptyCallable() {
    throw std::invalid_argument("palitra: the callable is empty (a null function pointer or an "
                                "empty std::function); nothing was dispatched.");
}

//! The callables of an rvalue range that owns its elements are moved; all others are copied.
template<typename R>
inline constexpr bool movesElements =
    !std::is_lvalue_reference_v<R> && !std::ranges::view<std::remove_cvref_t<R>> &&
    !std::ranges::borrowed_range<R>;

} // namespace palitra::detail
