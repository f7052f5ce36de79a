// SPDX-License-Identifier: MIT
// Before/after: the same blocking call from inside an application's event loop, once with
// QCoro::waitFor (which spins a nested event loop in the caller) and once with palitra.
//
// A timer on the main thread ticks every 5 ms. While the "synchronous" call waits, waitFor lets
// those ticks run inside the call: code the caller did not expect runs re-entrantly. palitra's
// caller waits without an event loop, so no tick runs until the call returns.
#include <palitra/palitra.h>

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QCoro/QCoroTimer>
#include <QTimer>

#include <cstdio>

using namespace std::chrono_literals;

namespace {

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
    int ticks = 0;
    QTimer ticker;
    QObject::connect(&ticker, &QTimer::timeout, [&ticks] { ++ticks; });
    ticker.start(5ms);

    QTimer::singleShot(0, [&] {
        ticks = 0;
        const int before = QCoro::waitFor(work());
        std::printf("QCoro::waitFor -> %d; main-thread ticks that ran inside the call: %d\n",
                    before, ticks);

        ticks = 0;
        const int after = palitra::run([] { return work(); });
        std::printf("palitra::run   -> %d; main-thread ticks that ran inside the call: %d\n", after,
                    ticks);
        app.quit();
    });
    return app.exec();
}
