// SPDX-License-Identifier: MIT
// Helpers shared by palitra's tests. Test code only.
#pragma once

#include <QCoro/QCoroTask>
#include <QCoro/QCoroTimer>
#include <QThread>
#include <QTimer>

#include <atomic>
#include <chrono>
#include <latch>
#include <stdexcept>
#include <thread>
#include <utility>

namespace palitra::test {

//! A std::thread that joins in its destructor, so a failing QVERIFY never leaves it running.
class JoiningThread {
public:
    template<typename F>
    explicit JoiningThread(F &&f) : m_thread(std::forward<F>(f)) {}
    ~JoiningThread() {
        if (m_thread.joinable())
            m_thread.join();
    }
    JoiningThread(JoiningThread &&) = default;
    void join() { m_thread.join(); }

private:
    std::thread m_thread;
};

//! Counts live instances, copies and moves: proves "moved, never copied" and "nothing leaked".
struct Counted {
    static inline std::atomic<int> live{0};
    static inline std::atomic<int> copies{0};
    static inline std::atomic<int> moves{0};
    static void reset() {
        live = 0;
        copies = 0;
        moves = 0;
    }
    int value = 0;
    explicit Counted(int v = 0) : value(v) { ++live; }
    Counted(const Counted &o) : value(o.value) {
        ++live;
        ++copies;
    }
    Counted(Counted &&o) noexcept : value(o.value) {
        ++live;
        ++moves;
    }
    Counted &operator=(const Counted &o) {
        value = o.value;
        ++copies;
        return *this;
    }
    Counted &operator=(Counted &&o) noexcept {
        value = o.value;
        ++moves;
        return *this;
    }
    ~Counted() { --live; }
};

//! A coroutine that awaits a single-shot QTimer of \a delay on its own thread, then returns
//! \a value: proves that the thread delivers timer events.
inline QCoro::Task<int>
timerThenValue(int value, std::chrono::milliseconds delay = std::chrono::milliseconds(5)) {
    QTimer timer;
    timer.setSingleShot(true);
    timer.start(delay);
    co_await timer;
    co_return value;
}

//! Starts \a runner's loop thread with a trivial call. A call whose timeout passes while it is
//! still queued is never started; a test that needs its short-timeout call to start calls this
//! first, so that the timeout is not spent starting the thread (slow under sanitizers on a
//! loaded machine).
template<typename Runner>
void startLoop(Runner &runner) {
    runner.run([]() -> QCoro::Task<int> { co_return 0; });
}

//! An exception type that does not derive from std::exception.
struct NotAStdException {
    int code;
};

} // namespace palitra::test
