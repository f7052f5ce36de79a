// SPDX-License-Identifier: MIT
// Every public template of palitra, instantiated as a user's program would: this translation
// unit is compiled with -O2 -Wall -Wextra -Wpedantic -Werror (plain and with ASan+UBSan) by g++
// and by clang, so a warning in an installed header fails the consumer check. It is also run, so
// the sanitizers see the instantiations execute.
#include <palitra/palitra.h>

#include <QList>
#include <QObject>

#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace {

using namespace std::chrono_literals;

QCoro::Task<int> answer() {
    co_return 42;
}

QCoro::Task<> nothing() {
    co_return;
}

QCoro::Task<std::unique_ptr<int>> boxed(int value) {
    co_return std::make_unique<int>(value);
}

QCoro::Task<std::string> fails() {
    throw std::runtime_error("expected");
    co_return std::string();
}

// abortOnStop() takes any QObject with an abort() member; QNetworkReply is the usual one, but
// this check links nothing beyond palitra's own dependencies.
class Abortable : public QObject {
public:
    void abort() { m_isAborted = true; }
    bool isAborted() const { return m_isAborted; }

private:
    bool m_isAborted = false;
};

int failures = 0;
void check(bool condition, const char *what) {
    if (!condition) {
        ++failures;
        std::fprintf(stderr, "consumer: FAILED: %s\n", what);
    }
}

void freeFunctions() {
    // run(): both forms, a value, void, a move-only result, a function pointer.
    check(palitra::run([] { return answer(); }) == 42, "run");
    check(palitra::run([]() -> QCoro::Task<int> { co_return co_await answer(); }, 2s) == 42,
          "run with a timeout");
    palitra::run(&nothing);
    palitra::run(&nothing, 1.5s);
    check(*palitra::run([] { return boxed(7); }) == 7, "run of a move-only result");

    // gather(): the tuple form and the range form, each with and without a timeout.
    auto [a, b, c] =
        palitra::gather([] { return answer(); }, [] { return nothing(); }, [] { return boxed(1); });
    check(a == 42 && std::is_same_v<decltype(b), std::monostate> && *c == 1, "gather of a tuple");
    auto [d] = palitra::gather([] { return answer(); }, 1s);
    check(d == 42, "gather of a tuple with a timeout");
    std::vector<std::function<QCoro::Task<int>()>> work{&answer, &answer};
    const QList<int> fromVector = palitra::gather(work);
    const QList<int> fromSpan = palitra::gather(std::span(work), 1s);
    check(fromVector.size() == 2 && fromSpan.value(1) == 42, "gather of a range");
    std::vector<std::function<QCoro::Task<std::unique_ptr<int>>()>> boxes{[] { return boxed(2); }};
    const palitra::ResultList<std::unique_ptr<int>> moved = palitra::gather(std::move(boxes), 1s);
    check(moved.size() == 1 && *moved.front() == 2, "gather of a range of move-only results");

    // gatherOutcomes(): both forms, with and without a timeout.
    auto [good, bad] = palitra::gatherOutcomes([] { return answer(); }, [] { return fails(); });
    check(good.hasValue() && good.value() == 42 && !bad.hasValue() && bad.exception(),
          "gatherOutcomes of a tuple");
    auto [late] = palitra::gatherOutcomes([] { return nothing(); }, 1s);
    check(late.hasValue(), "gatherOutcomes of a tuple with a timeout");
    const auto ranged = palitra::gatherOutcomes(work);
    const auto rangedTimed = palitra::gatherOutcomes(std::span(work), 1s);
    check(ranged.size() == 2 && rangedTimed.size() == 2 && rangedTimed[0].value() == 42,
          "gatherOutcomes of a range");
}

void runnerMembers() {
    palitra::EventLoopThreadRunner runner(
        {.threadName = QStringLiteral("consumer"), .closeGracePeriod = 500ms});
    check(runner.run([] { return answer(); }) == 42, "runner.run");
    check(runner.run([] { return answer(); }, std::chrono::hours::max()) == 42,
          "runner.run with a timeout");
    auto [a, b] = runner.gather([] { return answer(); }, [] { return answer(); }, 1s);
    check(a + b == 84, "runner.gather with a timeout");
    std::array<QCoro::Task<int> (*)(), 2> pointers{&answer, &answer};
    check(runner.gather(pointers).size() == 2, "runner.gather of an array");
    auto [o] = runner.gatherOutcomes([] { return fails(); });
    bool isRethrown = false;
    try {
        o.value();
    } catch (const std::runtime_error &) {
        isRethrown = true;
    }
    check(isRethrown, "Outcome::value rethrows");
    bool isTimedOut = false;
    try {
        runner.run([]() -> QCoro::Task<> { co_await palitra::sleepFor(10s, {}); }, 0ms);
    } catch (const palitra::TimeoutError &) {
        isTimedOut = true;
    }
    check(isTimedOut, "a zero timeout throws TimeoutError");
}

