// SPDX-License-Identifier: MIT
// A child process for tst_exit (docs/SEMANTICS.md#exit, #close): an explicit runner that is a
// static object (namespace-scope or function-local) with a 300 ms grace period, left with a
// coroutine suspended forever; its destructor, run during static destruction, closes it. Also:
// exit() called from a stop callback of that runner's own close().
//
//   exit_child_static <mode> <exit code>
#include <palitra/palitra.h>

#include <QCoro/QCoroTimer>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stop_token>

using namespace std::chrono_literals;

namespace {

palitra::RunnerOptions shortGrace(const char *name) {
    palitra::RunnerOptions options;
    options.threadName = QString::fromLatin1(name);
    options.closeGracePeriod = 300ms;
    return options;
}

// Constructed before main(), destroyed after everything constructed later (Qt's own lazily
// created globals included).
palitra::EventLoopThreadRunner g_runner(shortGrace("static-runner"));

palitra::EventLoopThreadRunner &localRunner() {
    static palitra::EventLoopThreadRunner runner(shortGrace("local-static-runner"));
    return runner;
}

// A call whose timeout passes before the loop starts it is never started, so retry with a
// longer timeout until the coroutine has really started (and is left suspended forever).
int startSuspendedCoroutine(palitra::EventLoopThreadRunner &runner) {
    auto started = std::make_shared<std::atomic<bool>>(false);
    for (auto timeout = 50ms; !started->load(); timeout *= 2) {
        try {
            runner.run(
                [started]() -> QCoro::Task<> {
                    started->store(true);
                    co_await QCoro::sleepFor(24h);
                },
                timeout);
            std::fputs("child: expected a TimeoutError\n", stderr);
            return 1;
        } catch (const palitra::TimeoutError &) {
        }
    }
    return 0;
}

// exit() from a stop callback that close() itself runs: the outer close() never returns, so the
// runner's destructor (static destruction, on this same thread) must end its loop and join it.
[[noreturn]] void exitFromStopCallback(palitra::EventLoopThreadRunner &runner, int code) {
    static std::atomic<bool> started{false};
    (void)runner.submit([code]() -> QCoro::Task<int> {
        const std::stop_callback exitNow(palitra::currentStopToken(), [code] {
            std::puts("child: calling exit");
            std::fflush(stdout);
            std::exit(code);
        });
        started = true;
        started.notify_all();
        co_await QCoro::sleepFor(24h); // deaf to the stop: abandoned after the grace period
        co_return 0;
    });
    started.wait(false);
    runner.close();
    std::fputs("child: close() returned although its stop callback called exit()\n", stderr);
    std::abort();
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fputs("usage: exit_child_static <mode> <exit code>\n", stderr);
        return 100;
    }
    const char *mode = argv[1];
    const int code = std::atoi(argv[2]);
    const auto is = [mode](const char *m) { return std::strcmp(mode, m) == 0; };

    palitra::EventLoopThreadRunner *runner = nullptr;
    if (is("global-return") || is("global-exit"))
        runner = &g_runner;
    else if (is("local-return") || is("local-exit") || is("local-exit-in-stop-callback"))
        runner = &localRunner();
    if (!runner) {
        std::fprintf(stderr, "exit_child_static: unknown mode %s\n", mode);
        return 100;
    }
    if (is("local-exit-in-stop-callback"))
        exitFromStopCallback(*runner, code);
    if (startSuspendedCoroutine(*runner) != 0)
        return 101;
    if (std::strstr(mode, "-exit")) {
        std::puts("child: calling exit");
        std::fflush(stdout);
        std::exit(code);
    }
    std::puts("child: leaving main");
    std::fflush(stdout);
    return code;
}
