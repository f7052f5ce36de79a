// SPDX-License-Identifier: MIT
//
// palitra's benchmark suite: one binary, so that every row of a table was measured in the same
// process, on the same machine, in the same minute. docs/BENCHMARKS.md reports the rows as ratios
// to the floor and to Boost.Asio, which is the only honest way to compare across machines.
//
// A row is one sync -> async -> sync round trip of one of two coroutines:
//   trivial  `co_return 42;`                          (pure dispatch cost)
//   timer0   `co_await QCoro::sleepFor(0ms); co_return 42;` (one trip through the loop's timers)
// Asio's timer0 awaits a zero-delay steady_timer instead; the floor has no timer row.
//
// Nothing here is a test and nothing asserts a time (see bench/README.md).
#include <palitra/palitra.h>

#include <QCoreApplication>
#include <QEventLoop>
#include <QMetaObject>
#include <QThread>
#include <QtConcurrent/QtConcurrentRun>

#include <QCoro/QCoroTask>
#include <QCoro/QCoroTimer>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <latch>
#include <malloc.h>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <time.h>
#include <vector>

using namespace std::chrono_literals;

// ------------------------------------------------------------------------------------------------
// Allocation counting. The replacement operator new is process-wide (Qt, QCoro and libpalitra
// allocate through it too) and counts only while a measurement asks it to, so that the timed rows
// pay one predictable relaxed load. malloc() calls made directly (QArrayData, glib) are not
// counted; the heap figures below use mallinfo2(), which sees every arena, instead.
namespace {
std::atomic<bool> countingAllocations{false};
std::atomic<std::uint64_t> allocationCount{0};
} // namespace

void *operator new(std::size_t size) {
    if (countingAllocations.load(std::memory_order_relaxed))
        allocationCount.fetch_add(1, std::memory_order_relaxed);
    if (void *p = std::malloc(size ? size : 1))
        return p;
    throw std::bad_alloc();
}
void operator delete(void *p) noexcept {
    std::free(p);
}
void operator delete(void *p, std::size_t) noexcept {
    std::free(p);
}

namespace {

// ------------------------------------------------------------------------------------------------
// Measurement helpers

//! Bytes the heap has handed out, over all arenas, mmapped chunks included.
std::size_t heapInUse() {
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

//! Resident set size from /proc/self/status, in KiB.
long vmRssKiB() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            long kib = 0;
            status >> kib;
            return kib;
        }
        status.ignore(1 << 12, '\n');
    }
    return -1;
}

double minOf(const std::vector<double> &v) {
    return *std::min_element(v.begin(), v.end());
}
double maxOf(const std::vector<double> &v) {
    return *std::max_element(v.begin(), v.end());
}

//! The spread every timed row reports next to the default mean/median/stddev/cv.
benchmark::internal::Benchmark *withSpread(benchmark::internal::Benchmark *b) {
    return b->ComputeStatistics("min", &minOf)->ComputeStatistics("max", &maxOf);
}

// ------------------------------------------------------------------------------------------------
// The coroutines every Qt row runs

QCoro::Task<int> trivialTask() {
    co_return 42;
}

QCoro::Task<int> timerTask() {
    co_await QCoro::sleepFor(0ms);
    co_return 42;
}

QCoro::Task<int> palitraSleepTask() {
    co_await palitra::sleepFor(0ms, palitra::currentStopToken());
    co_return 42;
}

enum class Kind { Trivial, Timer0 };

QCoro::Task<int> makeTask(Kind kind) {
    return kind == Kind::Trivial ? trivialTask() : timerTask();
}

