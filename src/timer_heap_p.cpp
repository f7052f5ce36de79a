// SPDX-License-Identifier: MIT
#include "timer_heap_p.h"

#include <palitra/detail/call.h>
#include <palitra/errors.h>

#include "logging_p.h"

#include <QCoreApplication>
#include <QTimerEvent>

#include <algorithm>
#include <climits>
#include <string_view>
#include <utility>

namespace palitra::detail {

// ------------------------------------------------------------------------------------------------
// TimerHeap

void TimerHeap::push(WakeNode *node) {
    m_nodes.push_back(node); // the only step that may throw
    node->heapIndex = m_nodes.size() - 1;
    siftUp(node->heapIndex);
}

void TimerHeap::remove(WakeNode *node) noexcept {
    const std::size_t index = node->heapIndex;
    node->heapIndex = WakeNode::notInHeap;
    WakeNode *const last = m_nodes.back();
    m_nodes.pop_back();
    if (last == node)
        return;
    place(index, last);
    // The moved node may belong above or below the hole.
    if (index > 0 && isBefore(last, m_nodes[(index - 1) / 2]))
        siftUp(index);
    else
        siftDown(index);
}

void TimerHeap::clear() noexcept {
    for (WakeNode *node : m_nodes)
        node->heapIndex = WakeNode::notInHeap;
    m_nodes.clear();
}

void TimerHeap::siftUp(std::size_t index) noexcept {
    WakeNode *const node = m_nodes[index];
    while (index > 0) {
        const std::size_t parent = (index - 1) / 2;
        if (!isBefore(node, m_nodes[parent]))
            break;
        place(index, m_nodes[parent]);
        index = parent;
    }
    place(index, node);
}

void TimerHeap::siftDown(std::size_t index) noexcept {
    WakeNode *const node = m_nodes[index];
    const std::size_t count = m_nodes.size();
    for (;;) {
        std::size_t child = 2 * index + 1;
        if (child >= count)
            break;
        if (child + 1 < count && isBefore(m_nodes[child + 1], m_nodes[child]))
            ++child;
        if (!isBefore(m_nodes[child], node))
            break;
        place(index, m_nodes[child]);
        index = child;
    }
    place(index, node);
}

// ------------------------------------------------------------------------------------------------
// StopBatch

QEvent::Type StopBatch::Event::type() {
    static const auto type = static_cast<QEvent::Type>(QEvent::registerEventType());
    return type;
}

StopBatch::StopBatch(const std::stop_token &stopToken, std::size_t batchKey, QObject *target)
    : token(stopToken), key(batchKey), receiver(target), event(new Event(this)) {}

StopBatch::~StopBatch() {
    if (!isPosted.load(std::memory_order_acquire))
        delete event; // else Qt owns it (and deletes it after delivery or with the receiver)
}

void StopBatch::Post::operator()() const noexcept {
    // Read before the flag is raised: once it is, the loop thread may deliver the event and free
    // the batch (after waiting for this callback to return, but the fields are not read then).
    QObject *const target = batch->receiver;
    QEvent *const stopEvent = batch->event;
    if (batch->isPosted.exchange(true, std::memory_order_acq_rel))
        return;
    try {
        QCoreApplication::postEvent(target, stopEvent);
    } catch (...) {
        // Qt's queue could not grow. The coroutines then wake at their deadlines, or are
        // abandoned at close(); terminating the process would be worse.
        batch->isPosted.store(false, std::memory_order_release);
        qCWarning(lcPalitra, "out of memory while posting a stop wake-up; it is lost");
    }
}

namespace {

// Equal tokens share one stop state, and in the standard libraries a token is nothing but a
// pointer to that state, so their bytes are equal too. Were they not on some library, equal
// tokens would only get a batch each: correct, merely not batched. Lookups compare with ==.
std::size_t tokenKey(const std::stop_token &token) noexcept {
    return std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char *>(&token), sizeof token));
}

} // namespace

// ------------------------------------------------------------------------------------------------
// ThreadWakeups

