// SPDX-License-Identifier: MIT
// fork() without exec (docs/SEMANTICS.md#fork). The parent's loop threads do not exist in the
// child, so calls on a runner started in the parent fail fast with palitra::Error, never hang.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QTest>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <functional>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;

namespace {

using IntFn = std::function<QCoro::Task<int>()>;

QCoro::Task<int> answer(int value) {
    co_return value;
}

// Exit codes of the child. 0 means every check passed.
enum ChildCode : int {
    Ok = 0,
    NoException = 10,
    ClosedInsteadOfError = 11,
    OtherException = 12,
    MessageSaysNothingOfFork = 13,
    ReportsRunning = 15,
    WrongValue = 16,
    ChildThrew = 18,
};

// Calls \a call in the child; it must throw a palitra::Error (not RunnerClosedError) that
// mentions fork (a call that hung would leave the child to runInChild's limit: a failure).
int expectForkError(const std::function<void()> &call) {
    int code = NoException;
    try {
        call();
    } catch (const palitra::RunnerClosedError &) {
        code = ClosedInsteadOfError;
    } catch (const palitra::Error &e) {
        code = std::strstr(e.what(), "fork") ? Ok : MessageSaysNothingOfFork;
    } catch (...) {
        code = OtherException;
    }
    return code;
}

// Forks; the child runs \a body and _exit()s with its result (never returning into Qt Test).
// The parent waits at most \a limit for it (then kills it) and returns its exit status, or -1
// when it had to be killed or did not exit normally.
int runInChild(const std::function<int()> &body, std::chrono::milliseconds limit = 20s) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        return -2;
    if (pid == 0) {
        int code = ChildThrew;
        try {
            code = body();
        } catch (...) {
        }
        ::_exit(code);
    }
    std::mutex mutex;
    std::condition_variable cv;
    bool reaped = false;
    std::atomic<bool> killed{false};
    std::thread killer([&] {
        std::unique_lock lock(mutex);
        if (!cv.wait_for(lock, limit, [&] { return reaped; })) {
            killed = true;
            ::kill(pid, SIGKILL);
        }
    });
    int status = 0;
    const pid_t waited = ::waitpid(pid, &status, 0);
    {
        const std::lock_guard lock(mutex);
        reaped = true;
    }
    cv.notify_all();
    killer.join();
    if (waited != pid || killed || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

enum class Call { Run, RunWithTimeout, GatherVariadic, GatherRange, GatherOutcomes };

void makeCall(EventLoopThreadRunner &runner, Call call) {
    switch (call) {
    case Call::Run:
        runner.run([] { return answer(1); });
        break;
    case Call::RunWithTimeout:
        runner.run([] { return answer(1); }, 1h);
        break;
    case Call::GatherVariadic:
        runner.gather([] { return answer(1); }, [] { return answer(2); });
        break;
    case Call::GatherRange:
        runner.gather(std::vector<IntFn>{[] { return answer(1); }});
        break;
    case Call::GatherOutcomes:
        runner.gatherOutcomes(std::vector<IntFn>{[] { return answer(1); }});
        break;
    }
}

} // namespace

Q_DECLARE_METATYPE(Call)

class tst_Fork : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // --- a runner started in the parent fails fast in the child ---------------------------
    void runnerStartedInParent_data();
    void runnerStartedInParent();

    void globalRunnerStartedInParent();

    // A parent thread that keeps taking the global runner's locks (isRunnerAlive()) while the
    // main thread forks: no child may inherit one of them held.
    void globalRunnerLockedByParentThreadAtFork();

    // --- the error message's advice works: a new runner in the child ----------------------
    void newRunnerInChildWorks_data();
    void newRunnerInChildWorks();
};

// a runner started in the parent fails fast in the child ----------------------------------------

void tst_Fork::runnerStartedInParent_data() {
    QTest::addColumn<Call>("call");
    QTest::addColumn<bool>("callerBlockedInParent");
    QTest::newRow("run") << Call::Run << false;
    QTest::newRow("run with timeout") << Call::RunWithTimeout << false;
    QTest::newRow("gather(fa, fb)") << Call::GatherVariadic << false;
    QTest::newRow("gather(range)") << Call::GatherRange << false;
    QTest::newRow("gatherOutcomes(range)") << Call::GatherOutcomes << false;
    QTest::newRow("run, a parent thread blocked in run at fork time") << Call::Run << true;
}