//! A coroutine nobody awaits, freeing itself at the end: drives a Task from plain code.
struct Detached {
    struct promise_type {
        Detached get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

// ------------------------------------------------------------------------------------------------
// floor: a persistent std::thread answering through std::mutex + std::condition_variable. The
// answer is a plain int: this is the cost of the two thread hand-offs and nothing else.
class CondvarFloor {
public:
    CondvarFloor() : m_thread([this] { serve(); }) {}
    ~CondvarFloor() {
        {
            const std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_request.notify_one();
        m_thread.join();
    }

    int call() {
        std::unique_lock lock(m_mutex);
        const std::uint64_t mine = ++m_asked;
        lock.unlock();
        m_request.notify_one();
        lock.lock();
        m_response.wait(lock, [&] { return m_answered >= mine; });
        return m_value;
    }

private:
    void serve() {
        std::unique_lock lock(m_mutex);
        std::uint64_t seen = 0;
        for (;;) {
            m_request.wait(lock, [&] { return m_stop || m_asked != seen; });
            if (m_stop)
                return;
            seen = m_asked; // answers every request made so far at once
            m_value = 42;
            m_answered = seen;
            lock.unlock();
            // All: in the contention rows several callers wait; with one it costs the same.
            m_response.notify_all();
            lock.lock();
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_request;
    std::condition_variable m_response;
    std::uint64_t m_asked = 0;
    std::uint64_t m_answered = 0;
    int m_value = 0;
    bool m_stop = false;
    std::thread m_thread;
};

// floor, C++20 std::atomic wait/notify variant (libstdc++ 12 spins briefly before the futex).
class AtomicFloor {
public:
    AtomicFloor() : m_thread([this] { serve(); }) {}
    ~AtomicFloor() {
        m_stop.store(true, std::memory_order_release);
        m_asked.fetch_add(1, std::memory_order_release);
        m_asked.notify_one();
        m_thread.join();
    }

    int call() {
        const std::uint32_t mine = m_asked.fetch_add(1, std::memory_order_acq_rel) + 1;
        m_asked.notify_one();
        for (std::uint32_t now = m_answered.load(std::memory_order_acquire); now != mine;
             now = m_answered.load(std::memory_order_acquire))
            m_answered.wait(now, std::memory_order_acquire);
        return m_value;
    }

private:
    void serve() {
        std::uint32_t seen = 0;
        for (;;) {
            m_asked.wait(seen, std::memory_order_acquire);
            if (m_stop.load(std::memory_order_acquire))
                return;
            seen = m_asked.load(std::memory_order_acquire);
            m_value = 42;
            m_answered.store(seen, std::memory_order_release);
            m_answered.notify_one();
        }
    }

    std::atomic<std::uint32_t> m_asked{0};
    std::atomic<std::uint32_t> m_answered{0};
    std::atomic<bool> m_stop{false};
    int m_value = 0;
    std::thread m_thread;
};

// ------------------------------------------------------------------------------------------------
// Boost.Asio: co_spawn(ctx, coroutine, use_future).get() on a persistent io_context thread.
namespace asio = boost::asio;

class AsioThread {
public:
    AsioThread()
        : m_work(asio::make_work_guard(m_context)), m_thread([this] { m_context.run(); }) {}
    ~AsioThread() {
        m_work.reset();
        m_thread.join();
    }
    asio::io_context &context() { return m_context; }

private:
    asio::io_context m_context{1}; // one thread runs it; posting from others stays safe
    asio::executor_work_guard<asio::io_context::executor_type> m_work;
    std::thread m_thread;
};

asio::awaitable<int> asioTrivial() {
    co_return 42;
}

asio::awaitable<int> asioTimer0() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(0ms);
    co_await timer.async_wait(asio::use_awaitable);
    co_return 42;
}

int asioCall(asio::io_context &context, Kind kind) {
    if (kind == Kind::Trivial)
        return asio::co_spawn(context, asioTrivial, asio::use_future).get();
    return asio::co_spawn(context, asioTimer0, asio::use_future).get();
}

// ------------------------------------------------------------------------------------------------
// thread-per-call: a new QThread running a new QEventLoop for each call (asyncio.run() per call).
Detached driveAndQuit(Kind kind, int &result, QEventLoop &loop) {
    result = co_await makeTask(kind);
    loop.quit();
}

int threadPerCall(Kind kind) {
    int result = 0;
    std::unique_ptr<QThread> thread(QThread::create([kind, &result] {
        QEventLoop loop;
        // Posted, so that a coroutine that finishes at once still quits a running loop.
        QMetaObject::invokeMethod(
            &loop, [&] { driveAndQuit(kind, result, loop); }, Qt::QueuedConnection);
        loop.exec();
    }));
    thread->start();
    thread->wait();
    return result;
}

// ------------------------------------------------------------------------------------------------
// The runners: default options (the adaptive spin on), the same with the spin turned off, and
// the default with the stall watchdog on, at a threshold no step reaches, so that its rows show
// what watching costs, not what warning costs.
palitra::RunnerOptions benchOptions(QString name, bool spin, bool stallWarning = false) {
    palitra::RunnerOptions options;
    options.threadName = std::move(name);
    if (!spin)
        options.spinBeforeBlocking = std::chrono::nanoseconds::zero();
    if (stallWarning)
        options.stallWarning = 1s;
    return options;
}

// ------------------------------------------------------------------------------------------------
// Shared state, created in main() after the QCoreApplication and torn down before it.
struct Fixtures {
    CondvarFloor condvarFloor;
    AtomicFloor atomicFloor;
    AsioThread asio;
    palitra::EventLoopThreadRunner runner{benchOptions(QStringLiteral("palitra-bench"), true)};
    palitra::EventLoopThreadRunner noSpinRunner{
        benchOptions(QStringLiteral("palitra-bench-nospin"), false)};
    palitra::EventLoopThreadRunner watchedRunner{
        benchOptions(QStringLiteral("palitra-bench-watched"), true, true)};
};
Fixtures *fixtures = nullptr;

palitra::EventLoopThreadRunner &runner() {
    return fixtures->runner;
}

// ------------------------------------------------------------------------------------------------
// Round trips

void floorCondvar(benchmark::State &state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(fixtures->condvarFloor.call());
}

void floorAtomic(benchmark::State &state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(fixtures->atomicFloor.call());
}

void palitraRunner(benchmark::State &state, Kind kind) {
    for (auto _ : state)
        benchmark::DoNotOptimize(runner().run([kind] { return makeTask(kind); }));
}

// submit() + QFuture::result(): the non-blocking form, waited for at once, to show what the
// QFuture machinery adds to the same round trip.
void palitraSubmit(benchmark::State &state, Kind kind) {
    for (auto _ : state)
        benchmark::DoNotOptimize(runner().submit([kind] { return makeTask(kind); }).result());
}

void palitraRunnerNoSpin(benchmark::State &state, Kind kind) {
    for (auto _ : state)
        benchmark::DoNotOptimize(fixtures->noSpinRunner.run([kind] { return makeTask(kind); }));
}

// The caller's CPU time per call for calls that take 1 ms (a palitra::sleepFor each): what the
// adaptive spin costs where it cannot pay off, next to never spinning.
double threadCpuSeconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

void slowCallCpu(benchmark::State &state, bool spin) {
    auto &target = spin ? runner() : fixtures->noSpinRunner;
    const auto sleeper = []() -> QCoro::Task<int> {
        co_await palitra::sleepFor(1ms, palitra::currentStopToken());
        co_return 42;
    };
    const double start = threadCpuSeconds();
    for (auto _ : state)
        benchmark::DoNotOptimize(target.run(sleeper));
    state.counters["caller_cpu_us"] =
        (threadCpuSeconds() - start) * 1e6 /
        static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
}

// The same round trip on a runner with RunnerOptions::stallWarning on (1 s, never reached): its
// blocked caller registers with the watchdog, each call start is labelled. palitra_runner is the
// same with it off; RunnerStats is counted in both.
void palitraRunnerWatched(benchmark::State &state, Kind kind) {
    for (auto _ : state)
        benchmark::DoNotOptimize(fixtures->watchedRunner.run([kind] { return makeTask(kind); }));
}

// What the loop-step clock behind RunnerStats::longestStall adds per step: two steady_clock
// reads (a trivial round trip is one step, or two with a timer).
void loopStepClock(benchmark::State &state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(std::chrono::steady_clock::now());
        benchmark::DoNotOptimize(std::chrono::steady_clock::now());
    }
}

void palitraRunnerOwnSleep(benchmark::State &state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(runner().run([] { return palitraSleepTask(); }));
}

void palitraGlobal(benchmark::State &state, Kind kind) {
    for (auto _ : state)
        benchmark::DoNotOptimize(palitra::run([kind] { return makeTask(kind); }));
}

void threadPerCallRow(benchmark::State &state, Kind kind) {
    for (auto _ : state)
        benchmark::DoNotOptimize(threadPerCall(kind));
}

void qcoroWaitFor(benchmark::State &state, Kind kind) {
    // Runs on the caller's thread: for timer0 it spins a nested QEventLoop there, which is
    // exactly the re-entrancy palitra exists to avoid. Never a throwing coroutine: 0.8 hangs.
    for (auto _ : state)
        benchmark::DoNotOptimize(QCoro::waitFor(makeTask(kind)));
}

void qtConcurrent(benchmark::State &state, Kind kind) {
    // A pool thread has no running loop, so the coroutine is driven there with waitFor (a
    // trivial one never spins it). QFuture::result() runs a task that no pool thread has
    // picked up yet in the caller itself.
    for (auto _ : state)
        benchmark::DoNotOptimize(
            QtConcurrent::run([kind] { return QCoro::waitFor(makeTask(kind)); }).result());
}

void asioCoSpawn(benchmark::State &state, Kind kind) {
    for (auto _ : state)
        benchmark::DoNotOptimize(asioCall(fixtures->asio.context(), kind));
}

// ------------------------------------------------------------------------------------------------
// gather

auto trivialCallable = [] { return trivialTask(); };

void palitraGather(benchmark::State &state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::vector<std::decay_t<decltype(trivialCallable)>> callables(n, trivialCallable);
    for (auto _ : state) {
        auto values = runner().gather(callables);
        benchmark::DoNotOptimize(values.data());
    }
    state.counters["per_element"] =
        benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                       benchmark::Counter::kInvert);
}

void palitraTimers1000x10ms(benchmark::State &state, bool qcoroTimer) {
    const auto sleepPalitra = []() -> QCoro::Task<void> {
        co_await palitra::sleepFor(10ms, palitra::currentStopToken());
    };
    const auto sleepQCoro = []() -> QCoro::Task<void> { co_await QCoro::sleepFor(10ms); };
    if (qcoroTimer) {
        const std::vector<std::decay_t<decltype(sleepQCoro)>> callables(1000, sleepQCoro);
        for (auto _ : state)
            benchmark::DoNotOptimize(runner().gather(callables).size());
    } else {
        const std::vector<std::decay_t<decltype(sleepPalitra)>> callables(1000, sleepPalitra);
        for (auto _ : state)
            benchmark::DoNotOptimize(runner().gather(callables).size());
    }
}

// ------------------------------------------------------------------------------------------------
// Contention: several caller threads on one runner; items_per_second is the aggregate rate.

void palitraContention(benchmark::State &state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(runner().run(trivialCallable));
    state.SetItemsProcessed(state.iterations());
}

void palitraNoSpinContention(benchmark::State &state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(fixtures->noSpinRunner.run(trivialCallable));
    state.SetItemsProcessed(state.iterations());
}

void asioContention(benchmark::State &state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(asioCall(fixtures->asio.context(), Kind::Trivial));
    state.SetItemsProcessed(state.iterations());
}

void floorContention(benchmark::State &state) {
    // The condvar floor serves one request at a time, so concurrent callers serialise on it.
    for (auto _ : state)
        benchmark::DoNotOptimize(fixtures->condvarFloor.call());
    state.SetItemsProcessed(state.iterations());
}

// ------------------------------------------------------------------------------------------------
// Memory (each one iteration, one repetition: these are measurements, not timings)

void memoryGatherInFlight(benchmark::State &state) {
    constexpr std::size_t calls = 10000;
    const auto sleeper = []() -> QCoro::Task<void> {
        co_await palitra::sleepFor(3s, palitra::currentStopToken());
    };
    const std::vector<std::decay_t<decltype(sleeper)>> callables(calls, sleeper);
    // Warm the runner's one-off allocations (timer lists, queue storage) with the same shape.
    {
        const auto quick = []() -> QCoro::Task<void> {
            co_await palitra::sleepFor(1ms, palitra::currentStopToken());
        };
        runner().gather(std::vector<std::decay_t<decltype(quick)>>(calls, quick));
    }
    for (auto _ : state) {
        std::size_t before = 0;
        std::size_t during = 0;
        std::latch baselineTaken(1);
        std::thread probe([&] {
            before = heapInUse();
            baselineTaken.count_down();
            std::this_thread::sleep_for(1500ms); // all 10,000 started long before
            during = heapInUse();
        });
        baselineTaken.wait();
        benchmark::DoNotOptimize(runner().gather(callables).size());
        probe.join();
        state.counters["bytes_per_call"] =
            static_cast<double>(during - before) / static_cast<double>(calls);
    }
}

void memoryRunInFlight(benchmark::State &state) {
    // Separate run() calls (one CallBase each), one blocked caller thread per call. Each thread
    // makes one call before the baseline, so its stack, TLS and malloc's per-thread cache (about
    // 600 bytes of heap per thread with glibc 2.36) are not counted as the call's.
    constexpr int calls = 200;
    const auto sleeper = []() -> QCoro::Task<void> {
        co_await palitra::sleepFor(3s, palitra::currentStopToken());
    };
    for (auto _ : state) {
        std::latch go(1);
        std::latch parked(calls);
        std::vector<std::thread> callers;
        callers.reserve(calls);
        for (int i = 0; i < calls; ++i) {
            callers.emplace_back([&] {
                runner().run(trivialCallable);
                parked.count_down();
                go.wait();
                runner().run(sleeper);
            });
        }
        parked.wait();
        std::this_thread::sleep_for(100ms);
        const std::size_t before = heapInUse();
        go.count_down();
        std::this_thread::sleep_for(1500ms);
        const std::size_t during = heapInUse();
        for (auto &t : callers)
            t.join();
        state.counters["bytes_per_call"] =
            static_cast<double>(during - before) / static_cast<double>(calls);
    }
}

void rssOverMillionRuns(benchmark::State &state) {
    constexpr int calls = 1'000'000;
    for (int i = 0; i < 10000; ++i) // warm-up: queue storage, allocator free lists
        runner().run(trivialCallable);
    for (auto _ : state) {
        const long rssBefore = vmRssKiB();
        const std::size_t heapBefore = heapInUse();
        for (int i = 0; i < calls; ++i)
            benchmark::DoNotOptimize(runner().run(trivialCallable));
        state.counters["rss_growth_KiB"] = static_cast<double>(vmRssKiB() - rssBefore);
        state.counters["heap_growth_B"] =
            static_cast<double>(heapInUse()) - static_cast<double>(heapBefore);
    }
}

template<typename Call>
void countAllocations(benchmark::State &state, Call call) {
    constexpr int calls = 10000;
    for (int i = 0; i < 1000; ++i)
        call();
    for (auto _ : state) {
        allocationCount.store(0);
        countingAllocations.store(true);
        for (int i = 0; i < calls; ++i)
            benchmark::DoNotOptimize(call());
        countingAllocations.store(false);
        state.counters["new_per_call"] =
            static_cast<double>(allocationCount.load()) / static_cast<double>(calls);
    }
}

void registerAll() {
    using benchmark::RegisterBenchmark;
    const auto timed = [](benchmark::internal::Benchmark *b) {
        withSpread(b)->Unit(benchmark::kMicrosecond)->UseRealTime();
    };
    for (const auto &[kindName, kind] :
         {std::pair{"trivial", Kind::Trivial}, std::pair{"timer0", Kind::Timer0}}) {
        const std::string p = std::string("roundtrip/") + kindName + "/";
        if (kind == Kind::Trivial) {
            timed(RegisterBenchmark((p + "floor_condvar").c_str(), floorCondvar));
            timed(RegisterBenchmark((p + "floor_atomic").c_str(), floorAtomic));
        }
        timed(RegisterBenchmark((p + "palitra_runner").c_str(), palitraRunner, kind));
        timed(RegisterBenchmark((p + "palitra_submit").c_str(), palitraSubmit, kind));
        timed(RegisterBenchmark((p + "palitra_runner_nospin").c_str(), palitraRunnerNoSpin, kind));
        timed(RegisterBenchmark((p + "palitra_runner_stallWarning_on").c_str(),
                                palitraRunnerWatched, kind));
        if (kind == Kind::Timer0)
            timed(RegisterBenchmark((p + "palitra_runner_palitra_sleepFor").c_str(),
                                    palitraRunnerOwnSleep));
        timed(RegisterBenchmark((p + "palitra_global").c_str(), palitraGlobal, kind));
        timed(RegisterBenchmark((p + "asio_co_spawn").c_str(), asioCoSpawn, kind));
        timed(RegisterBenchmark((p + "thread_per_call").c_str(), threadPerCallRow, kind));
        timed(RegisterBenchmark((p + "qcoro_waitFor").c_str(), qcoroWaitFor, kind));
        timed(RegisterBenchmark((p + "qtconcurrent_result").c_str(), qtConcurrent, kind));
    }

    withSpread(RegisterBenchmark("loopstep/clock_pair", loopStepClock))
        ->Unit(benchmark::kNanosecond);

    timed(RegisterBenchmark("gather/palitra", palitraGather)
              ->Arg(1)
              ->Arg(10)
              ->Arg(100)
              ->Arg(1000)
              ->Arg(10000));
    withSpread(
        RegisterBenchmark("timers/1000x10ms/palitra_sleepFor", palitraTimers1000x10ms, false))
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    withSpread(RegisterBenchmark("timers/1000x10ms/qcoro_sleepFor", palitraTimers1000x10ms, true))
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();

    std::vector<benchmark::internal::Benchmark *> contention{
        RegisterBenchmark("contention/palitra_runner", palitraContention),
        RegisterBenchmark("contention/asio_co_spawn", asioContention),
        RegisterBenchmark("contention/floor_condvar", floorContention),
        RegisterBenchmark("contention/palitra_runner_nospin", palitraNoSpinContention)};
    for (auto *b : contention)
        withSpread(b)
            ->Threads(1)
            ->Threads(2)
            ->Threads(4)
            ->Threads(8)
            ->Threads(16)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);

