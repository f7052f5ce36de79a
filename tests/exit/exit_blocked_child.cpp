// SPDX-License-Identifier: MIT
// A process that ends while a thread is blocked in palitra::run(). The exit rule: that thread
// neither wakes nor throws while the process exits, and the process ends with its own code.
//
//   exit_blocked_child <end> <blocked> <stop> <app>
//     end:     return | exit | worker-exit | loop-exit
//                                            how the process ends (main returns 3, main calls
//                                            exit(3), another thread calls exit(3), a coroutine
//                                            calls exit(3) on the global runner's loop thread)
//     blocked: worker | main                 which thread is blocked in run()
//     stop:    aware | ignoring              whether the blocked call's coroutine honours stop
//     app:     app | none                    a QCoreApplication in main(), or none
//
// Prints "child: woke" on stderr and ends with code 100 if a blocked run() ever returns or
// throws; the parent (tst_exit_blocked) expects exit code 3 and no such line.
#include <palitra/palitra.h>

#include <QCoreApplication>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <memory>
#include <optional>
#include <thread>

using namespace std::chrono_literals;

namespace {

constexpr int exitCode = 3;

[[noreturn]] void woke(const char *how) {
    std::fprintf(stderr, "child: woke (%s)\n", how);
    std::fflush(stderr);
    std::_Exit(100);
}

//! Blocks in palitra::run() on a coroutine that sleeps a day; reports if it ever comes back.
void blockInRun(bool stopAware, std::latch &started) {
    try {
        palitra::run([stopAware, &started]() -> QCoro::Task<> {
            const std::stop_token stop =
                stopAware ? palitra::currentStopToken() : std::stop_token{};
            started.count_down();
            co_await palitra::sleepFor(24h, stop);
        });
    } catch (const std::exception &e) {
        woke(e.what());
    } catch (...) {
        woke("a non-standard exception");
    }
    woke("run() returned");
}

//! Makes a call whose coroutine calls exit() on the loop thread, from the start of the call
//! (synchronously, in the loop's drain); its caller must not come back either.
[[noreturn]] void exitOnLoopThread() {
    try {
        palitra::run([]() -> QCoro::Task<> {
            std::exit(exitCode);
            co_return;
        });
    } catch (const std::exception &e) {
        woke(e.what());
    } catch (...) {
        woke("a non-standard exception");
    }
    woke("the exiting call returned");
}

[[noreturn]] void parkForever() {
    for (;;) // not synchronising: this thread only waits for the process to end
        std::this_thread::sleep_for(1h);
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 5) {
        std::fputs("usage: exit_blocked_child <end> <blocked> <stop> <app>\n", stderr);
        return 2;
    }
    const bool workerExit = std::strcmp(argv[1], "worker-exit") == 0;
    const bool loopExit = std::strcmp(argv[1], "loop-exit") == 0;
    const bool callExit = std::strcmp(argv[1], "exit") == 0;
    const bool mainBlocked = std::strcmp(argv[2], "main") == 0;
    const bool stopAware = std::strcmp(argv[3], "aware") == 0;
    const bool withApp = std::strcmp(argv[4], "app") == 0;

    std::optional<QCoreApplication> app;
    if (withApp)
        app.emplace(argc, argv);
    // A short grace period keeps the coroutines that ignore stop from slowing the suite.
    palitra::RunnerOptions options;
    options.threadName = QStringLiteral("palitra-global");
    options.closeGracePeriod = 200ms;
    palitra::setGlobalRunnerOptions(options);

    auto started = std::make_shared<std::latch>(1);
    if (mainBlocked) {
        // Another thread ends the process once main is blocked.
        std::thread([started, loopExit] {
            started->wait();
            if (loopExit)
                exitOnLoopThread();
            std::exit(exitCode);
        }).detach();
        blockInRun(stopAware, *started);
    }
    std::thread([stopAware, started] { blockInRun(stopAware, *started); }).detach();
    started->wait();
    if (loopExit) {
        std::thread(exitOnLoopThread).detach();
        parkForever();
    }
    if (workerExit) {
        std::thread([] { std::exit(exitCode); }).detach();
        parkForever();
    }
    if (callExit)
        std::exit(exitCode);
    return exitCode;
}
