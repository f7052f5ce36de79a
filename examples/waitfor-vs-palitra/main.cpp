// SPDX-License-Identifier: MIT
// Before/after: a slot that must block for an asynchronous result, once with QCoro::waitFor and
// once with palitra::run.
//
// waitFor spins a nested event loop in the caller: while the slot "waits", the caller's own
// timers fire and calls posted to it run, in the middle of the slot — code the slot's author did
// not expect to run there (re-entrancy). palitra's caller waits without an event loop: nothing of
// its thread runs until the call returns, and the queued work runs afterwards, in order.
#include <palitra/palitra.h>

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QCoro/QCoroTimer>
#include <QTimer>

#include <cstdio>

using namespace std::chrono_literals;

namespace {

//! The asynchronous work: 100 ms on a timer, then a value.
QCoro::Task<int> work() {
    QTimer timer;
    timer.setSingleShot(true);
    timer.start(100ms);
    co_await timer;
    co_return 7;
}

} // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);

    // The caller's thread has its own life: a timer ticking, and calls posted to it.
    int timerEvents = 0;
    int postedCalls = 0;
    QTimer ticker;
    QObject::connect(&ticker, &QTimer::timeout, &app, [&timerEvents] { ++timerEvents; });
    ticker.start(5ms);

    const auto measure = [&](const char *name, auto &&blockingCall) {
        timerEvents = 0;
        postedCalls = 0;
        for (int i = 0; i < 3; ++i)
            QMetaObject::invokeMethod(
                &app, [&postedCalls] { ++postedCalls; }, Qt::QueuedConnection);
        const int value = blockingCall();
        std::printf("%-15s -> %d; during the wait the caller's thread ran %d timer events and %d "
                    "posted calls\n",
                    name, value, timerEvents, postedCalls);
    };

    // A slot, running inside the application's event loop.
    QTimer::singleShot(0, &app, [&] {
        measure("QCoro::waitFor", [] { return QCoro::waitFor(work()); });
        measure("palitra::run", [] { return palitra::run([] { return work(); }); });
        app.quit();
    });
    return app.exec();
}
