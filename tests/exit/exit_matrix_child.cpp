// SPDX-License-Identifier: MIT
// The child program of tst_exit_matrix (docs/RELIABILITY.md#exit-matrix): one process per
// combination of
//
//   <app>   none       no QCoreApplication ever
//           alive      a QCoreApplication on main()'s stack when the process ends
//           gone       a QCoreApplication that used the global runner and was destroyed earlier
//   <end>   return       return from main()
//           exit         std::exit() from main()
//           loop-exit    std::exit() called by a coroutine on a runner's loop thread
//           worker-exit  std::exit() called by a thread of the program's own, main() parked
//           sigterm      main() blocked in palitra::run() when the parent sends SIGTERM
//   <state> idle       the global runner has served a call, nothing in flight
//           inflight   another thread is blocked in a call (its coroutine stops when asked)
//           suspended  a coroutine that ignores stop requests is suspended forever
//           many       four explicit runners (two locals of main(), two function-local
//                      statics, 500 ms grace each) and the global one, mixing all of the above;
//                      ending from main(), also one on the heap owned by a static
//
//   exit_matrix_child <app> <end> <state> <exit code>
//
// Just before the end it prints "child: leaving main" / "child: calling exit" (or, for
// sigterm, "child: blocked" once main() is inside run()), flushed, so the parent knows how far
// it got. palitra installs no signal handler: SIGTERM must end the process as it would end any.
#include <palitra/palitra.h>

#include <QCoreApplication>

#include <QCoro/QCoroTimer>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;

namespace {

constexpr auto explicitGrace = 500ms;

palitra::RunnerOptions shortGrace(const char *name) {
    palitra::RunnerOptions options;
    options.threadName = QString::fromLatin1(name);
    options.closeGracePeriod = explicitGrace;
    return options;
}

// Function-local statics: destroyed during exit(), after main()'s locals, in reverse order of
// construction (and before the global runner's atexit hook when constructed after its first use).
palitra::EventLoopThreadRunner &staticRunner(int which) {
    if (which == 0) {
        static palitra::EventLoopThreadRunner c(shortGrace("static-runner-c"));
        return c;
    }
    static palitra::EventLoopThreadRunner d(shortGrace("static-runner-d"));
    return d;
}

// A runner on the heap, owned by a function-local static made after the first use of the global
// runner: exit() destroys it before palitra's atexit hooks, so only the main thread's own watch
// tells palitra that the process exits (exit() on main()'s thread, return from main()).
palitra::EventLoopThreadRunner &ownedRunner() {
    static const auto owned =
        std::make_unique<palitra::EventLoopThreadRunner>(shortGrace("owned-runner-e"));
    return *owned;
}

// A runner to call: an explicit one, or the global one when null.
struct Target {
    palitra::EventLoopThreadRunner *runner = nullptr;

