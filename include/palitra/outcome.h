// SPDX-License-Identifier: MIT
#pragma once

#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace palitra {

//! The outcome of one coroutine of palitra::gatherOutcomes(): its value or its exception.
/*!
 * A coroutine that returns `void` gives an `Outcome<std::monostate>`.
 *
 * \code
 * auto [a, b] = palitra::gatherOutcomes(fetchA, fetchB);
 * if (a.hasValue())
 *     use(a.value());
 * else
 *     log(a.exception());
 * \endcode
 */
template<typename T>
class Outcome {
    static_assert(!std::is_reference_v<T> && !std::is_void_v<T>,
                  "palitra::Outcome<T> holds a value: T must be an object type "
                  "(a void coroutine gives Outcome<std::monostate>).");

public:
    //! The type of the value an Outcome holds.
    using value_type = T;

    //! An outcome that holds \a value.
    explicit Outcome(T value) noexcept(std::is_nothrow_move_constructible_v<T>)
        : m_state(std::in_place_index<0>, std::move(value)) {}

    //! An outcome that holds \a error. \throws std::invalid_argument if \a error is null.
    explicit Outcome(std::exception_ptr error) : m_state(std::in_place_index<1>, std::move(error)) {
        if (!std::get<1>(m_state))
            throw std::invalid_argument("palitra::Outcome needs a non-null exception_ptr");
    }

    //! True when the coroutine returned a value.
    [[nodiscard]] bool hasValue() const noexcept { return m_state.index() == 0; }

    //! The value; rethrows the coroutine's exception when there is none.
    T &value() & { return checkedValue(*this); }
    //! \overload
    const T &value() const & { return checkedValue(*this); }
    /*!
     * \overload
     * Moves the value out.
     */
    T &&value() && { return std::move(checkedValue(*this)); }

    //! The coroutine's exception, or a null pointer when it returned a value.
    [[nodiscard]] std::exception_ptr exception() const noexcept {
        return hasValue() ? std::exception_ptr{} : std::get<1>(m_state);
    }

private:
    template<typename Self>
    static auto &checkedValue(Self &self) {
        if (!self.hasValue())
            std::rethrow_exception(std::get<1>(self.m_state));
        return std::get<0>(self.m_state);
    }

    std::variant<T, std::exception_ptr> m_state;
};

} // namespace palitra
