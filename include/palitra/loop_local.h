// SPDX-License-Identifier: MIT
#pragma once

#include <palitra/errors.h>
#include <palitra/palitra_export.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace palitra {

namespace detail {
//! A key no other LoopLocal has had in this process.
PALITRA_EXPORT std::size_t newLoopLocalKey() noexcept;
//! The value stored for \a key on this thread's runner, or null. \throws Error off a loop thread.
PALITRA_EXPORT void *findLoopLocal(std::size_t key);
//! Stores \a value for \a key on this thread's runner, which then owns it (it is destroyed
//! at once if that fails).
PALITRA_EXPORT void storeLoopLocal(std::size_t key, void *value, void (*destroy)(void *) noexcept);
} // namespace detail

/*!
 * \brief One `T` per runner loop thread, made on that thread on first use and destroyed there
 * when its runner closes.
 *
 * Objects that belong to a loop — a `QNetworkAccessManager`, a database connection, a cache —
 * need an owner that follows the loop's life: made on the loop thread (so their thread affinity
 * is right), reused by every call, and destroyed on that same thread when the runner closes. A
 * LoopLocal is that owner. Declare it anywhere (typically a static), use it from coroutines:
 * \code
 * static palitra::LoopLocal<QNetworkAccessManager> nam;
 *
 * QByteArray page = palitra::run([&]() -> QCoro::Task<QByteArray> {
 *     QNetworkReply *reply = nam->get(QNetworkRequest(url)); // the loop thread's own QNAM
 *     co_await reply;
 *     ...
 * });
 * \endcode
 * Each runner (and each new global runner after shutdownGlobalRunner()) gets its own fresh
 * value. Values are destroyed on their loop thread when its loop ends: after every coroutine
 * ended or was abandoned and after RunnerOptions::onLoopFinishing ran, in the reverse order of
 * their creation, before objects parented to the runner's context() are deleted.
 *
 * A LoopLocal object may be destroyed before the runners that hold a value for it; those values
 * still live until their runner closes. It can be neither copied nor moved.
 */
template<typename T>
class LoopLocal {
public:
    //! Makes the values with a factory, called on the loop thread: for a `T` that needs
    //! constructor arguments. It must not return null.
    using Factory = std::function<std::unique_ptr<T>()>;

    //! Values are default-constructed.
    LoopLocal() requires std::is_default_constructible_v<T>
        : LoopLocal(Factory([] { return std::make_unique<T>(); })) {}
    //! Values are made by \a factory, on the loop thread, on first use there.
    explicit LoopLocal(Factory factory)
        : m_key(detail::newLoopLocalKey()), m_factory(std::move(factory)) {}

    LoopLocal(const LoopLocal &) = delete;
    LoopLocal &operator=(const LoopLocal &) = delete;

    /*!
     * \brief The value of the runner whose loop thread this is; made now if this is its first use.
     *
     * Call it from a coroutine started by run(), gather() or submit(), or from any code running
     * on a runner's loop thread (a slot of an object living there, a functor posted to
     * context()).
     * While the loop ends, the destructor of a value may still use the values made before it
     * (they are destroyed later); asking then for one that is gone or was never made throws.
     * \throws palitra::Error on any other thread, or for a value that is gone or not made yet
     * while the runner's loop is ending.
     * \throws whatever the factory throws.
     */
    T &get() {
        if (void *value = detail::findLoopLocal(m_key))
            return *static_cast<T *>(value);
        std::unique_ptr<T> made = m_factory ? m_factory() : nullptr;
        if (!made)
            throw Error("palitra: the factory of a LoopLocal returned no object.");
        T *value = made.release(); // storeLoopLocal() owns it now, also when it throws
        detail::storeLoopLocal(m_key, value, &destroy);
        return *value;
    }
    //! get(), for `local->member`.
    T *operator->() { return &get(); }
    //! get(), for `*local`.
    T &operator*() { return get(); }

private:
    static void destroy(void *value) noexcept { delete static_cast<T *>(value); }

    const std::size_t m_key;
    const Factory m_factory;
};

} // namespace palitra