    template<typename Fn, typename... Timeout>
    auto run(Fn &&fn, Timeout... timeout) const {
        if (runner)
            return runner->run(std::forward<Fn>(fn), timeout...);
        return palitra::run(std::forward<Fn>(fn), timeout...);
    }
};

[[noreturn]] void fail(const char *what) {
    std::fprintf(stderr, "child: setup failed: %s\n", what);
    std::fflush(stderr);
    std::_Exit(101);
}

void useOnce(Target target) {
    if (target.run([]() -> QCoro::Task<int> { co_return 1; }) != 1)
        fail("a trivial call returned the wrong value");
}

// Leaves a coroutine that ignores stop requests suspended forever behind a caller whose timeout
// passed: it is abandoned when the runner closes. palitra never starts a call whose caller has
// already left, so on a loaded machine the timeout may pass before the coroutine starts: then
// try again, with a longer timeout, until one has started (a late start of an earlier attempt
// only adds a second abandoned coroutine).
void leaveSuspended(Target target) {
    auto started = std::make_shared<std::atomic<bool>>(false);
    for (auto timeout = 50ms; !started->load(); timeout *= 2) {
        try {
            target.run(
                [started]() -> QCoro::Task<> {
                    started->store(true);
                    co_await QCoro::sleepFor(24h);
                },
                timeout);
            fail("a coroutine suspended for 24 h returned");
        } catch (const palitra::TimeoutError &) {
        }
    }
}

// A detached thread stays blocked in run() until the process ends; its coroutine ends as soon as
// it is asked to stop. Only a runner that main() destroys before the process exits (a local of
// main(), as main() returns) releases it, with RunnerClosedError, when \a closedBeforeExit:
// once the process exits, a blocked caller is never woken, whichever runner it waits for.
// Returns once the coroutine has started on the loop thread.
void startBlockedCaller(Target target, bool closedBeforeExit = false) {
    auto started = std::make_shared<std::latch>(1);
    std::thread([target, started, closedBeforeExit] {
        try {
            target.run([started]() -> QCoro::Task<> {
                const std::stop_token stop = palitra::currentStopToken();
                started->count_down();
                co_await palitra::sleepFor(24h, stop);
            });
        } catch (const palitra::RunnerClosedError &) {
            if (!closedBeforeExit)
                fail("a caller blocked while the process exits was released");
            return;
        } catch (...) {
            fail("the blocked caller got an unexpected exception");
        }
        fail("a caller blocked while the process exits returned");
    }).detach();
    started->wait();
}

// A detached thread's call whose coroutine calls std::exit() on the loop thread of \a target.
[[noreturn]] void exitFromLoopThread(Target target, int code) {
    std::thread([target, code] {
        try {
            target.run([code]() -> QCoro::Task<> {
                co_await QCoro::sleepFor(1ms); // resumed by a timer of the loop, not the drain
                std::puts("child: calling exit");
                std::fflush(stdout);
                std::exit(code);
            });
        } catch (...) {
            fail("the caller of the exiting coroutine was woken while the process exits");
        }
        fail("the caller of the exiting coroutine returned while the process exits");
    }).detach();
    for (;;) // parked, not synchronising: the process ends from the loop thread
        std::this_thread::sleep_for(1h);
}

// A thread of the program's own (not palitra's) calls std::exit() while main() is parked.
[[noreturn]] void exitFromWorker(int code) {
    std::thread([code] {
        std::puts("child: calling exit");
        std::fflush(stdout);
        std::exit(code);
    }).detach();
    for (;;) // parked, not synchronising: the process ends from the worker
        std::this_thread::sleep_for(1h);
}

// main() stays blocked in run() until the parent's SIGTERM ends the process.
[[noreturn]] void blockUntilSignal(Target target) {
    try {
        target.run([]() -> QCoro::Task<> {
            std::puts("child: blocked");
            std::fflush(stdout);
            co_await QCoro::sleepFor(24h);
        });
    } catch (...) {
    }
    std::fputs("child: run() returned although nothing ended it\n", stderr);
    std::fflush(stderr);
    std::_Exit(102);
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 5) {
        std::fputs(
            "usage: exit_matrix_child none|alive|gone return|exit|loop-exit|worker-exit|sigterm "
            "idle|inflight|suspended|many <exit code>\n",
            stderr);
        return 100;
    }
    const std::string_view app = argv[1];
    const std::string_view end = argv[2];
    const std::string_view state = argv[3];
    const int code = std::atoi(argv[4]);
    const bool many = state == "many";
    if ((app != "none" && app != "alive" && app != "gone") ||
        (end != "return" && end != "exit" && end != "loop-exit" && end != "worker-exit" &&
         end != "sigterm") ||
        (state != "idle" && state != "inflight" && state != "suspended" && !many)) {
        std::fputs("exit_matrix_child: unknown argument\n", stderr);
        return 100;
    }

    // Declared before the application: destroyed after it when main() returns.
    std::optional<palitra::EventLoopThreadRunner> localA;
    std::optional<palitra::EventLoopThreadRunner> localB;
    if (many) {
        localA.emplace(shortGrace("local-runner-a"));
        localB.emplace(shortGrace("local-runner-b"));
    }
    const Target global;

    std::optional<QCoreApplication> application;
    if (app == "gone") {
        QCoreApplication earlier(argc, argv);
        useOnce(global); // registers palitra's post routine: ~QCoreApplication shuts it down
        if (many)
            useOnce(Target{&*localA});
    } else if (app == "alive") {
        application.emplace(argc, argv);
    }

    if (state == "idle") {
        useOnce(global);
    } else if (state == "inflight") {
        useOnce(global);
        startBlockedCaller(global);
    } else if (state == "suspended") {
        leaveSuspended(global);
    } else {
        useOnce(global); // first use: the atexit hook is registered before the statics exist
        useOnce(Target{&*localA});
        startBlockedCaller(Target{&*localB}, end == "return");
        leaveSuspended(Target{&staticRunner(0)});
        startBlockedCaller(Target{&staticRunner(1)});
        if (end == "return" || end == "exit")
            startBlockedCaller(Target{&ownedRunner()});
        leaveSuspended(Target{&staticRunner(1)});
        leaveSuspended(global);
        startBlockedCaller(global);
    }

    if (end == "return") {
        std::puts("child: leaving main");
        std::fflush(stdout);
        return code;
    }
    if (end == "exit") {
        std::puts("child: calling exit");
        std::fflush(stdout);
        std::exit(code);
    }
    if (end == "loop-exit")
        exitFromLoopThread(many ? Target{&staticRunner(1)} : global, code);
    if (end == "worker-exit")
        exitFromWorker(code);
    blockUntilSignal(global);
}