void tst_Fork::runnerStartedInParent() {
    QFETCH(Call, call);
    QFETCH(bool, callerBlockedInParent);
    EventLoopThreadRunner runner;
    QCOMPARE(runner.run([] { return answer(1); }), 1);

    std::future<int> blocked;
    auto started = std::make_shared<std::latch>(1);
    if (callerBlockedInParent) {
        blocked = std::async(std::launch::async, [&runner, started] {
            return runner.run([started]() -> QCoro::Task<int> {
                const std::stop_token stop = palitra::currentStopToken();
                started->count_down();
                co_await palitra::sleepFor(1h, stop);
                co_return 2;
            });
        });
        started->wait();
    }

    const int code = runInChild([&runner, call] {
        const int failed = expectForkError([&] { makeCall(runner, call); });
        if (failed != Ok)
            return failed;
        if (runner.isRunning())
            return int(ReportsRunning);
        // A second call fails the same way: nothing got stuck.
        if (const int again = expectForkError([&] { makeCall(runner, call); }); again != Ok)
            return again;
        runner.close(); // nothing to wait for: the parent's thread is not here
        return int(Ok);
    });
    QCOMPARE(code, int(Ok));

    // The parent's runner is untouched.
    QVERIFY(runner.isRunning());
    QCOMPARE(runner.run([] { return answer(3); }), 3);
    if (callerBlockedInParent) {
        runner.close();
        QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError, blocked.get());
    }
}

void tst_Fork::globalRunnerStartedInParent() {
    QCOMPARE(palitra::run([] { return answer(1); }), 1);
    QVERIFY(palitra::isRunnerAlive());
    const int code = runInChild([] {
        if (const int c = expectForkError([] { palitra::run([] { return answer(1); }); }); c != Ok)
            return c;
        if (const int c = expectForkError(
                [] { palitra::gather([] { return answer(1); }, [] { return answer(2); }); });
            c != Ok)
            return c;
        if (palitra::isRunnerAlive())
            return int(ReportsRunning);
        palitra::shutdownGlobalRunner();
        return int(Ok);
    });
    QCOMPARE(code, int(Ok));
    QVERIFY(palitra::isRunnerAlive());
    QCOMPARE(palitra::run([] { return answer(2); }), 2);
    palitra::shutdownGlobalRunner();
}

void tst_Fork::globalRunnerLockedByParentThreadAtFork() {
    QCOMPARE(palitra::run([] { return answer(1); }), 1);
    std::atomic<bool> stop{false};
    std::atomic<int> polls{0};
    std::thread poller([&] {
        while (!stop) {
            (void)palitra::isRunnerAlive();
            ++polls;
        }
    });
    int failures = 0;
    for (int i = 0; i < 20; ++i) {
        const int code = runInChild(
            [] {
                if (palitra::isRunnerAlive())
                    return int(ReportsRunning);
                palitra::shutdownGlobalRunner();
                return palitra::isRunnerAlive() ? int(ReportsRunning) : int(Ok);
            },
            5s);
        failures += code == Ok ? 0 : 1;
    }
    stop = true;
    poller.join();
    QVERIFY(polls > 0);
    QCOMPARE(failures, 0);
    QVERIFY(palitra::isRunnerAlive());
    palitra::shutdownGlobalRunner();
}

// the error message's advice works: a new runner in the child -----------------------------------

void tst_Fork::newRunnerInChildWorks_data() {
    QTest::addColumn<bool>("global");
    QTest::newRow("EventLoopThreadRunner") << false;
    QTest::newRow("global runner after shutdownGlobalRunner()") << true;
}

void tst_Fork::newRunnerInChildWorks() {
#if defined(__SANITIZE_THREAD__)
    QSKIP("ThreadSanitizer cannot start threads in the child of a multi-threaded fork()");
#endif
    QFETCH(bool, global);
    EventLoopThreadRunner parentRunner;
    QCOMPARE(parentRunner.run([] { return answer(1); }), 1);
    QCOMPARE(palitra::run([] { return answer(1); }), 1);
    const int code = runInChild([global] {
        if (global) {
            palitra::shutdownGlobalRunner();
            return palitra::run([] { return answer(7); }, 5s) == 7 ? int(Ok) : int(WrongValue);
        }
        EventLoopThreadRunner child;
        const int v = child.run([] { return answer(7); }, 5s);
        child.close();
        return v == 7 ? int(Ok) : int(WrongValue);
    });
    QCOMPARE(code, int(Ok));
    palitra::shutdownGlobalRunner();
}

QTEST_GUILESS_MAIN(tst_Fork)
#include "tst_fork.moc"
