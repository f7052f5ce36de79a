// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <vector>

namespace palitra::detail {

/*!
 * The LoopLocal values of one loop thread. Only that thread touches it, so it takes no lock.
 *
 * Values are found by their LoopLocal's key (a small number never reused, so a LoopLocal that
 * dies and another made at the same address never share a value) and destroyed in the reverse
 * order of their creation when the loop ends.
 */
class LoopLocalRegistry {
public:
    using Destroy = void (*)(void *) noexcept;

    LoopLocalRegistry() = default;
    ~LoopLocalRegistry() { destroyAll(); }
    LoopLocalRegistry(const LoopLocalRegistry &) = delete;
    LoopLocalRegistry &operator=(const LoopLocalRegistry &) = delete;

    //! The value stored for \a key, or null.
    void *find(std::size_t key) const noexcept {
        return key < m_byKey.size() ? m_byKey[key] : nullptr;
    }
    //! Stores \a value for \a key (which has none); \a destroy frees it at the end.
    void insert(std::size_t key, void *value, Destroy destroy);
    //! Destroys every value, the newest first. Afterwards nothing can be stored any more.
    void destroyAll() noexcept;
    bool isClosed() const noexcept { return m_isClosed; }

private:
    struct Entry {
        std::size_t key;
        void *value;
        Destroy destroy;
    };
    std::vector<void *> m_byKey;
    std::vector<Entry> m_inCreationOrder;
    bool m_isClosed = false;
};

} // namespace palitra::detail
