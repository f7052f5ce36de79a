// SPDX-License-Identifier: MIT
// A child process for tst_exit (docs/SEMANTICS.md#exit): leaves the global runner alive, often with
// a coroutine suspended forever, and then ends the process in one of the ways a real program does.
//
//   exit_child <mode> <exit code>
//
// It prints "child: leaving main" or "child: calling exit" to stdout just before ending, so the
// parent knows the program got that far.
#include <palitra/palitra.h>

#include <QCoreApplication>
#include <QTimer>

#include <QCoro/QCoroTimer>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <memory>
#include <thread>

using namespace std::chrono_literals;

namespace {

// Ignores stop requests: still suspended when the grace period ends, so it is abandoned.
QCoro::Task<> suspendedForever() {
    co_await QCoro::sleepFor(24h);
}

// Leaves a coroutine suspended forever behind a caller whose timeout passed.
// A call whose timeout passes before the loop starts it is never started, so retry with a
// longer timeout until the coroutine has really started (and is left suspended forever).
int startSuspendedCoroutine() {
    auto started = std::make_shared<std::atomic<bool>>(false);
    for (auto timeout = 50ms; !started->load(); timeout *= 2) {
        try {
            palitra::run(
                [started] {
                    started->store(true);
                    return suspendedForever();
                },
                timeout);
            std::fputs("child: expected a TimeoutError\n", stderr);
            return 1;
        } catch (const palitra::TimeoutError &) {
        }
    }
    return 0;
}

// A caller on a detached thread stays blocked in run() until the process exits. The coroutine
// honours stop requests when \a cooperative, else ignores them.
void startBlockedCaller(bool cooperative) {
    static std::latch started(1); // outlives this function: the loop thread counts it down
    std::thread([cooperative] {
        try {
            palitra::run([cooperative]() -> QCoro::Task<> {
                const std::stop_token stop = palitra::currentStopToken();
                started.count_down();
                if (cooperative)
                    co_await palitra::sleepFor(24h, stop);
                else
                    co_await QCoro::sleepFor(24h);
            });
        } catch (const palitra::RunnerClosedError &) {
            // Released by the shutdown at exit.
        }
    }).detach();
    started.wait();
}

bool useIdle() {
    return palitra::run([]() -> QCoro::Task<int> { co_return 1; }) == 1;
}

int leaveMain(int code) {
    std::puts("child: leaving main");
    std::fflush(stdout);
    return code;
}

[[noreturn]] void callExit(int code) {
    std::puts("child: calling exit");
    std::fflush(stdout);
    std::exit(code);
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fputs("usage: exit_child <mode> <exit code>\n", stderr);
        return 100;
    }
    const char *mode = argv[1];
    const int code = std::atoi(argv[2]);
    const auto is = [mode](const char *m) { return std::strcmp(mode, m) == 0; };

    if (is("suspended-return")) {
        if (startSuspendedCoroutine() != 0)
            return 101;
        return leaveMain(code);
    }
    if (is("suspended-exit")) {
        if (startSuspendedCoroutine() != 0)
            return 101;
        callExit(code);
    }
    if (is("blocked-caller-return")) {
        startBlockedCaller(false);
        return leaveMain(code);
    }
    if (is("cooperative-caller-exit")) {
        startBlockedCaller(true);
        callExit(code);
    }
    if (is("idle-return")) {
        if (!useIdle())
            return 101;
        return leaveMain(code);
    }
    if (is("idle-exit")) {
        if (!useIdle())
            return 101;
        callExit(code);
    }
    if (is("exit-on-loop-thread")) {
        // A coroutine on the global runner's own loop thread calls exit() while main() is busy
        // elsewhere (main() blocked in run() meanwhile is tst_exit_blocked's "loop-exit" row).
        // So the coroutine waits until main() has given up on it (its timeout) and parked. A
        // call whose timeout passes while it is still queued is never started: then main()
        // calls again.
        static std::atomic<bool> started{false};
        static std::atomic<bool> mainParked{false};
        while (!started) {
            try {
                palitra::run(
                    [code]() -> QCoro::Task<> {
                        started = true;
                        while (!mainParked) // ignores the stop request of the timeout
                            co_await QCoro::sleepFor(10ms);
                        std::puts("child: calling exit");
                        std::fflush(stdout);
                        std::exit(code);
                    },
                    50ms);
            } catch (const palitra::TimeoutError &) {
            }
        }
        mainParked = true;
        for (;;) // parked: the process ends from the loop thread
            std::this_thread::sleep_for(1h);
    }
    if (is("exit-from-slot-on-loop-thread")) {
        // exit() called by a plain timer slot on the loop thread, with no palitra call in flight.
        palitra::run([code]() -> QCoro::Task<> {
            QTimer::singleShot(50ms, [code] {
                std::puts("child: calling exit");
                std::fflush(stdout);
                std::exit(code);
            });
            co_return;
        });
        for (;;) // parked: the process ends from the loop thread
            std::this_thread::sleep_for(1h);
    }

    // With an application alive while the global runner is in use.
    QCoreApplication app(argc, argv);
    if (is("app-return")) {
        if (startSuspendedCoroutine() != 0)
            return 101;
        return leaveMain(code); // ~QCoreApplication runs palitra's post routine
    }
    if (is("app-exec")) {
        if (startSuspendedCoroutine() != 0)
            return 101;
        QTimer::singleShot(0, &app, [code] { QCoreApplication::exit(code); });
        const int status = QCoreApplication::exec();
        return leaveMain(status);
    }
    if (is("app-exit")) {
        if (startSuspendedCoroutine() != 0)
            return 101;
        callExit(code); // the application is never destroyed: the atexit hook shuts down
    }
    if (is("app-idle-return")) {
        if (!useIdle())
            return 101;
        return leaveMain(code);
    }
    std::fprintf(stderr, "exit_child: unknown mode %s\n", mode);
    return 100;
}