class ThreadWakeups::Receiver final : public QObject {
public:
    explicit Receiver(ThreadWakeups *owner) : m_owner(owner) {}

protected:
    bool event(QEvent *event) override {
        if (event->type() == StopBatch::Event::type()) {
            m_owner->deliverStop(static_cast<StopBatch::Event *>(event)->batch());
            return true;
        }
        return QObject::event(event);
    }
    void timerEvent(QTimerEvent *) override { m_owner->fireTimers(); }

private:
    ThreadWakeups *m_owner;
};

namespace {

// Closes the thread's wake-ups when the thread ends. thread_local destructors run when the
// thread function has returned (QThread's clean-up included) and before the thread's Qt data
// goes, so the receiver is still deleted on its own thread.
struct ThreadSlot {
    std::shared_ptr<ThreadWakeups> wakeups;
    ~ThreadSlot();
};
thread_local ThreadSlot tlsSlot;
thread_local bool tlsEnded = false;

ThreadSlot::~ThreadSlot() {
    tlsEnded = true;
    if (wakeups)
        wakeups->close();
}

} // namespace

std::shared_ptr<ThreadWakeups> ThreadWakeups::current() {
    if (tlsEnded)
        throw Error("palitra: sleepFor() or a stop-aware await was started on a thread that is "
                    "ending; it could never be woken.");
    if (!tlsSlot.wakeups)
        tlsSlot.wakeups = std::make_shared<ThreadWakeups>();
    return tlsSlot.wakeups;
}

namespace {
std::atomic<int> liveStates{0};
} // namespace

ThreadWakeups::ThreadWakeups() : m_receiver(new Receiver(this)) {
    liveStates.fetch_add(1, std::memory_order_relaxed);
}

ThreadWakeups::~ThreadWakeups() {
    close(); // already closed unless the thread never ended (the process is exiting)
    liveStates.fetch_sub(1, std::memory_order_relaxed);
}

void ThreadWakeups::close() noexcept {
    std::unique_lock lock(m_mutex);
    if (m_isClosed)
        return;
    m_isClosed = true;
    const std::size_t left = m_heap.size();
    m_heap.clear();
    // First the callbacks (after this no other thread posts to the receiver), then the receiver,
    // whose destructor frees the events still queued to it, then the batches.
    for (auto &entry : m_batches)
        entry.second->callback.reset();
    Receiver *const receiver = std::exchange(m_receiver, nullptr);
    m_timerId = 0;
    if (isOwnThread())
        delete receiver;
    // else: the process is exiting and this is a static's destructor on another thread; Qt's
    // objects of that thread are not ours to delete now.
    for (auto &entry : m_batches) {
        for (WakeNode *node = entry.second->first; node; node = node->batchNext)
            node->batch = nullptr;
        delete entry.second;
    }
    m_batches.clear();
    m_lastBatch = nullptr;
    lock.unlock();
    if (left > 0)
        qCDebug(lcPalitra,
                "%zu sleep(s) were still pending when their thread ended; they are "
                "never resumed",
                left);
}

void ThreadWakeups::arm(WakeNode *node, LoopWake::Clock::time_point deadline,
                        const std::stop_token &stop) {
    const std::lock_guard lock(m_mutex);
    node->deadline = deadline;
    node->sequence = m_nextSequence++;
    if (deadline != LoopWake::Clock::time_point::max()) {
        m_heap.push(node);
        if (stop.stop_possible()) {
            try {
                linkToBatch(node, stop);
            } catch (...) {
                m_heap.remove(node);
                throw;
            }
        }
        if (m_heap.top() == node)
            rearm();
    } else if (stop.stop_possible()) {
        linkToBatch(node, stop);
    }
}

void ThreadWakeups::linkToBatch(WakeNode *node, const std::stop_token &stop) {
    StopBatch *batch = m_lastBatch && m_lastBatch->token == stop ? m_lastBatch : nullptr;
    const std::size_t key = tokenKey(stop);
    if (!batch) {
        const auto [begin, end] = m_batches.equal_range(key);
        for (auto it = begin; it != end && !batch; ++it) {
            if (it->second->token == stop)
                batch = it->second;
        }
    }
    if (!batch) {
        auto made = std::make_unique<StopBatch>(stop, key, m_receiver);
        m_batches.emplace(key, made.get());
        batch = made.release();
        // Last, once the batch is findable: if stop was requested already, this posts at once.
        batch->callback.emplace(stop, StopBatch::Post{batch});
    }
    m_lastBatch = batch;
    node->batch = batch;
    node->batchPrev = batch->last;
    node->batchNext = nullptr;
    if (batch->last)
        batch->last->batchNext = node;
    else
        batch->first = node;
    batch->last = node;
}