void stopHelpers() {
    palitra::EventLoopThreadRunner runner;
    // sleepFor(): a whole sleep, and one that a stop request ends early.
    check(runner.run([]() -> QCoro::Task<bool> {
        co_return co_await palitra::sleepFor(1ms, palitra::currentStopToken());
    }),
          "sleepFor sleeps");
    check(!runner.run([]() -> QCoro::Task<bool> {
        std::stop_source source;
        source.request_stop();
        co_return co_await palitra::sleepFor(std::chrono::duration<double>(5.0),
                                             source.get_token());
    }),
          "sleepFor wakes on stop");

    // abortOnStop() and StopGuard: the action runs on the target's (loop) thread after stop.
    check(runner.run([&runner]() -> QCoro::Task<bool> {
        std::stop_source source;
        Abortable reply;
        std::optional<palitra::StopGuard> guard{palitra::abortOnStop(&reply, source.get_token())};
        bool isGuardRun = false;
        palitra::StopGuard custom(source.get_token(), runner.context(),
                                  [&isGuardRun] { isGuardRun = true; });
        source.request_stop();
        // Both actions were posted to this (the loop) thread; an event posted after them is
        // delivered after them.
        auto *marker = new QObject;
        QMetaObject::invokeMethod(
            marker, [marker] { delete marker; }, Qt::QueuedConnection);
        co_await palitra::awaitSignal(marker, &QObject::destroyed);
        guard.reset();
        co_return reply.isAborted() && isGuardRun;
    }),
          "abortOnStop and StopGuard");
    palitra::StopGuard empty;
    palitra::StopGuard movedTo = std::move(empty);

    // awaitSignal(): the signal's arguments, or nullopt when stop comes first.
    check(runner.run([]() -> QCoro::Task<bool> {
        auto *object = new QObject;
        QObject *seen = nullptr;
        QMetaObject::invokeMethod(
            object, [object] { delete object; }, Qt::QueuedConnection);
        const auto args = co_await palitra::awaitSignal(object, &QObject::destroyed);
        if (args)
            seen = std::get<0>(*args);
        co_return seen == object;
    }),
          "awaitSignal");
    check(runner.run([&runner]() -> QCoro::Task<bool> {
        std::stop_source source;
        source.request_stop();
        const auto args = co_await palitra::awaitSignal(runner.context(), &QObject::destroyed,
                                                        source.get_token());
        co_return !args.has_value();
    }),
          "awaitSignal on stop");
}

// submit(), free and member, with and without a timeout, value and void; and LoopLocal.
void nonBlocking() {
    using namespace std::chrono_literals;
    check(palitra::submit([]() -> QCoro::Task<int> { co_return 42; }).result() == 42, "submit");
    check(palitra::submit([]() -> QCoro::Task<int> { co_return 43; }, 5s).result() == 43,
          "submit with timeout");
    palitra::EventLoopThreadRunner runner;
    QFuture<void> done = runner.submit([]() -> QCoro::Task<> { co_return; });
    done.waitForFinished();
    check(done.isFinished(), "runner.submit void");
    check(runner.submit([]() -> QCoro::Task<int> { co_return 44; }, 5.0s).result() == 44,
          "runner.submit with timeout");
    static palitra::LoopLocal<int> counter;
    static palitra::LoopLocal<int> made([] { return std::make_unique<int>(7); });
    const int seen = runner.run([]() -> QCoro::Task<int> {
        ++*counter;
        co_return *counter.operator->() + made.get();
    });
    check(seen == 8, "LoopLocal");
}

// currentCall() and onCaller(): value, void, a reference, and an exception from the caller.
void callContext() {
    palitra::EventLoopThreadRunner runner;
    int onCallerSide = 1;
    const int sum = runner.run([&onCallerSide]() -> QCoro::Task<int> {
        const palitra::CallContext call = palitra::currentCall();
        const int value = co_await call.onCaller([] { return 40; });
        co_await call.onCaller([&onCallerSide] { ++onCallerSide; });
        int &same = co_await call.onCaller([&onCallerSide]() -> int & { return onCallerSide; });
        int thrown = 0;
        try {
            co_await call.onCaller([]() -> int { throw std::runtime_error("caller"); });
        } catch (const std::runtime_error &) {
            thrown = 1;
        }
        co_return value + same + thrown - (call.stopToken().stop_possible() ? 0 : 100);
    });
    check(sum == 43 && onCallerSide == 2, "onCaller");
}

} // namespace

//! The number of checks that failed (each one printed).
int useEveryTemplate() {
    failures = 0;
    freeFunctions();
    runnerMembers();
    stopHelpers();
    nonBlocking();
    callContext();
    palitra::shutdownGlobalRunner();
    return failures;
}
