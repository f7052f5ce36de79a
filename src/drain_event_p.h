// SPDX-License-Identifier: MIT
#pragma once

#include <QEvent>

#include <atomic>
#include <cstddef>
#include <new>

namespace palitra::detail {

/*!
 * The one posted event that makes the loop thread drain the call queue.
 *
 * Posting a functor with invokeMethod() costs two allocations (slot object and QMetaCallEvent)
 * that the caller's thread makes and the loop thread frees, which defeats malloc's per-thread
 * caches on every call. This event recycles its storage instead: Qt deletes a posted event after
 * delivering it, and the class operator delete parks the block for the next post.
 */
class DrainEvent final : public QEvent {
public:
    DrainEvent() : QEvent(eventType()) {}
    static QEvent::Type eventType() {
        static const auto type = static_cast<QEvent::Type>(QEvent::registerEventType());
        return type;
    }
    static void *operator new(std::size_t size) {
        if (void *block = s_spare.exchange(nullptr, std::memory_order_acquire))
            return block;
        return ::operator new(size);
    }
    static void operator delete(void *block) noexcept {
        void *none = nullptr;
        if (!s_spare.compare_exchange_strong(none, block, std::memory_order_release,
                                             std::memory_order_relaxed))
            ::operator delete(block);
    }

private:
    static inline std::atomic<void *> s_spare{nullptr};
};

} // namespace palitra::detail