    for (const auto &[name, spin] :
         {std::pair{"palitra_adaptive", true}, {"palitra_nospin", false}})
        withSpread(
            RegisterBenchmark((std::string("slowcall/1ms/") + name).c_str(), slowCallCpu, spin))
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);

    const auto once = [](benchmark::internal::Benchmark *b) {
        b->Iterations(1)->Repetitions(1)->UseRealTime()->Unit(benchmark::kMillisecond);
    };
    once(RegisterBenchmark("memory/in_flight_gather_10000x3s", memoryGatherInFlight));
    once(RegisterBenchmark("memory/in_flight_run_200_threads_x3s", memoryRunInFlight));
    once(RegisterBenchmark("memory/rss_over_1e6_runs", rssOverMillionRuns));
    once(RegisterBenchmark(
        "allocs/palitra_runner", countAllocations<int (*)()>,
        +[] { return runner().run(trivialCallable); }));
    once(RegisterBenchmark(
        "allocs/asio_co_spawn", countAllocations<int (*)()>,
        +[] { return asioCall(fixtures->asio.context(), Kind::Trivial); }));
    once(RegisterBenchmark(
        "allocs/floor_condvar", countAllocations<int (*)()>,
        +[] { return fixtures->condvarFloor.call(); }));
}

} // namespace

int main(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    // An application, as in a real Qt program: thread-per-call's plain QThread and the
    // QtConcurrent pool need one to deliver events, and waitFor runs in it.
    QCoreApplication app(argc, argv);
    {
        Fixtures shared;
        fixtures = &shared;
        // Start every persistent thread before the first timing.
        runner().run(trivialCallable);
        shared.noSpinRunner.run(trivialCallable);
        shared.watchedRunner.run(trivialCallable);
        palitra::run(trivialCallable);
        asioCall(shared.asio.context(), Kind::Trivial);
        shared.condvarFloor.call();
        shared.atomicFloor.call();

        registerAll();
        benchmark::RunSpecifiedBenchmarks();
        benchmark::Shutdown();
        fixtures = nullptr;
    }
    palitra::shutdownGlobalRunner();
    return 0;
}