void ThreadWakeups::unlinkFromBatch(WakeNode *node) noexcept {
    StopBatch *const batch = std::exchange(node->batch, nullptr);
    if (node->batchPrev)
        node->batchPrev->batchNext = node->batchNext;
    else
        batch->first = node->batchNext;
    if (node->batchNext)
        node->batchNext->batchPrev = node->batchPrev;
    else
        batch->last = node->batchPrev;
    node->batchPrev = node->batchNext = nullptr;
    if (batch->first)
        return;
    // The last member left. Unregister the callback first: once reset() has returned it is not
    // running anywhere and never will, so isPosted is final. A posted batch waits for its event,
    // which then frees it (and wakes whoever joined it meanwhile: stop was requested).
    batch->callback.reset();
    if (!batch->isPosted.load(std::memory_order_acquire))
        dropBatch(batch);
}

void ThreadWakeups::dropBatch(StopBatch *batch) noexcept {
    const auto [begin, end] = m_batches.equal_range(batch->key);
    for (auto it = begin; it != end; ++it) {
        if (it->second == batch) {
            m_batches.erase(it);
            break;
        }
    }
    if (m_lastBatch == batch)
        m_lastBatch = nullptr;
    delete batch;
}

void ThreadWakeups::removeFromHeap(WakeNode *node) noexcept {
    m_heap.remove(node);
    // An earlier timer that finds nothing due simply re-arms for the new earliest; only a timer
    // left with nothing to wait for is worth stopping (and only this thread may stop it).
    if (m_heap.isEmpty() && m_timerId != 0 && isOwnThread()) {
        m_receiver->killTimer(m_timerId);
        m_timerId = 0;
    }
}

void ThreadWakeups::rearm() noexcept {
    if (m_isClosed || !isOwnThread())
        return;
    if (m_heap.isEmpty()) {
        if (m_timerId != 0)
            m_receiver->killTimer(std::exchange(m_timerId, 0));
        return;
    }
    const LoopWake::Clock::time_point next = m_heap.top()->deadline;
    if (m_timerId != 0 && m_armedFor <= next)
        return; // it fires in time; if early, it re-arms then
    if (m_timerId != 0)
        m_receiver->killTimer(std::exchange(m_timerId, 0));
    using std::chrono::milliseconds;
    const auto left = next - LoopWake::Clock::now();
    // Qt's timers count whole milliseconds in an int; a longer wait is re-armed when it fires.
    const milliseconds interval = std::clamp(std::chrono::ceil<milliseconds>(left),
                                             milliseconds::zero(), milliseconds(INT_MAX));
    m_timerId = m_receiver->startTimer(interval, Qt::PreciseTimer);
    m_armedFor = next;
}

void ThreadWakeups::invoke(std::unique_lock<std::mutex> &lock, WakeNode *node,
                           bool byStop) noexcept {
    node->running = true;
    const LoopWake::Callback callback = node->callback;
    void *const context = node->context;
    lock.unlock();
    {
        // Whatever runs it (a nested event loop in a call's synchronous part included), the
        // coroutine it resumes belongs to no call but its own.
        const CurrentCallScope outsideAnyCall(nullptr);
        callback(context, byStop); // usually resumes a coroutine, which may cancel and free `node`
    }
    lock.lock();
    if (node->orphaned) {
        // Its LoopWake is gone; the node still holds a reference to this object, which the
        // thread's own reference outlives (this runs on the thread, before close()).
        delete node;
        return;
    }
    node->running = false;
    if (m_foreignWaiters > 0)
        m_callbackDone.notify_all();
}

