// SPDX-License-Identifier: MIT
// The main example: a synchronous CLI program that blocks on coroutines running on palitra's
// loop thread. No QCoreApplication is needed, and the caller never runs an event loop.
#include <palitra/palitra.h>

#include <QCoro/QCoroTimer>
#include <QDateTime>
#include <QElapsedTimer>
#include <QThread>
#include <QTimer>

#include <cstdio>
#include <stdexcept>

using namespace std::chrono_literals;

namespace {

// An ordinary QCoro coroutine: it waits for a timer, then answers.
QCoro::Task<int> slowAnswer(std::chrono::milliseconds delay, int value) {
    QTimer timer;
    timer.setSingleShot(true);
    timer.start(delay);
    co_await timer;
    co_return value;
}

} // namespace

int main() {
    std::printf("caller thread: %p\n", static_cast<void *>(QThread::currentThread()));

    // 1. run(): the callable is invoked on the loop thread; the caller just waits.
    const int answer = palitra::run([] { return slowAnswer(50ms, 42); });
    std::printf("1. run() -> %d\n", answer);

    // 2. State created on the loop thread survives between calls (parented to context(), so
    //    close() deletes it).
    palitra::EventLoopThreadRunner runner;
    auto *ticks = runner.run([&runner]() -> QCoro::Task<QTimer *> {
        auto *timer = new QTimer(runner.context());
        timer->start(10ms);
        co_return timer;
    });
    (void)ticks;
    const QString where = runner.run([&runner]() -> QCoro::Task<QString> {
        co_return QThread::currentThread() == runner.thread() ? QStringLiteral("loop thread")
                                                              : QStringLiteral("elsewhere");
    });
    std::printf("2. second call runs on the %s, where the first call's timer lives\n",
                qPrintable(where));

    // 3. gather(): three 200 ms coroutines run concurrently on the one loop.
    QElapsedTimer clock;
    clock.start();
    const auto [a, b, c] =
        runner.gather([] { return slowAnswer(200ms, 1); }, [] { return slowAnswer(200ms, 2); },
                      [] { return slowAnswer(200ms, 3); });
    std::printf("3. gather() -> %d %d %d in %lld ms (not 600)\n", a, b, c,
                static_cast<long long>(clock.elapsed()));

    // 4. A timeout is the caller's own deadline; the coroutine is asked to stop and, using a
    //    stop-aware sleep, ends at once instead of in 10 s.
    clock.restart();
    try {
        runner.run(
            []() -> QCoro::Task<void> {
                const std::stop_token stop = palitra::currentStopToken();
                const bool slept = co_await palitra::sleepFor(10s, stop);
                std::printf("   coroutine: woke %s\n",
                            slept ? "after 10 s" : "early: stop requested");
            },
            100ms);
    } catch (const palitra::TimeoutError &) {
        std::printf("4. TimeoutError after %lld ms\n", static_cast<long long>(clock.elapsed()));
    }

    // 5. The coroutine's own exception reaches the caller with its type.
    try {
        palitra::run([]() -> QCoro::Task<int> {
            co_await palitra::sleepFor(10ms, {});
            throw std::out_of_range("no such record");
        });
    } catch (const std::out_of_range &e) {
        std::printf("5. std::out_of_range: %s\n", e.what());
    }

    // 6. Blocking on the loop from the loop itself would hang: it throws instead.
    const QString deadlock = runner.run([&runner]() -> QCoro::Task<QString> {
        try {
            runner.run([]() -> QCoro::Task<int> { co_return 0; });
        } catch (const palitra::DeadlockError &) {
            co_return QStringLiteral("DeadlockError (co_await instead)");
        }
        co_return QStringLiteral("no error?");
    });
    std::printf("6. run() on the loop thread -> %s\n", qPrintable(deadlock));

    runner.close();
    std::printf("done; global runner alive: %s\n", palitra::isRunnerAlive() ? "yes" : "no");
    return 0; // the global runner is shut down at exit
}
