// SPDX-License-Identifier: MIT
//
// The pending wake-ups of one thread: the deadlines of palitra::sleepFor() in a binary heap with
// one Qt timer armed for the earliest, and the stop-aware awaiters grouped by stop token so that
// a stop request posts one event per token to the thread instead of one per awaiter.
#pragma once

#include <palitra/detail/waker.h>

#include <QEvent>
#include <QObject>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <vector>

namespace palitra::detail {

class ThreadWakeups;
struct StopBatch;

//! One armed LoopWake. Every field is guarded by its owner's mutex.
struct WakeNode {
    static constexpr std::size_t notInHeap = static_cast<std::size_t>(-1);

    LoopWake::Callback callback = nullptr;
    void *context = nullptr;
    // Keeps the thread's state reachable for as long as the node exists: a frame left suspended
    // when its thread ended may still be destroyed later, from another thread.
    std::shared_ptr<ThreadWakeups> owner;

    LoopWake::Clock::time_point deadline;
    std::uint64_t sequence = 0; // ties between equal deadlines go to the older sleep
    std::size_t heapIndex = notInHeap;

    StopBatch *batch = nullptr;
    WakeNode *batchPrev = nullptr;
    WakeNode *batchNext = nullptr;

    bool running = false;  // its callback runs right now (on the owner's thread)
    bool orphaned = false; // cancelled by its own callback: the runner of the callback frees it
};

//! A binary min-heap of nodes ordered by (deadline, sequence). Each node knows its index, so
//! removing any node is O(log n) too.
class TimerHeap {
public:
    bool isEmpty() const noexcept { return m_nodes.empty(); }
    std::size_t size() const noexcept { return m_nodes.size(); }
    WakeNode *top() const noexcept { return m_nodes.front(); }
    //! \throws std::bad_alloc, leaving the heap unchanged.
    void push(WakeNode *node);
    void remove(WakeNode *node) noexcept;
    //! Forgets every node (their heapIndex becomes notInHeap).
    void clear() noexcept;

private:
    static bool isBefore(const WakeNode *a, const WakeNode *b) noexcept {
        return a->deadline < b->deadline ||
               (a->deadline == b->deadline && a->sequence < b->sequence);
    }
    void place(std::size_t index, WakeNode *node) noexcept {
        m_nodes[index] = node;
        node->heapIndex = index;
    }
    void siftUp(std::size_t index) noexcept;
    void siftDown(std::size_t index) noexcept;

    std::vector<WakeNode *> m_nodes;
};

//! The nodes armed on one thread with one stop token, and the one stop callback for them all.
struct StopBatch {
    //! The event the stop callback posts; Qt owns it once posted.
    class Event final : public QEvent {
    public:
        explicit Event(StopBatch *batch) : QEvent(type()), m_batch(batch) {}
        static QEvent::Type type();
        StopBatch *batch() const noexcept { return m_batch; }

    private:
        StopBatch *m_batch;
    };
    //! Runs on the thread that requests the stop: posts the event, touches nothing else.
    struct Post {
        StopBatch *batch;
        void operator()() const noexcept;
    };

    StopBatch(const std::stop_token &stopToken, std::size_t key, QObject *receiver);
    ~StopBatch();

    const std::stop_token token;
    const std::size_t key;
    QObject *const receiver;
    Event *const event;
    std::atomic<bool> isPosted{false};
    WakeNode *first = nullptr;
    WakeNode *last = nullptr;
    std::optional<std::stop_callback<Post>> callback; // set last: it may run at once
};

//! The pending wake-ups of one thread (see the top of this file).
class ThreadWakeups final {
public:
    //! The current thread's, made on first use. \throws std::bad_alloc, palitra::Error once the
    //! thread is ending.
    static std::shared_ptr<ThreadWakeups> current();

    ThreadWakeups();
    ~ThreadWakeups();
    ThreadWakeups(const ThreadWakeups &) = delete;
    ThreadWakeups &operator=(const ThreadWakeups &) = delete;

    //! This thread only. \throws std::bad_alloc, leaving nothing armed.
    void arm(WakeNode *node, LoopWake::Clock::time_point deadline, const std::stop_token &stop);
    //! Any thread. Afterwards the node's callback does not run, and is not running on another
    //! thread. Returns false if the node must not be deleted yet (its own callback cancels it:
    //! the callback's caller deletes it when it returns).
    bool cancel(WakeNode *node) noexcept;

    //! The thread ends: drop the stop callbacks and the timer. Nodes still armed are never run
    //! (their coroutines stay suspended, as palitra's abandoned ones do).
    void close() noexcept;

    //! From the receiver, on this thread.
    void fireTimers() noexcept;
    void deliverStop(StopBatch *batch) noexcept;

    //! Test hooks: how many nodes wait for a deadline, how many stop batches exist.
    std::size_t pendingDeadlines() const;
    std::size_t stopBatches() const;

private:
    class Receiver;

    void linkToBatch(WakeNode *node, const std::stop_token &stop);
    void unlinkFromBatch(WakeNode *node) noexcept;
    void dropBatch(StopBatch *batch) noexcept;
    void removeFromHeap(WakeNode *node) noexcept;
    void rearm() noexcept;
    void invoke(std::unique_lock<std::mutex> &lock, WakeNode *node, bool byStop) noexcept;
    //! Posts the rest of \a batch's wake-ups as a new event; false if it could not.
    bool continueLater(StopBatch *batch) noexcept;

    // How many coroutines one event or timer pass wakes before the loop looks at its other
    // events again: waking 10^5 at once would keep it from answering anything else for ~0.1 s.
    static constexpr std::size_t wakeChunk = 1024;
    bool isOwnThread() const noexcept { return std::this_thread::get_id() == m_threadId; }

    mutable std::mutex m_mutex;
    std::condition_variable m_callbackDone; // for cancel() from another thread
    int m_foreignWaiters = 0;
    const std::thread::id m_threadId = std::this_thread::get_id();
    bool m_isClosed = false;

    TimerHeap m_heap;
    std::uint64_t m_nextSequence = 0;
    int m_timerId = 0;
    LoopWake::Clock::time_point m_armedFor;

    std::unordered_multimap<std::size_t, StopBatch *> m_batches;
    StopBatch *m_lastBatch = nullptr; // the awaiters of one call usually come in a row

    Receiver *m_receiver = nullptr; // lives on this thread; deleted by close()
};

} // namespace palitra::detail
