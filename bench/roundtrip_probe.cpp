// SPDX-License-Identifier: MIT
//
// A fixed number of round trips of one row, for tools that are not timers: callgrind instruction
// counts (run with two counts and take the difference, so that start-up cancels out), strace -c
// syscall counts and context switches. Not a benchmark table row and not a test.
//
//     roundtrip_probe <palitra|asio|floor> <calls>
//     roundtrip_probe gather1000 <gathers>      (1000 trivial coroutines per gather)
//     roundtrip_probe timers1000 <gathers>      (1000 coroutines awaiting palitra::sleepFor(1ms))
//     roundtrip_probe contention<T> <calls>     (T caller threads on one runner, <calls> each;
//                                                prints the aggregate rate and CPU time too)
//     roundtrip_probe floorcontention<T> <calls> (the same through the mutex+condvar floor)
#include <palitra/palitra.h>

#include <palitra/detail/spin_stats.h>

#include <QCoro/QCoroTask>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace {

QCoro::Task<int> trivialTask() {
    co_return 42;
}

boost::asio::awaitable<int> asioTrivial() {
    co_return 42;
}

struct Floor {
    std::mutex mutex;
    std::condition_variable request, response;
    unsigned long asked = 0, answered = 0;
    bool stop = false;
    std::thread thread{[this] {
        std::unique_lock lock(mutex);
        unsigned long seen = 0;
        for (;;) {
            request.wait(lock, [&] { return stop || asked != seen; });
            if (stop)
                return;
            answered = seen = asked;
            lock.unlock();
            // All: in the contention mode several callers wait; with one it costs the same.
            response.notify_all();
            lock.lock();
        }
    }};
    ~Floor() {
        {
            const std::lock_guard lock(mutex);
            stop = true;
        }
        request.notify_one();
        thread.join();
    }
    int call() {
        std::unique_lock lock(mutex);
        const unsigned long mine = ++asked;
        lock.unlock();
        request.notify_one();
        lock.lock();
        response.wait(lock, [&] { return answered >= mine; });
        return 42;
    }
};

long contextSwitches() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_nvcsw + usage.ru_nivcsw;
}

//! The process's user and system CPU time so far, in microseconds.
std::pair<double, double> cpuTimes() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto us = [](const timeval &t) {
        return t.tv_sec * 1e6 + static_cast<double>(t.tv_usec);
    };
    return {us(usage.ru_utime), us(usage.ru_stime)};
}

