// SPDX-License-Identifier: MIT
//
// How palitra's sleeps and stop requests scale with the number of coroutines that wait.
//
//   sleepers/gather/N          one gather() of N coroutines, each awaiting palitra::sleepFor(10ms)
//                              (stop-aware: each passes the call's token). per_element is the
//                              wall time divided by N: flat means linear.
//   sleepers/gather_qcoro/N    the same with QCoro::sleepFor (a QTimer each), for comparison.
//   sleepers/timeout/N         one gather() of N coroutines each awaiting a 30 s stop-aware
//                              sleep, with a 500 ms timeout: timeout_ratio is when TimeoutError
//                              reached the caller over 500 ms, loop_back_ms how long after that a
//                              trivial run() was answered, all_woken_ms how long after it the last
//                              sleeper ended, and all_woken_per_element that over N: flat in N
//                              means a stop request wakes them in linear time.
//   futures/cancel_newest_first/N
//                              N submit()ted coroutines each awaiting a 1 h stop-aware sleep,
//                              cancelled newest first; per_element is the time from the first
//                              cancel() until every future finished and the loop answered a
//                              run(), over N: flat means each future's bookkeeping on the loop
//                              costs O(1) whatever the order.
//
// A separate binary from palitra_bench: these rows take seconds each and are run on their own.
// Nothing here is a test and nothing asserts a time (see bench/README.md).
#include <palitra/palitra.h>

#include <QCoreApplication>
#include <QFuture>

#include <QCoro/QCoroTask>
#include <QCoro/QCoroTimer>

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

palitra::EventLoopThreadRunner *runner = nullptr;

double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

QCoro::Task<int> trivialTask() {
    co_return 42;
}

void gatherSleepers(benchmark::State &state, bool qcoroTimer) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto palitraSleeper = []() -> QCoro::Task<void> {
        co_await palitra::sleepFor(10ms, palitra::currentStopToken());
    };
    const auto qcoroSleeper = []() -> QCoro::Task<void> { co_await QCoro::sleepFor(10ms); };
    double total = 0;
    for (auto _ : state) {
        const auto start = Clock::now();
        if (qcoroTimer) {
            const std::vector<std::decay_t<decltype(qcoroSleeper)>> callables(n, qcoroSleeper);
            benchmark::DoNotOptimize(runner->gather(callables).size());
        } else {
            const std::vector<std::decay_t<decltype(palitraSleeper)>> callables(n, palitraSleeper);
            benchmark::DoNotOptimize(runner->gather(callables).size());
        }
        total += secondsSince(start);
    }
    state.counters["per_element"] =
        benchmark::Counter(total / static_cast<double>(state.iterations()) / n);
}

void timeoutAtScale(benchmark::State &state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    constexpr auto timeout = 500ms;
    std::atomic<std::size_t> ended{0};
    std::atomic<Clock::rep> lastEnded{0}; // when the last sleeper ended, on the loop thread
    const auto sleeper = [&ended, &lastEnded, n]() -> QCoro::Task<void> {
        co_await palitra::sleepFor(30s, palitra::currentStopToken());
        if (ended.fetch_add(1, std::memory_order_acq_rel) + 1 == n)
            lastEnded.store(Clock::now().time_since_epoch().count(), std::memory_order_release);
    };
    const std::vector<std::decay_t<decltype(sleeper)>> callables(n, sleeper);
    double ratio = 0, loopBack = 0, allWoken = 0;
    for (auto _ : state) {
        ended = 0;
        const auto start = Clock::now();
        try {
            runner->gather(callables, timeout);
            state.SkipWithError("the gather did not time out");
            return;
        } catch (const palitra::TimeoutError &) {
        }
        const auto thrown = Clock::now();
        ratio += std::chrono::duration<double>(thrown - start) / timeout;
        runner->run(trivialTask);
        loopBack += secondsSince(thrown) * 1e3;
        // Every sleeper was started (a gather starts all before it waits) and stop is requested:
        // each ends soon. Polled, so that waiting costs the loop nothing; the last one notes when.
        while (ended.load(std::memory_order_acquire) < n)
            std::this_thread::sleep_for(1ms);
        const Clock::time_point last{Clock::duration{lastEnded.load(std::memory_order_acquire)}};
        allWoken += std::chrono::duration<double, std::milli>(last - thrown).count();
    }
    const auto iterations = static_cast<double>(state.iterations());
    state.counters["timeout_ratio"] = ratio / iterations;
    state.counters["loop_back_ms"] = loopBack / iterations;
    state.counters["all_woken_ms"] = allWoken / iterations;
    state.counters["all_woken_per_element"] =
        benchmark::Counter(allWoken / 1e3 / iterations / static_cast<double>(n));
}

void cancelNewestFirst(benchmark::State &state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto sleeper = []() -> QCoro::Task<int> {
        co_await palitra::sleepFor(1h, palitra::currentStopToken());
        co_return 1;
    };
    double total = 0;
    for (auto _ : state) {
        state.PauseTiming();
        std::vector<QFuture<int>> futures;
        futures.reserve(n);
        for (std::size_t i = 0; i < n; ++i)
            futures.push_back(runner->submit(sleeper));
        runner->run(trivialTask); // queued behind them: every sleeper has started
        state.ResumeTiming();
        const auto start = Clock::now();
        for (auto each = futures.rbegin(); each != futures.rend(); ++each)
            each->cancel();
        for (auto &future : futures)
            future.waitForFinished();
        // And the loop has caught up with what they left it: the first run() is queued behind
        // their last notifications, the second behind the deletions those queue in turn.
        runner->run(trivialTask);
        runner->run(trivialTask);
        total += secondsSince(start);
    }
    state.counters["per_element"] =
        benchmark::Counter(total / static_cast<double>(state.iterations()) / n);
}

void registerAll() {
    using benchmark::RegisterBenchmark;
    // Fixed iteration counts keep the slow rows of the old quadratic code bounded.
    for (const auto &[n, iterations] : {std::pair{1000, 20}, {10000, 5}, {100000, 1}}) {
        RegisterBenchmark("sleepers/gather", gatherSleepers, false)
            ->Arg(n)
            ->Iterations(iterations)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
    for (const auto &[n, iterations] : {std::pair{1000, 20}, {10000, 2}}) {
        RegisterBenchmark("sleepers/gather_qcoro", gatherSleepers, true)
            ->Arg(n)
            ->Iterations(iterations)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
    for (const auto &[n, iterations] : {std::pair{1000, 20}, {10000, 3}, {40000, 1}}) {
        RegisterBenchmark("futures/cancel_newest_first", cancelNewestFirst)
            ->Arg(n)
            ->Iterations(iterations)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
    for (const int n : {1000, 10000, 100000}) {
        RegisterBenchmark("sleepers/timeout", timeoutAtScale)
            ->Arg(n)
            ->Iterations(1)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
}

} // namespace

int main(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    QCoreApplication app(argc, argv);
    {
        palitra::EventLoopThreadRunner shared(
            palitra::RunnerOptions{QStringLiteral("palitra-scale-bench")});
        runner = &shared;
        shared.run(trivialTask); // start the loop thread before the first timing
        registerAll();
        benchmark::RunSpecifiedBenchmarks();
        benchmark::Shutdown();
        runner = nullptr;
    }
    return 0;
}
