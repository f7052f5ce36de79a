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
#include <type_traits>
#include <variant>

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

//! Checks at compile time that \a Fn is what palitra accepts, with a sentence saying what to
//! write instead. Returns true so it can sit in a constant expression.
template<typename Fn>
consteval bool checkCallable() {
    using F = std::remove_cvref_t<Fn>;
    if constexpr (isTask<F>) {
        static_assert(
            alwaysFalse<F>,
            "palitra was given a QCoro::Task object, but a Task starts running the moment "
            "it is created, here on the calling thread, not on the loop thread. Pass a "
            "callable that creates it instead: palitra::run([] { return myCoroutine(); }) "
            "or palitra::run([]() -> QCoro::Task<T> { co_return co_await ...; }).");
        return false;
    } else if constexpr (!std::is_invocable_v<std::decay_t<Fn> &>) {
        static_assert(
            alwaysFalse<F>,
            "palitra needs a callable that takes no arguments and returns QCoro::Task<T>; "
            "this one cannot be called with no arguments. Bind the arguments in a lambda "
            "capture: palitra::run([x] { return myCoroutine(x); }).");
        return false;
    } else if constexpr (!isTask<std::invoke_result_t<std::decay_t<Fn> &>>) {
        static_assert(alwaysFalse<F>,
                      "palitra needs a callable that returns QCoro::Task<T>; this one returns "
                      "something else. Make it a coroutine: "
                      "palitra::run([]() -> QCoro::Task<int> { co_return 42; }).");
        return false;
    } else if constexpr (!std::is_move_constructible_v<std::decay_t<Fn>>) {
        static_assert(alwaysFalse<F>,
                      "palitra keeps the callable until its coroutine ends, so it must be movable "
                      "or copyable.");
        return false;
    } else {
        return true;
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

//! A range palitra::gather() accepts: iterable once, sized, of callables.
template<typename R>
concept CallableRange =
    std::ranges::input_range<R> && std::ranges::sized_range<R> && !isDuration<R> && !isTask<R>;

//! The callables of an rvalue range that owns its elements are moved; all others are copied.
template<typename R>
inline constexpr bool movesElements =
    !std::is_lvalue_reference_v<R> && !std::ranges::view<std::remove_cvref_t<R>> &&
    !std::ranges::borrowed_range<R>;

} // namespace palitra::detail