//! \a threads callers making \a calls round trips each through \a call; prints the aggregate
//! rate and the CPU time per call, and returns the checksum.
template<typename Call>
long contend(const char *row, int threads, long calls, long &switches, Call call) {
    std::vector<std::thread> callers;
    std::atomic<long> total{0};
    switches = contextSwitches();
    const auto [user, system] = cpuTimes();
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
        callers.emplace_back([&] {
            long mine = 0;
            for (long i = 0; i < calls; ++i)
                mine += call();
            total += mine;
        });
    }
    for (auto &caller : callers)
        caller.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    switches = contextSwitches() - switches;
    const auto [userAfter, systemAfter] = cpuTimes();
    const double all = static_cast<double>(calls) * threads;
    std::printf("%s, %d threads: %.0f calls/s; per call %.2f us user, %.2f us system\n", row,
                threads, all / seconds, (userAfter - user) / all, (systemAfter - system) / all);
    return total;
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <palitra|asio|floor> <calls>\n", argv[0]);
        return 2;
    }
    long calls = std::atol(argv[2]);
    long sum = 0;
    long switches = 0;
    if (std::strcmp(argv[1], "slow1ms") == 0 || std::strcmp(argv[1], "slow1ms_nospin") == 0) {
        palitra::RunnerOptions options;
        if (argv[1][7] == '_')
            options.spinBeforeBlocking = std::chrono::nanoseconds::zero();
        palitra::EventLoopThreadRunner runner(options);
        const auto sleeper = []() -> QCoro::Task<int> {
            co_await palitra::sleepFor(std::chrono::milliseconds(1), palitra::currentStopToken());
            co_return 42;
        };
        runner.run(sleeper);
        timespec before{}, after{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &before);
        for (long i = 0; i < calls; ++i)
            sum += runner.run(sleeper);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &after);
        const auto spin = palitra::detail::spinStats(runner);
        std::printf("%s: caller CPU %.2f us per call; spun %llu (caught %llu), blocked at once "
                    "%llu (cold) + %llu (loop busy)\n",
                    argv[1],
                    ((after.tv_sec - before.tv_sec) * 1e9 + (after.tv_nsec - before.tv_nsec)) /
                        1e3 / static_cast<double>(calls),
                    static_cast<unsigned long long>(spin.spins),
                    static_cast<unsigned long long>(spin.caught),
                    static_cast<unsigned long long>(spin.blockedCold),
                    static_cast<unsigned long long>(spin.blockedBusy));
    } else if (std::strncmp(argv[1], "contention", 10) == 0) {
        const int threads = std::max(1, std::atoi(argv[1] + 10));
        palitra::EventLoopThreadRunner runner;
        runner.run([] { return trivialTask(); });
        sum = contend("palitra", threads, calls, switches,
                      [&] { return runner.run([] { return trivialTask(); }); });
        const auto spin = palitra::detail::spinStats(runner);
        std::printf("spun %llu (caught %llu), blocked at once %llu (cold) + %llu (loop busy) + "
                    "%llu (others spinning)\n",
                    static_cast<unsigned long long>(spin.spins),
                    static_cast<unsigned long long>(spin.caught),
                    static_cast<unsigned long long>(spin.blockedCold),
                    static_cast<unsigned long long>(spin.blockedBusy),
                    static_cast<unsigned long long>(spin.blockedCrowded));
        calls *= threads;
    } else if (std::strncmp(argv[1], "floorcontention", 15) == 0) {
        const int threads = std::max(1, std::atoi(argv[1] + 15));
        Floor floor;
        floor.call();
        sum = contend("floor", threads, calls, switches, [&] { return floor.call(); });
        calls *= threads;
    } else if (std::strcmp(argv[1], "gather1000") == 0 || std::strcmp(argv[1], "timers1000") == 0) {
        palitra::EventLoopThreadRunner runner;
        const auto trivial = [] { return trivialTask(); };
        const auto sleeper = []() -> QCoro::Task<int> {
            co_await palitra::sleepFor(std::chrono::milliseconds(1), palitra::currentStopToken());
            co_return 42;
        };
        const std::vector<std::decay_t<decltype(trivial)>> trivials(1000, trivial);
        const std::vector<std::decay_t<decltype(sleeper)>> sleepers(1000, sleeper);
        const bool timers = argv[1][0] == 't';
        const auto once = [&] {
            return timers ? runner.gather(sleepers).size() : runner.gather(trivials).size();
        };
        once();
        switches = contextSwitches();
        for (long i = 0; i < calls; ++i)
            sum += static_cast<long>(once());
        switches = contextSwitches() - switches;
    } else if (std::strcmp(argv[1], "palitra") == 0) {
        palitra::EventLoopThreadRunner runner;
        runner.run([] { return trivialTask(); });
        switches = contextSwitches();
        for (long i = 0; i < calls; ++i)
            sum += runner.run([] { return trivialTask(); });
        switches = contextSwitches() - switches;
    } else if (std::strcmp(argv[1], "asio") == 0) {
        boost::asio::io_context context{1};
        auto work = boost::asio::make_work_guard(context);
        std::thread thread([&] { context.run(); });
        boost::asio::co_spawn(context, asioTrivial, boost::asio::use_future).get();
        switches = contextSwitches();
        for (long i = 0; i < calls; ++i)
            sum += boost::asio::co_spawn(context, asioTrivial, boost::asio::use_future).get();
        switches = contextSwitches() - switches;
        work.reset();
        thread.join();
    } else {
        Floor floor;
        floor.call();
        switches = contextSwitches();
        for (long i = 0; i < calls; ++i)
            sum += floor.call();
        switches = contextSwitches() - switches;
    }
    std::printf("%s: %ld calls, %.2f context switches per call (checksum %ld)\n", argv[1], calls,
                calls ? static_cast<double>(switches) / static_cast<double>(calls) : 0.0, sum);
    return 0;
}
