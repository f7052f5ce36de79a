// SPDX-License-Identifier: MIT
// The program valgrind memcheck runs (docs/RELIABILITY.md#valgrind): mixed calls on an explicit
// runner and on the global one, then a clean shutdown. Every coroutine here ends when asked to
// stop, so once both runners are closed nothing of palitra's may remain: memcheck must report 0
// bytes "definitely lost" and 0 "indirectly lost" (Qt's own "possibly lost"/"still reachable" are
// not ours). See docs/RELIABILITY.md for the command and the latest figures.
//
//   valgrind_mixed [calls = 100000] [caller threads = 2]
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QList>

#include <QCoro/QCoroTask>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct MixedError {
    int code;
};

std::atomic<long> values{0}, errors{0}, timeouts{0}, unexpected{0};

QCoro::Task<int> trivial(int v) {
    co_return v;
}

QCoro::Task<int> timer(int v) {
    co_await palitra::sleepFor(1ms, palitra::currentStopToken());
    co_return v;
}

QCoro::Task<int> throwing(int v) {
    if (v >= 0)
        throw MixedError{v};
    co_return v;
}

QCoro::Task<int> throwingLate(int v) {
    co_await palitra::sleepFor(1ms, palitra::currentStopToken());
    throw std::runtime_error("late " + std::to_string(v));
}

// Sleeps far past its caller's 1 ms timeout; wakes when asked to stop.
QCoro::Task<int> outlivesTimeout(int v) {
    co_await palitra::sleepFor(10s, palitra::currentStopToken());
    co_return v;
}

using Call = std::function<QCoro::Task<int>()>;

// One call of the mix, chosen by \a r: 45% trivial run, 10% timer run, 10% run that throws at
// once, 5% after a suspension, 5% run whose 1 ms timeout passes, 10% gather(range) of 1-10,
// 5% gatherOutcomes of 1-8 with one failure, 5% gather(a, b, c) that throws, 5% gather whose
// timeout passes.
template<typename Target>
void oneCall(Target &target, unsigned r, int i) {
    const unsigned pick = r % 20;
    try {
        if (pick < 9) {
            if (target.run([i] { return trivial(i); }) != i)
                ++unexpected;
            ++values;
        } else if (pick < 11) {
            target.run([i] { return timer(i); });
            ++values;
        } else if (pick < 13) {
            target.run([i] { return throwing(i); });
            ++unexpected;
        } else if (pick < 14) {
            target.run([i] { return throwingLate(i); });
            ++unexpected;
        } else if (pick < 15) {
            target.run([i] { return outlivesTimeout(i); }, 1ms);
            ++unexpected;
        } else if (pick < 17) {
            std::vector<Call> calls;
            for (unsigned k = 0; k < 1 + r % 10; ++k)
                calls.emplace_back([i, k] { return k % 3 ? trivial(i) : timer(i); });
            const QList<int> got = target.gather(calls);
            if (got.size() != qsizetype(calls.size()))
                ++unexpected;
            ++values;
        } else if (pick < 18) {
            std::vector<Call> calls;
            for (unsigned k = 0; k < 1 + r % 8; ++k)
                calls.emplace_back([i, k] { return k == 1 ? throwing(i) : timer(i); });
            const auto got = target.gatherOutcomes(std::move(calls));
            Q_UNUSED(got);
            ++values;
        } else if (pick < 19) {
            target.gather([i] { return trivial(i); }, [i] { return throwing(i); },
                          [i] { return timer(i); });
            ++unexpected;
        } else {
            target.gather([i] { return timer(i); }, [i] { return outlivesTimeout(i); }, 1ms);
            ++unexpected;
        }
    } catch (const MixedError &) {
        ++errors;
    } catch (const palitra::TimeoutError &) {
        ++timeouts;
    } catch (const std::runtime_error &) {
        ++errors;
    } catch (...) {
        ++unexpected;
    }
}

} // namespace

int main(int argc, char **argv) {
    const long calls = argc > 1 ? std::atol(argv[1]) : 100'000;
    const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
    if (calls <= 0 || threads <= 0) {
        std::fputs("usage: valgrind_mixed [calls] [caller threads]\n", stderr);
        return 2;
    }

    palitra::RunnerOptions options;
    options.threadName = QStringLiteral("valgrind-explicit");
    palitra::EventLoopThreadRunner runner(options);
    {
        std::vector<std::thread> callers;
        for (int t = 0; t < threads; ++t) {
            callers.emplace_back([&, t] {
                palitra::test::GlobalApi global;
                unsigned state = 2463534242u + unsigned(t); // xorshift: a fixed, cheap mix
                for (long i = t; i < calls; i += threads) {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    if (i % 2)
                        oneCall(runner, state, int(i));
                    else
                        oneCall(global, state, int(i));
                }
            });
        }
        for (std::thread &t : callers)
            t.join();
    }
    runner.close();
    palitra::shutdownGlobalRunner();

    std::printf("valgrind_mixed: %ld calls on %d threads: %ld value, %ld exception, %ld timeout, "
                "%ld unexpected\n",
                calls, threads, values.load(), errors.load(), timeouts.load(), unexpected.load());
    return unexpected.load() == 0 && values + errors + timeouts == calls ? 0 : 1;
}