void ThreadWakeups::fireTimers() noexcept {
    std::unique_lock lock(m_mutex);
    if (m_isClosed)
        return;
    if (m_timerId != 0)
        m_receiver->killTimer(std::exchange(m_timerId, 0));
    // One `now` for the pass: a sleep armed by a woken coroutine waits for the next pass, even
    // a zero one, so that a coroutine looping on sleepFor(0ms) cannot starve the event loop.
    const LoopWake::Clock::time_point now = LoopWake::Clock::now();
    std::size_t woken = 0;
    while (!m_heap.isEmpty() && m_heap.top()->deadline <= now && !m_isClosed) {
        if (woken++ == wakeChunk)
            break; // the rest is due already: rearm() makes it a zero timer, the next pass
        WakeNode *const node = m_heap.top();
        m_heap.remove(node);
        if (node->batch)
            unlinkFromBatch(node);
        invoke(lock, node, false);
    }
    rearm();
}

void ThreadWakeups::deliverStop(StopBatch *batch) noexcept {
    std::unique_lock lock(m_mutex);
    (void)batch->isPosted.load(std::memory_order_acquire); // pairs with Post (see runner.cpp)
    std::size_t woken = 0;
    while (WakeNode *const node = batch->first) {
        if (woken++ == wakeChunk && continueLater(batch)) {
            rearm();
            return;
        }
        batch->first = node->batchNext;
        if (batch->first)
            batch->first->batchPrev = nullptr;
        else
            batch->last = nullptr;
        node->batch = nullptr;
        node->batchNext = nullptr;
        if (node->heapIndex != WakeNode::notInHeap)
            removeFromHeap(node);
        invoke(lock, node, true);
    }
    // Waits, if need be, for the requesting thread to be done with the callback object.
    batch->callback.reset();
    dropBatch(batch); // the event is Qt's, which deletes it when this returns
    rearm();
}

bool ThreadWakeups::continueLater(StopBatch *batch) noexcept {
    if (m_isClosed)
        return false;
    try {
        // Behind whatever was posted meanwhile (a run() queued by the caller that timed out):
        // the loop answers it before it wakes the next chunk.
        QCoreApplication::postEvent(m_receiver, new StopBatch::Event(batch));
        return true;
    } catch (...) {
        return false; // then wake them all now
    }
}

bool ThreadWakeups::cancel(WakeNode *node) noexcept {
    std::unique_lock lock(m_mutex);
    if (node->running) {
        if (isOwnThread()) {
            node->orphaned = true; // cancelled from its own callback, which is still on the stack
            return false;
        }
        ++m_foreignWaiters;
        m_callbackDone.wait(lock, [node] { return !node->running; });
        --m_foreignWaiters;
    }
    if (node->heapIndex != WakeNode::notInHeap)
        removeFromHeap(node);
    if (node->batch)
        unlinkFromBatch(node);
    return true;
}

std::size_t ThreadWakeups::pendingDeadlines() const {
    const std::lock_guard lock(m_mutex);
    return m_heap.size();
}

std::size_t ThreadWakeups::stopBatches() const {
    const std::lock_guard lock(m_mutex);
    return m_batches.size();
}

WakeStats currentThreadWakeStats() noexcept {
    if (tlsEnded || !tlsSlot.wakeups)
        return {};
    return {tlsSlot.wakeups->pendingDeadlines(), tlsSlot.wakeups->stopBatches()};
}

int liveThreadWakeStates() noexcept {
    return liveStates.load(std::memory_order_relaxed);
}

// ------------------------------------------------------------------------------------------------
// LoopWake

LoopWake::~LoopWake() {
    cancel();
}

void LoopWake::arm(Callback callback, void *context, Clock::time_point deadline,
                   const std::stop_token &stop) {
    auto node = std::make_unique<WakeNode>();
    node->callback = callback;
    node->context = context;
    node->owner = ThreadWakeups::current();
    node->owner->arm(node.get(), deadline, stop);
    m_node = node.release();
}

void LoopWake::cancel() noexcept {
    WakeNode *const node = std::exchange(m_node, nullptr);
    if (node && node->owner->cancel(node)) {
        // The reference to the owner goes after its lock was released (it may be the last).
        delete node;
    }
}

} // namespace palitra::detail
