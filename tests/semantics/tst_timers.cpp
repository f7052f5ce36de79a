// SPDX-License-Identifier: MIT
// Sleeps and stop wake-ups at scale: palitra::sleepFor()'s per-thread deadline heap, the one stop
// callback per token and thread, sleeps on threads that are not palitra's, the end of such a
// thread, and awaitSignal() on a sender that is gone (docs/SEMANTICS.md, cooperative stop).
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QCoreApplication>
#include <QMetaObject>
#include <QScopeGuard>
#include <QTest>
#include <QThread>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <stop_token>
#include <vector>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::test::Gate;
using palitra::test::JoiningThread;
using palitra::test::LoopBlocker;
using Clock = std::chrono::steady_clock;

namespace {

// The awaiters' type contracts: movable before they are awaited, never assignable.
static_assert(std::is_nothrow_move_constructible_v<palitra::SleepAwaiter>);
static_assert(!std::is_move_assignable_v<palitra::SleepAwaiter>);
static_assert(!std::is_copy_constructible_v<palitra::SleepAwaiter>);
static_assert(std::is_nothrow_move_constructible_v<
              decltype(palitra::awaitSignal(std::declval<Gate *>(), &Gate::opened))>);

//! A coroutine nobody awaits: it starts at once and frees its frame when it ends. Its handle is
//! kept in \a frames while it lives, so that a frame left suspended stays reachable (and a test
//! may destroy it).
struct Detached {
    struct promise_type {
        Detached get_return_object() noexcept {
            return {std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
    std::coroutine_handle<promise_type> handle;
};

//! Wake-up statistics of \a runner's loop thread.
palitra::detail::WakeStats loopStats(EventLoopThreadRunner &runner) {
    return runner.run([]() -> QCoro::Task<palitra::detail::WakeStats> {
        co_return palitra::detail::currentThreadWakeStats();
    });
}

//! Checks that \a order (indexes in the order they woke) respects every pair of deadlines whose
//! order is certain: sleeps armed between \a first and \a last, with \a durations, so each
//! deadline lies in [first + d, last + d]. No wall-clock bound: a slow machine makes fewer pairs
//! certain, never a wrong verdict.
bool respectsDeadlines(const std::vector<int> &order, const std::vector<int> &durationsMs,
                       Clock::time_point first, Clock::time_point last, int *checkedPairs) {
    const auto spread = last - first;
    *checkedPairs = 0;
    for (std::size_t a = 0; a < order.size(); ++a) {
        for (std::size_t b = a + 1; b < order.size(); ++b) {
            // order[a] woke before order[b]: wrong if order[b]'s deadline was certainly earlier.
            const auto da = std::chrono::milliseconds(durationsMs[order[a]]);
            const auto db = std::chrono::milliseconds(durationsMs[order[b]]);
            if (db + spread < da)
                return false;
            if (da + spread < db)
                ++*checkedPairs;
        }
    }
    return true;
}

} // namespace

class tst_Timers : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Order
    void sleepsWakeInDeadlineOrder();
    void equalDurationsWakeInArmingOrder();
    void earlyWakesLeaveTheRestInOrder();

    // Stop: one batch per token and thread
    void stopWakesEverySleeperOfItsToken();
    void stopWakesInChunksBetweenOtherEvents();
    void earlyWakeRemovesEntries();
    void stopRacingDeadlines();

    // Other threads
    void sleepOnPlainQThread();
    void threadEndCleansUp();
    void frameLeftAtThreadEndStaysSuspended();

