// SPDX-License-Identifier: MIT
//
// How palitra's sleeps and stop requests scale with the number of coroutines that wait.
//
//   sleepers/gather/N          one gather() of N coroutines, each awaiting palitra::sleepFor(10ms)
//                              (stop-aware: each passes the call's token). per_element is the
//                              wall time divided by N: flat means linear.
//   sleepers/gather_qcoro/N    the same with QCoro::sleepFor (a QTimer each), for comparison.
//   sleepers/timeout/100000    one gather() of 10^5 coroutines each awaiting a 30 s stop-aware
//                              sleep, with a 500 ms timeout: timeout_ratio is when TimeoutError
//                              reached the caller over 500 ms, loop_back_ms how long after that a
//                              trivial run() was answered, all_woken_ms how long after it every
//                              sleeper had ended.
//
// A separate binary from palitra_bench: these rows take seconds each and are run on their own.
// Nothing here is a test and nothing asserts a time (see bench/README.md).
#include <palitra/palitra.h>

#include <QCoreApplication>

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
    const auto sleeper = [&ended]() -> QCoro::Task<void> {
        co_await palitra::sleepFor(30s, palitra::currentStopToken());
        ended.fetch_add(1, std::memory_order_relaxed);
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
        // each ends soon. Polled, so that waiting costs the loop nothing.
        while (ended.load(std::memory_order_relaxed) < n)
            std::this_thread::sleep_for(1ms);
        allWoken += secondsSince(thrown) * 1e3;
    }
    const auto iterations = static_cast<double>(state.iterations());
    state.counters["timeout_ratio"] = ratio / iterations;
    state.counters["loop_back_ms"] = loopBack / iterations;
    state.counters["all_woken_ms"] = allWoken / iterations;
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
    RegisterBenchmark("sleepers/timeout", timeoutAtScale)
        ->Arg(100000)
        ->Iterations(1)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
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
