// SPDX-License-Identifier: MIT
// Helpers for the semantics suites (tests/semantics). Test code only.
#pragma once

#include "testhelpers.h"

#include <palitra/palitra.h>

#include <QCoro/QCoroTask>
#include <QMetaMethod>
#include <QObject>
#include <QString>
#include <QThread>

#include <atomic>
#include <chrono>
#include <thread>

namespace palitra::test {

//! A sender whose signal a coroutine waits for; the test opens it from any thread.
class Gate : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    //! True once something listens to opened(): a coroutine is suspended on it.
    bool hasListener() const { return isSignalConnected(QMetaMethod::fromSignal(&Gate::opened)); }
    void open(int code = 0, const QString &text = {}) { Q_EMIT opened(code, text); }

Q_SIGNALS:
    void opened(int code, const QString &text);
};

//! A QObject with an abort() member, like QNetworkReply: records where and how often it ran.
class Abortable : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    std::atomic<int> abortCount{0};
    std::atomic<QThread *> abortedOn{nullptr};

public Q_SLOTS:
    void abort() {
        abortedOn = QThread::currentThread();
        ++abortCount;
        Q_EMIT aborted();
    }

Q_SIGNALS:
    void aborted();
};

//! Milliseconds since \a start on the steady clock.
inline std::chrono::milliseconds elapsedSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
}

//! Occupies \a runner's loop thread with synchronous work (a coroutine that busy-waits) from a
//! helper thread, until release(), destruction or \a watchdog (so that a test of a broken
//! library fails instead of hanging). The constructor returns once the loop is busy.
class LoopBlocker {
public:
    explicit LoopBlocker(palitra::EventLoopThreadRunner &runner,
                         std::chrono::milliseconds watchdog = std::chrono::seconds(10))
        : m_thread([this, &runner, watchdog] {
              try {
                  runner.run([this, watchdog]() -> QCoro::Task<> {
                      m_blocking = true;
                      m_blocking.notify_all();
                      const auto giveUp = std::chrono::steady_clock::now() + watchdog;
                      while (!m_released.load() && std::chrono::steady_clock::now() < giveUp)
                          std::this_thread::yield();
                      co_return;
                  });
              } catch (...) {
                  m_failed = true;
              }
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

private:
    std::atomic<bool> m_blocking{false};
    std::atomic<bool> m_released{false};
    std::atomic<bool> m_failed{false};
    JoiningThread m_thread; // last: joined before the flags it uses are destroyed
};

} // namespace palitra::test