    // awaitSignal() on a sender that is gone
    void awaitSignalNullSender();
    void awaitSignalSenderDestroyedBeforeAwait();
    void awaitSignalSenderDestroyedWhileWaiting_data();
    void awaitSignalSenderDestroyedWhileWaiting();
};

// Order ------------------------------------------------------------------------------------------

void tst_Timers::sleepsWakeInDeadlineOrder() {
    // Durations 20 ms apart, armed in a shuffled order: a FIFO or an unsorted list would wake
    // them in arming order.
    constexpr int count = 30;
    std::vector<int> durations(count);
    std::iota(durations.begin(), durations.end(), 1);
    std::shuffle(durations.begin(), durations.end(), std::mt19937(12345));
    for (int &d : durations)
        d *= 20;
    EventLoopThreadRunner runner;
    Clock::time_point first, last;
    std::vector<int> order; // loop thread only while the gather runs
    std::vector<std::function<QCoro::Task<void>()>> callables;
    for (int i = 0; i < count; ++i) {
        callables.push_back([&, i]() -> QCoro::Task<void> {
            if (i == 0)
                first = Clock::now();
            co_await palitra::sleepFor(std::chrono::milliseconds(durations[i]), {});
            order.push_back(i);
        });
    }
    // Started after every sleeper has armed (a gather starts its coroutines in order).
    callables.push_back([&]() -> QCoro::Task<void> {
        last = Clock::now();
        co_return;
    });
    runner.gather(callables, 60s);
    QCOMPARE(order.size(), std::size_t(count));
    int checked = 0;
    QVERIFY2(respectsDeadlines(order, durations, first, last, &checked),
             "a sleep woke before one whose deadline was certainly earlier");
    QVERIFY(checked > 0); // else the arming was too slow to tell anything (never seen)
}

void tst_Timers::equalDurationsWakeInArmingOrder() {
    // Same duration: deadlines follow the arming order, and ties go to the older sleep.
    constexpr int count = 3000; // more than one timer pass wakes at a time
    EventLoopThreadRunner runner;
    std::vector<int> order;
    std::vector<std::function<QCoro::Task<void>()>> callables;
    for (int i = 0; i < count; ++i) {
        callables.push_back([&, i]() -> QCoro::Task<void> {
            co_await palitra::sleepFor(5ms, palitra::currentStopToken());
            order.push_back(i);
        });
    }
    runner.gather(callables, 60s);
    std::vector<int> expected(count);
    std::iota(expected.begin(), expected.end(), 0);
    QCOMPARE(order, expected);
}

void tst_Timers::earlyWakesLeaveTheRestInOrder() {
    // Removing entries from the middle of the heap (early wakes) must keep the others in order.
    constexpr int count = 40;
    std::vector<int> durations(count);
    std::iota(durations.begin(), durations.end(), 1);
    std::shuffle(durations.begin(), durations.end(), std::mt19937(777));
    // 300 ms first, so that the stops requested below land before any deadline.
    for (int &d : durations)
        d = 300 + d * 15;
    std::vector<std::unique_ptr<std::stop_source>> sources;
    for (int i = 0; i < count; ++i)
        sources.push_back(std::make_unique<std::stop_source>());
    EventLoopThreadRunner runner;
    Clock::time_point first, last;
    std::vector<int> order;   // woken by their deadline
    std::vector<int> stopped; // woken by stop
    std::vector<std::function<QCoro::Task<void>()>> callables;
    for (int i = 0; i < count; ++i) {
        callables.push_back([&, i]() -> QCoro::Task<void> {
            if (i == 0)
                first = Clock::now();
            const bool full = co_await palitra::sleepFor(std::chrono::milliseconds(durations[i]),
                                                         sources[i]->get_token());
            (full ? order : stopped).push_back(i);
        });
    }
    callables.push_back([&]() -> QCoro::Task<void> {
        last = Clock::now();
        // Every third sleeper is stopped from the loop itself, before any deadline can pass
        // (this runs before the loop returns to its timers).
        for (int i = 0; i < count; i += 3)
            sources[i]->request_stop();
        co_return;
    });
    runner.gather(callables, 60s);
    QCOMPARE(stopped.size(), std::size_t((count + 2) / 3));
    for (int i : stopped)
        QCOMPARE(i % 3, 0);
    QCOMPARE(order.size(), std::size_t(count - (count + 2) / 3));
    int checked = 0;
    QVERIFY(respectsDeadlines(order, durations, first, last, &checked));
    QVERIFY(checked > 0);
    QCOMPARE(loopStats(runner).deadlines, std::size_t(0));
}

// Stop -------------------------------------------------------------------------------------------

void tst_Timers::stopWakesEverySleeperOfItsToken() {
    constexpr int count = 10000;
    EventLoopThreadRunner runner;
    std::stop_source source;
    std::atomic<int> wokeEarly{0};
    std::atomic<int> wokeElsewhere{0};
    std::atomic<QThread *> loop{nullptr};
    const auto sleeper = [&]() -> QCoro::Task<bool> {
        const bool full = co_await palitra::sleepFor(1h, source.get_token());
        if (QThread::currentThread() != loop.load())
            ++wokeElsewhere;
        if (!full)
            ++wokeEarly;
        co_return full;
    };
    loop = runner.thread();
    std::vector<std::decay_t<decltype(sleeper)>> callables(count, sleeper);
    QList<bool> results;
    JoiningThread caller([&] { results = runner.gather(callables, 120s); });
    // A later call runs after the gather's drain: by then every sleeper has armed.
    QTRY_COMPARE(loopStats(runner).deadlines, std::size_t(count));
    QCOMPARE(loopStats(runner).stopBatches, std::size_t(1)); // one callback for all of them
    source.request_stop();                                   // from this thread, not the loop's
    caller.join();
    QCOMPARE(results.size(), count);
    QCOMPARE(wokeEarly.load(), count);
    QCOMPARE(wokeElsewhere.load(), 0);
    QVERIFY(std::none_of(results.begin(), results.end(), [](bool full) { return full; }));
    const auto stats = loopStats(runner);
    QCOMPARE(stats.deadlines, std::size_t(0));
    QCOMPARE(stats.stopBatches, std::size_t(0));
}

void tst_Timers::stopWakesInChunksBetweenOtherEvents() {
    // Thousands of sleepers woken by one stop request do not hold the loop: it wakes them a chunk
    // at a time, and an event posted after the stop request is answered between two chunks.
    constexpr int count = 5000;
    EventLoopThreadRunner runner;
    std::stop_source source;
    int woken = 0; // loop thread only
    const auto sleeper = [&]() -> QCoro::Task<bool> {
        const bool full = co_await palitra::sleepFor(1h, source.get_token());
        ++woken;
        co_return full;
    };
    std::vector<std::decay_t<decltype(sleeper)>> callables(count, sleeper);
    QList<bool> results;
    JoiningThread caller([&] { results = runner.gather(callables, 120s); });
    QTRY_COMPARE(loopStats(runner).deadlines, std::size_t(count));
    int wokenWhenAnswered = -1;
    std::latch answered(1);
    {
        // Keeps the loop busy, so that the stop request's event and the probe queue up in order.
        LoopBlocker blocker(runner);
        source.request_stop(); // posts the stop event before it returns
        QMetaObject::invokeMethod(runner.context(), [&] {
            wokenWhenAnswered = woken;
            answered.count_down();
        });
    }
    answered.wait();
    caller.join();
    QVERIFY2(wokenWhenAnswered > 0 && wokenWhenAnswered < count,
             QByteArray::number(wokenWhenAnswered));
    QCOMPARE(results.size(), count);
    QCOMPARE(woken, count);
    QCOMPARE(loopStats(runner).deadlines, std::size_t(0));
}

void tst_Timers::earlyWakeRemovesEntries() {
    // 100 sleepers share token A, 100 have a token each: 101 batches, 200 deadlines.
    constexpr int shared = 100;
    constexpr int own = 100;
    EventLoopThreadRunner runner;
    std::stop_source a;
    std::vector<std::unique_ptr<std::stop_source>> sources;
    for (int i = 0; i < own; ++i)
        sources.push_back(std::make_unique<std::stop_source>());
    std::vector<std::function<QCoro::Task<bool>()>> callables;
    for (int i = 0; i < shared; ++i)
        callables.push_back([&]() -> QCoro::Task<bool> {
            co_return co_await palitra::sleepFor(1h, a.get_token());
        });
    for (int i = 0; i < own; ++i)
        callables.push_back([&, i]() -> QCoro::Task<bool> {
            co_return co_await palitra::sleepFor(1h, sources[i]->get_token());
        });
    QList<bool> results;
    JoiningThread caller([&] { results = runner.gather(callables, 120s); });
    QTRY_COMPARE(loopStats(runner).deadlines, std::size_t(shared + own));
    QCOMPARE(loopStats(runner).stopBatches, std::size_t(1 + own));

    a.request_stop();
    QTRY_COMPARE(loopStats(runner).deadlines, std::size_t(own));
    QCOMPARE(loopStats(runner).stopBatches, std::size_t(own));

    for (int i = 0; i < own; i += 2)
        sources[i]->request_stop();
    QTRY_COMPARE(loopStats(runner).deadlines, std::size_t(own / 2));
    QCOMPARE(loopStats(runner).stopBatches, std::size_t(own / 2));

    for (int i = 1; i < own; i += 2)
        sources[i]->request_stop();
    caller.join();
    QCOMPARE(results.size(), shared + own);
    QVERIFY(std::none_of(results.begin(), results.end(), [](bool full) { return full; }));
    const auto stats = loopStats(runner);
    QCOMPARE(stats.deadlines, std::size_t(0));
    QCOMPARE(stats.stopBatches, std::size_t(0));
}

void tst_Timers::stopRacingDeadlines() {
    // A stop request from another thread lands while short sleeps expire on the loop: every
    // sleeper ends exactly once, by one or the other (ThreadSanitizer checks the hand-off).
    EventLoopThreadRunner runner;
    for (int round = 0; round < 100; ++round) {
        std::stop_source source;
        std::atomic<int> ended{0};
        std::vector<std::function<QCoro::Task<void>()>> callables;
        for (int i = 0; i < 50; ++i)
            callables.push_back([&, i]() -> QCoro::Task<void> {
                co_await palitra::sleepFor(std::chrono::milliseconds(i % 3), source.get_token());
                ++ended;
            });
        JoiningThread stopper([&] {
            std::this_thread::yield();
            source.request_stop();
        });
        runner.gather(callables, 60s);
        stopper.join();
        QCOMPARE(ended.load(), 50);
    }
    const auto stats = loopStats(runner);
    QCOMPARE(stats.deadlines, std::size_t(0));
    QCOMPARE(stats.stopBatches, std::size_t(0));
}

// Other threads ----------------------------------------------------------------------------------

namespace {

//! A plain QThread running its own event loop, with a context object on it.
class PlainLoop {
public:
    PlainLoop() {
        m_thread.start();
        m_context.moveToThread(&m_thread);
    }
    ~PlainLoop() { stop(); }
    void stop() {
        if (!m_thread.isRunning())
            return;
        // The context object goes back to this thread before the loop thread ends.
        QMetaObject::invokeMethod(
            &m_context, [this] { m_context.moveToThread(QCoreApplication::instance()->thread()); },
            Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }
    template<typename F>
    void post(F &&f) {
        // Qt hands the functor over under a mutex ThreadSanitizer cannot see in Debian's Qt;
        // this release/acquire pair states that what was written before post() is visible.
        m_handOff.fetch_add(1, std::memory_order_release);
        QMetaObject::invokeMethod(
            &m_context,
            [this, f = std::forward<F>(f)]() mutable {
                (void)m_handOff.load(std::memory_order_acquire);
                f();
            },
            Qt::QueuedConnection);
    }
    QThread *thread() { return &m_thread; }

private:
    QThread m_thread;
    QObject m_context;
    std::atomic<int> m_handOff{0};
};

struct Recorder {
    std::mutex mutex;
    std::vector<int> order;
    std::vector<QThread *> threads;
    void add(int id) {
        const std::lock_guard lock(mutex);
        order.push_back(id);
        threads.push_back(QThread::currentThread());
    }
    std::size_t size() {
        const std::lock_guard lock(mutex);
        return order.size();
    }
};

Detached recordAfter(Recorder &recorder, int id, std::chrono::milliseconds d,
                     std::stop_token stop) {
    const bool full = co_await palitra::sleepFor(d, std::move(stop));
    recorder.add(full ? id : -id);
}

} // namespace

void tst_Timers::sleepOnPlainQThread() {
    PlainLoop loop;
    Recorder recorder;
    std::stop_source source;
    std::atomic<bool> armed{false};
    Clock::time_point first, last;
    loop.post([&] {
        first = Clock::now();
        recordAfter(recorder, 3, 300ms, {});
        recordAfter(recorder, 1, 100ms, {});
        recordAfter(recorder, 2, 200ms, {});
        recordAfter(recorder, 4, 1h, source.get_token());
        last = Clock::now();
        armed = true;
    });
    QTRY_VERIFY(armed.load());
    QTRY_COMPARE_WITH_TIMEOUT(recorder.size(), std::size_t(3), 10000);
    source.request_stop(); // from this thread; the sleeper wakes on its own thread
    QTRY_COMPARE_WITH_TIMEOUT(recorder.size(), std::size_t(4), 10000);
    const std::lock_guard lock(recorder.mutex);
    int checked = 0;
    const std::vector<int> firstThree(recorder.order.begin(), recorder.order.begin() + 3);
    std::vector<int> durations{0, 100, 200, 300};
    QVERIFY(respectsDeadlines(firstThree, durations, first, last, &checked));
    QCOMPARE(recorder.order.back(), -4); // woken early by the stop
    for (QThread *t : recorder.threads)
        QCOMPARE(t, loop.thread());
}

void tst_Timers::threadEndCleansUp() {
    // The threads of the earlier tests end a little after their wait() returned; none of them,
    // nor this thread, keeps a state for good.
    QTRY_COMPARE(palitra::detail::liveThreadWakeStates(), 0);
    const int before = 0;
    {
        PlainLoop loop;
        Recorder recorder;
        loop.post([&] { recordAfter(recorder, 1, 1ms, {}); });
        QTRY_COMPARE_WITH_TIMEOUT(recorder.size(), std::size_t(1), 10000);
        QCOMPARE(palitra::detail::liveThreadWakeStates(), before + 1);
        loop.stop();
    }
    // The thread's state goes with the thread (wait() returns a little before its end).
    QTRY_COMPARE(palitra::detail::liveThreadWakeStates(), before);
}

void tst_Timers::frameLeftAtThreadEndStaysSuspended() {
    // A coroutine still asleep when its thread ends is never resumed, not even by a later stop
    // request; its frame stays valid and may still be destroyed, after which nothing is left.
    QTRY_COMPARE(palitra::detail::liveThreadWakeStates(), 0); // as in threadEndCleansUp()
    const int before = 0;
    Recorder recorder;
    std::stop_source source;
    std::atomic<void *> frame{nullptr};
    auto destroyFrame = qScopeGuard([&] { // also when a check below fails: no leak either way
        if (void *address = frame.exchange(nullptr))
            std::coroutine_handle<>::from_address(address).destroy();
    });
    {
        PlainLoop loop;
        loop.post(
            [&] { frame = recordAfter(recorder, 1, 1h, source.get_token()).handle.address(); });
        QTRY_VERIFY(frame.load() != nullptr);
        loop.stop();
    }
    QCOMPARE(palitra::detail::liveThreadWakeStates(), before + 1); // kept by the frame
    source.request_stop(); // its callback went with the thread: nothing runs
    QCoreApplication::processEvents();
    QCOMPARE(recorder.size(), std::size_t(0));
    destroyFrame.dismiss();
    std::coroutine_handle<>::from_address(frame.exchange(nullptr)).destroy();
    QTRY_COMPARE(palitra::detail::liveThreadWakeStates(), before);
}

// awaitSignal() on a sender that is gone -------------------------------------------------------

void tst_Timers::awaitSignalNullSender() {
    EventLoopThreadRunner runner;
    const bool hadValue = runner.run(
        []() -> QCoro::Task<bool> {
            const Gate *none = nullptr;
            const auto args = co_await palitra::awaitSignal(none, &Gate::opened);
            co_return args.has_value();
        },
        30s);
    QVERIFY(!hadValue);
}

void tst_Timers::awaitSignalSenderDestroyedBeforeAwait() {
    EventLoopThreadRunner runner;
    const bool hadValue = runner.run(
        []() -> QCoro::Task<bool> {
            auto *gate = new Gate;
            auto awaiter = palitra::awaitSignal(gate, &Gate::opened);
            delete gate;
            const auto args = co_await std::move(awaiter);
            co_return args.has_value();
        },
        30s);
    QVERIFY(!hadValue);
}

namespace {
//! A Gate that says when its destructor runs.
class DyingGate : public Gate {
public:
    explicit DyingGate(std::atomic<bool> *dying) : m_dying(dying) {}
    ~DyingGate() override { *m_dying = true; }

private:
    std::atomic<bool> *m_dying;
};
} // namespace

void tst_Timers::awaitSignalSenderDestroyedWhileWaiting_data() {
    QTest::addColumn<bool>("onLoopThread");
    QTest::newRow("sender on the loop thread") << true;
    QTest::newRow("sender on this thread") << false;
}

void tst_Timers::awaitSignalSenderDestroyedWhileWaiting() {
    QFETCH(bool, onLoopThread);
    EventLoopThreadRunner runner;
    std::atomic<bool> dying{false};
    auto *gate = new DyingGate(&dying);
    if (onLoopThread)
        gate->moveToThread(runner.thread());
    std::atomic<int> outcome{-1}; // 0: nullopt, 1: a value, 2: an error
    std::atomic<bool> resumedInsideDestructor{false};
    std::atomic<QThread *> resumedOn{nullptr};
    // No stop token: only the sender's end can complete the await. The timeout is a watchdog.
    JoiningThread caller([&] {
        try {
            const bool hadValue = runner.run(
                [&]() -> QCoro::Task<bool> {
                    const auto args = co_await palitra::awaitSignal(gate, &Gate::opened);
                    resumedOn = QThread::currentThread();
                    resumedInsideDestructor = dying.load();
                    co_return args.has_value();
                },
                30s);
            outcome = hadValue ? 1 : 0;
        } catch (...) {
            outcome = 2;
        }
    });
    QTRY_VERIFY(gate->hasListener());
    if (onLoopThread) {
        QMetaObject::invokeMethod(runner.context(), [gate, &dying] {
            delete gate;
            dying = false; // the destructor has returned
        });
    } else {
        delete gate;
        dying = false;
    }
    QTRY_VERIFY_WITH_TIMEOUT(outcome != -1, 20000);
    QCOMPARE(outcome.load(), 0);
    QCOMPARE(resumedOn.load(), runner.thread());
    if (onLoopThread) // deleted there too: the coroutine must run after the destructor returned
        QVERIFY(!resumedInsideDestructor);
}

QTEST_GUILESS_MAIN(tst_Timers)
#include "tst_timers.moc"
