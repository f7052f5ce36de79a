// SPDX-License-Identifier: MIT
// The continuation palitra gives each user Task: see detail/resumer.h.
#include <palitra/detail/resumer.h>

#include <cstddef>
#include <exception>
#include <new>
#include <utility>

namespace palitra::detail {

namespace {
// The continuation palitra gives to a user's Task: it starts suspended; resuming it runs the
// callback and then frees the frame (final_suspend never suspends).
// Resumer frames all have the same size: a per-thread free list makes them almost free. A
// frame may be freed on another thread than the one that made it (a coroutine that ended
// there); it then simply joins that thread's list.
class ResumerFramePool {
public:
    ~ResumerFramePool() {
        while (m_free)
            ::operator delete(std::exchange(m_free, m_free->next));
        m_count = maxKept; // a frame freed later on this exiting thread goes straight to delete
    }
    void *allocate(std::size_t size) {
        if (size == m_size && m_free) {
            --m_count;
            return std::exchange(m_free, m_free->next);
        }
        return ::operator new(size);
    }
    void deallocate(void *frame, std::size_t size) noexcept {
        if ((m_size == 0 || size == m_size) && m_count < maxKept && size >= sizeof(Node)) {
            m_size = size;
            m_free = new (frame) Node{m_free};
            ++m_count;
            return;
        }
        ::operator delete(frame);
    }

private:
    struct Node {
        Node *next;
    };
    static constexpr std::size_t maxKept = 256;
    Node *m_free = nullptr;
    std::size_t m_size = 0;
    std::size_t m_count = 0;
};

thread_local ResumerFramePool resumerFrames;

struct Resumer {
    struct promise_type {
        static void *operator new(std::size_t size) { return resumerFrames.allocate(size); }
        static void operator delete(void *frame, std::size_t size) noexcept {
            resumerFrames.deallocate(frame, size);
        }
        Resumer get_return_object() noexcept {
            return {std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); } // callbacks are noexcept
    };
    std::coroutine_handle<promise_type> handle;
};

Resumer resumeInto(void (*onResume)(void *), void *context) {
    onResume(context);
    co_return;
}
} // namespace

std::coroutine_handle<> makeResumer(void (*onResume)(void *), void *context) {
    return resumeInto(onResume, context).handle;
}

} // namespace palitra::detail
