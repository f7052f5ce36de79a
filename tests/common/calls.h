// SPDX-License-Identifier: MIT
// Calls that tests make on a runner, and what their coroutines do. Test code only.
#pragma once

#include "threads.h"

#include <palitra/palitra.h>

#include <QCoro/QCoroTask>
#include <QCoro/QCoroTimer>
#include <QTimer>

#include <atomic>
#include <chrono>
#include <string_view>
#include <thread>
#include <utility>

namespace palitra::test {

//! An exception type of the user's own, not derived from std::exception.
struct NotAStdException {
    int code;
};

//! The global runner's free functions spelled like an EventLoopThreadRunner's members, so that
//! one test body can drive either.
struct GlobalApi {
    template<typename... A>
    auto run(A &&...a) {
        return palitra::run(std::forward<A>(a)...);
    }
    template<typename... A>
    auto gather(A &&...a) {
        return palitra::gather(std::forward<A>(a)...);
    }
    template<typename... A>
    auto gatherOutcomes(A &&...a) {
        return palitra::gatherOutcomes(std::forward<A>(a)...);
    }
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

//! True when \a error is the TimeoutError of a call whose callable had been invoked (its
//! coroutine was asked to stop), false when the timeout passed before the loop started it.
inline bool invokedBeforeTimeout(const palitra::TimeoutError &error) {
    return std::string_view(error.what()).find("asked to stop") != std::string_view::npos;
}

//! True when \a error is the TimeoutError of a call refused before it was queued (its timeout had
//! already passed): no callable was invoked, and a runner that was not running was not started.
inline bool refusedBeforeQueueing(const palitra::TimeoutError &error) {
    return std::string_view(error.what()).find("no callable was invoked") != std::string_view::npos;
}

//! Makes the timed call \a attempt(timeout), which is to end in TimeoutError, until its callable
//! was invoked before the timeout passed, doubling the timeout from \a first. A call whose
//! timeout passes while it is still queued is never invoked, and a loop thread that a loaded
//! machine does not schedule in time does that at any timeout: a test that needs a timed-out call
//! whose coroutine ran asks for it this way, not with one try. False if an attempt ended any other
//! way (or none was invoked within a minute's timeout).
template<typename Attempt>
[[nodiscard]] bool timeOutAfterInvoking(std::chrono::milliseconds first, Attempt &&attempt) {
    for (auto timeout = first; timeout < std::chrono::minutes(1); timeout *= 2) {
        try {
            attempt(timeout);
            return false;
        } catch (const palitra::TimeoutError &e) {
            if (invokedBeforeTimeout(e))
                return true;
        } catch (...) {
            return false;
        }
    }
    return false;
}

//! Occupies \a runner's loop thread with synchronous work (a coroutine that busy-waits) from a
//! helper thread, until release(), destruction or \a giveUp (so that a test of a broken library
//! fails instead of hanging). The constructor returns once the loop is busy.
class LoopBlocker {
public:
    explicit LoopBlocker(palitra::EventLoopThreadRunner &runner,
                         std::chrono::milliseconds giveUp = std::chrono::seconds(60))
        : m_thread([this, &runner, giveUp] {
              try {
                  runner.run([this, giveUp]() -> QCoro::Task<> {
                      m_blocking = true;
                      m_blocking.notify_all();
                      const auto end = Clock::now() + giveUp;
                      while (!m_released.load() && Clock::now() < end)
                          std::this_thread::yield();
                      m_stillBlocking = false;
                      co_return;
                  });
              } catch (...) {
                  m_failed = true;
              }
              m_stillBlocking = false;
              m_blocking = true; // never leave the constructor waiting
              m_blocking.notify_all();
          }) {
        m_blocking.wait(false);
    }
    ~LoopBlocker() { release(); }
    LoopBlocker(const LoopBlocker &) = delete;
    LoopBlocker &operator=(const LoopBlocker &) = delete;

    void release() { m_released = true; }
    //! The blocking call itself failed (then the loop was never blocked).
    bool failed() const { return m_failed.load(); }
    //! The loop thread is still held, neither released nor given up: whatever happened meanwhile
    //! happened while the loop thread could run nothing else.
    bool isBlocking() const { return m_stillBlocking.load() && !m_failed.load(); }

private:
    std::atomic<bool> m_blocking{false};
    std::atomic<bool> m_stillBlocking{true};
    std::atomic<bool> m_released{false};
    std::atomic<bool> m_failed{false};
    JoiningThread m_thread; // last: joined before the flags it uses are destroyed
};

} // namespace palitra::test
