// SPDX-License-Identifier: MIT
//
// Race stress (docs/SEMANTICS.md#threads, #close, #global-runner): N caller threads run a seeded
// random mix of run, gather, gatherOutcomes, timeouts, stop-ignoring coroutines, close() of shared
// runners and their replacement, shutdownGlobalRunner() racing global calls, and destruction of a
// runner while another thread is blocked on it. Every call's outcome is counted by kind; the counts
// must balance, no outcome may be one its operation cannot produce, no capture may outlive its
// coroutine, and a watchdog aborts with the seed printed on any hang. How long each call took,
// beyond its own bound (its timeout or its coroutine's duration), is reported, never judged.
//
// Environment: PALITRA_STRESS_SECONDS (wall time of the mix), PALITRA_STRESS_OPS (operations per
// thread; alone it lifts the time limit), PALITRA_STRESS_SEED, PALITRA_STRESS_THREADS, and
// PALITRA_STRESS_ONE_CPU=1 (the whole process on one CPU: every caller then shares its loop
// thread's, and the drains hold their wake-ups).
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QCoro/QCoroTask>
#include <QTest>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#ifndef PALITRA_STRESS_DEFAULT_SECONDS
#define PALITRA_STRESS_DEFAULT_SECONDS 20
#endif

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::test::Clock;
using palitra::test::Counted;
using palitra::test::NotAStdException;
using palitra::test::Watchdog;
using palitra::test::Watched;

namespace {

// ---- the operations of the mix --------------------------------------------------------------

#define PALITRA_STRESS_OPS_LIST(X)                                                                 \
    X(RunTrivial, 14)                                                                              \
    X(RunTimer, 12)                                                                                \
    X(RunThrow, 10)                                                                                \
    X(RunTimeout, 8)                                                                               \
    X(RunIgnoreStop, 5)                                                                            \
    X(RunDeadlock, 3)                                                                              \
    X(Gather, 8)                                                                                   \
    X(GatherOutcomes, 8)                                                                           \
    X(GatherTuple, 5)                                                                              \
    X(GatherTimeout, 4)                                                                            \
    X(CloseShared, 1)                                                                              \
    X(DestroyWhileBlocked, 1)                                                                      \
    X(GlobalRun, 10)                                                                               \
    X(GlobalGather, 5)                                                                             \
    X(ShutdownGlobal, 2)                                                                           \
    X(IsRunnerAlive, 3)

enum class Op {
#define X(name, weight) name,
    PALITRA_STRESS_OPS_LIST(X)
#undef X
        Count
};
constexpr std::size_t opCount = static_cast<std::size_t>(Op::Count);
constexpr std::array<const char *, opCount> opNames = {
#define X(name, weight) #name,
    PALITRA_STRESS_OPS_LIST(X)
#undef X
};
constexpr std::array<int, opCount> opWeights = {
#define X(name, weight) weight,
    PALITRA_STRESS_OPS_LIST(X)
#undef X
};

// How a call ended. Exception means "the exception the operation was built to produce".
enum Result { Value, Exception, Timeout, Closed, Unexpected, ResultCount };
constexpr std::array<const char *, ResultCount> resultNames = {"value", "exception", "timeout",
                                                               "closed", "UNEXPECTED"};
constexpr unsigned bit(Result r) {
    return 1u << r;
}

struct Tally {
    std::atomic<long> issued{0};
    std::array<std::atomic<long>, ResultCount> results{};
    std::atomic<long> maxElapsedOverBoundUs{0}; // worst lateness beyond the op's own bound
    std::atomic<long> maxElapsedUs{0};
};

void raiseTo(std::atomic<long> &target, long value) {
    long seen = target.load(std::memory_order_relaxed);
    while (value > seen && !target.compare_exchange_weak(seen, value)) {
    }
}

// ---- coroutines -----------------------------------------------------------------------------

//! Returns \a v after sleeping \a d (waking early on stop when \a honourStop).
QCoro::Task<int> sleeper(int v, std::chrono::milliseconds d, bool honourStop) {
    const std::stop_token stop = honourStop ? palitra::currentStopToken() : std::stop_token{};
    if (d > 0ms)
        co_await palitra::sleepFor(d, stop);
    co_return v;
}

//! Throws NotAStdException{v}, before its first suspension or after it.
QCoro::Task<int> thrower(int v, bool afterSuspension) {
    if (afterSuspension)
        co_await palitra::sleepFor(1ms, palitra::currentStopToken());
    throw NotAStdException{v};
}

using IntFn = std::function<QCoro::Task<int>()>;

//! One gather element: a callable with a counted capture, for a given kind.
IntFn element(int v, int kind, std::chrono::milliseconds d) {
    switch (kind) {
    case 0:
        return [t = Counted(v)]() -> QCoro::Task<int> { co_return t.value; };
    case 1:
        return [t = Counted(v), d] { return sleeper(t.value, d, true); };
    default:
        return [t = Counted(v)] { return thrower(t.value, t.value % 2 == 0); };
    }
}

// ---- the shared world -----------------------------------------------------------------------

struct Config {
    unsigned threads = 8;
    std::uint64_t seed = 0;
    Clock::duration duration{};
    long long opsPerThread = 0; // 0: time-limited only
    std::chrono::milliseconds grace{300};
};

class World {
public:
    explicit World(const Config &config) : m_config(config) {
        for (auto &slot : m_runners)
            slot = makeRunner();
    }

    std::shared_ptr<EventLoopThreadRunner> makeRunner() const {
        palitra::RunnerOptions options;
        options.threadName = QStringLiteral("stress");
        options.closeGracePeriod = m_config.grace;
        return std::make_shared<EventLoopThreadRunner>(std::move(options));
    }

    std::shared_ptr<EventLoopThreadRunner> runner(std::size_t i) {
        const std::lock_guard lock(m_mutex);
        return m_runners[i % m_runners.size()];
    }

    //! Closes runner \a i and installs a replacement (unless another thread already did), either
    //! before or after closing it.
    void closeAndReplace(std::size_t i, bool replaceFirst) {
        const auto old = runner(i);
        auto fresh = makeRunner();
        if (!replaceFirst)
            old->close();
        {
            const std::lock_guard lock(m_mutex);
            auto &slot = m_runners[i % m_runners.size()];
            if (slot == old)
                slot.swap(fresh);
        }
        old->close(); // idempotent; racing other threads' close() of the same runner
        // `fresh` (or the unused spare) is destroyed outside the lock.
    }

    void closeAll() {
        std::array<std::shared_ptr<EventLoopThreadRunner>, 2> all;
        {
            const std::lock_guard lock(m_mutex);
            all.swap(m_runners);
        }
        for (auto &r : all)
            r.reset();
    }

    const Config &config() const { return m_config; }
    Tally &tally(Op op) { return m_tally[static_cast<std::size_t>(op)]; }

    void noteUnexpected(Op op, const std::string &what) {
        const std::lock_guard lock(m_logMutex);
        if (m_unexpected.size() < 20)
            m_unexpected.push_back(std::string(opNames[static_cast<std::size_t>(op)]) + ": " +
                                   what);
    }
    std::vector<std::string> unexpected() {
        const std::lock_guard lock(m_logMutex);
        return m_unexpected;
    }

private:
    Config m_config;
    std::mutex m_mutex;
    std::array<std::shared_ptr<EventLoopThreadRunner>, 2> m_runners;
    std::array<Tally, opCount> m_tally;
    std::mutex m_logMutex;
    std::vector<std::string> m_unexpected;
};

//! Runs \a body (which returns whether the value it got is the right one), maps how it ended,
//! checks that against \a allowed, records its lateness beyond \a bound, and counts it.
template<typename Body>
void perform(World &world, Op op, unsigned allowed, Clock::duration bound, Body &&body) {
    Tally &tally = world.tally(op);
    tally.issued.fetch_add(1, std::memory_order_relaxed);
    std::string why;
    Result result = Unexpected;
    const auto begin = Clock::now();
    try {
        if (body())
            result = Value;
        else
            why = "wrong value";
    } catch (const palitra::TimeoutError &) {
        result = Timeout;
    } catch (const palitra::RunnerClosedError &) {
        result = Closed;
    } catch (const palitra::DeadlockError &) {
        result = Exception;
    } catch (const NotAStdException &) {
        result = Exception;
    } catch (const std::exception &e) {
        why = std::string("std::exception: ") + e.what();
    } catch (...) {
        why = "unknown exception";
    }
    const auto elapsed = Clock::now() - begin;
    if (result != Unexpected && !(allowed & bit(result))) {
        why = std::string("outcome ") + resultNames[result] + " not allowed";
        result = Unexpected;
    }
    const long elapsedUs =
        static_cast<long>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
    const long overUs = static_cast<long>(
        std::chrono::duration_cast<std::chrono::microseconds>(elapsed - bound).count());
    raiseTo(tally.maxElapsedUs, elapsedUs);
    raiseTo(tally.maxElapsedOverBoundUs, overUs);
    if (result == Unexpected)
        world.noteUnexpected(op, why);
    tally.results[result].fetch_add(1, std::memory_order_relaxed);
}

constexpr unsigned valueOrClosed = bit(Value) | bit(Closed);

// ---- one worker -----------------------------------------------------------------------------

class Worker {
public:
    Worker(World &world, unsigned index, Watchdog::Slot &slot)
        : m_world(world), m_slot(slot), m_rng(world.config().seed * 1000003u + index),
          m_pick(opWeights.begin(), opWeights.end()) {}

    void operator()() {
        const Config &config = m_world.config();
        const auto end = Clock::now() + config.duration;
        for (long long n = 0; config.opsPerThread == 0 || n < config.opsPerThread; ++n) {
            if (Clock::now() >= end)
                break;
            const Op op = static_cast<Op>(m_pick(m_rng));
            // Generous: the watchdog catches hangs; slowness is only reported.
            const Watched watched(m_slot, opNames[static_cast<std::size_t>(op)], 30s);
            step(op);
        }
    }

private:
    int number(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(m_rng); }
    std::chrono::milliseconds ms(int lo, int hi) {
        return std::chrono::milliseconds(number(lo, hi));
    }
    bool chance(int percent) { return number(1, 100) <= percent; }

    void step(Op op) {
        const auto shared = m_world.runner(static_cast<std::size_t>(number(0, 1)));
        EventLoopThreadRunner &r = *shared;
        const int v = number(0, 1 << 20);
        switch (op) {
        case Op::RunTrivial:
            perform(m_world, op, valueOrClosed, 0ms, [&] {
                return r.run([t = Counted(v)]() -> QCoro::Task<int> { co_return t.value; }) == v;
            });
            break;
        case Op::RunTimer: {
            const auto d = ms(0, 5);
            perform(m_world, op, valueOrClosed, d, [&] {
                return r.run([t = Counted(v), d] { return sleeper(t.value, d, true); }, 10s) == v;
            });
            break;
        }
        case Op::RunThrow:
            perform(m_world, op, bit(Exception) | bit(Closed), 1ms, [&] {
                r.run([t = Counted(v)] { return thrower(t.value, t.value % 2 == 0); });
                return false;
            });
            break;
        case Op::RunTimeout: {
            const auto timeout = ms(0, 10);
            // A late value is possible when the caller is descheduled past its deadline.
            perform(m_world, op, bit(Timeout) | valueOrClosed, timeout, [&] {
                return r.run([t = Counted(v)] { return sleeper(t.value, 10s, true); }, timeout) ==
                       v;
            });
            break;
        }
        case Op::RunIgnoreStop: {
            // Shorter than the grace period, so that close() never has to abandon it.
            const auto d = ms(10, 80);
            const auto timeout = ms(1, 10);
            perform(m_world, op, bit(Timeout) | valueOrClosed, timeout, [&] {
                return r.run([t = Counted(v), d] { return sleeper(t.value, d, false); }, timeout) ==
                       v;
            });
            break;
        }
        case Op::RunDeadlock:
            perform(m_world, op, bit(Exception) | bit(Closed), 0ms, [&] {
                EventLoopThreadRunner *self = &r;
                // run() on the runner's own loop thread: DeadlockError, thrown into the coroutine
                // and from there to us.
                r.run([self, t = Counted(v)]() -> QCoro::Task<int> {
                    co_return self->run([]() -> QCoro::Task<int> { co_return 0; });
                });
                return false;
            });
            break;
        case Op::Gather:
        case Op::GatherOutcomes:
        case Op::GatherTimeout:
            gatherRange(r, op);
            break;
        case Op::GatherTuple: {
            const bool fails = chance(30);
            perform(m_world, op, fails ? bit(Exception) | bit(Closed) : valueOrClosed, 5ms, [&] {
                auto [a, b, c] =
                    r.gather([t = Counted(1)]() -> QCoro::Task<int> { co_return t.value; },
                             [t = Counted(2)] { return sleeper(t.value, 2ms, true); },
                             [t = Counted(3), fails]() -> QCoro::Task<void> {
                                 if (fails)
                                     throw NotAStdException{3};
                                 co_return;
                             });
                (void)c;
                return a == 1 && b == 2;
            });
            break;
        }
        case Op::CloseShared:
            perform(m_world, op, bit(Value), m_world.config().grace + 1s, [&] {
                m_world.closeAndReplace(static_cast<std::size_t>(number(0, 1)), chance(50));
                return true;
            });
            break;
        case Op::DestroyWhileBlocked:
            destroyWhileBlocked();
            break;
        case Op::GlobalRun:
            perform(m_world, op, valueOrClosed, 2ms, [&] {
                if (chance(50))
                    return palitra::run(
                               [t = Counted(v)]() -> QCoro::Task<int> { co_return t.value; }) == v;
                return palitra::run([t = Counted(v)] { return sleeper(t.value, 2ms, true); },
                                    10s) == v;
            });
            break;
        case Op::GlobalGather: {
            std::vector<IntFn> fns;
            const int n = number(1, 10);
            for (int i = 0; i < n; ++i)
                fns.push_back(element(i, number(0, 1), ms(0, 2)));
            perform(m_world, op, valueOrClosed, 2ms, [&] {
                const QList<int> values = palitra::gather(fns);
                for (int i = 0; i < n; ++i)
                    if (values.value(i, -1) != i)
                        return false;
                return values.size() == n;
            });
            break;
        }
        case Op::ShutdownGlobal:
            // The global runner's grace period is the default 2 s; its coroutines honour stop.
            perform(m_world, op, bit(Value), 3s, [&] {
                palitra::shutdownGlobalRunner();
                return true;
            });
            break;
        case Op::IsRunnerAlive:
            perform(m_world, op, bit(Value), 0ms, [&] {
                (void)palitra::isRunnerAlive();
                return true;
            });
            break;
        case Op::Count:
            break;
        }
    }

    void gatherRange(EventLoopThreadRunner &r, Op op) {
        const int n = number(1, 50);
        std::vector<IntFn> fns;
        std::vector<int> kinds;
        bool anyThrows = false;
        std::chrono::milliseconds longest{0};
        const int throwPercent = chance(50) ? 0 : 5;
        for (int i = 0; i < n; ++i) {
            const int kind = chance(throwPercent) ? 2 : number(0, 1);
            const auto d = ms(0, 5);
            anyThrows = anyThrows || kind == 2;
            longest = std::max(longest, kind == 1 ? d : 1ms);
            kinds.push_back(kind);
            fns.push_back(element(i, kind, d));
        }
        const bool moveIn = chance(50);
        if (op == Op::GatherOutcomes) {
            perform(m_world, op, valueOrClosed, longest, [&] {
                const auto outcomes =
                    moveIn ? r.gatherOutcomes(std::move(fns)) : r.gatherOutcomes(fns);
                if (outcomes.size() != n)
                    return false;
                for (int i = 0; i < n; ++i) {
                    const auto &o = outcomes[i];
                    if (kinds[static_cast<std::size_t>(i)] == 2) {
                        if (o.hasValue())
                            return false;
                        try {
                            std::rethrow_exception(o.exception());
                        } catch (const NotAStdException &e) {
                            if (e.code != i)
                                return false;
                        }
                    } else if (!o.hasValue() || o.value() != i) {
                        return false;
                    }
                }
                return true;
            });
            return;
        }
        const bool timed = op == Op::GatherTimeout;
        const auto timeout = timed ? ms(0, 6) : 10s;
        unsigned allowed = anyThrows ? bit(Exception) | bit(Closed) : valueOrClosed;
        if (timed)
            allowed |= bit(Timeout);
        perform(m_world, op, allowed, timed ? std::min<Clock::duration>(timeout, longest) : longest,
                [&] {
                    const QList<int> values =
                        moveIn ? r.gather(std::move(fns), timeout) : r.gather(fns, timeout);
                    for (int i = 0; i < n; ++i)
                        if (values.value(i, -1) != i)
                            return false;
                    return values.size() == n;
                });
    }

    //! A private runner destroyed (not just closed) while a helper thread is blocked on it.
    void destroyWhileBlocked() {
        auto owned = std::make_unique<EventLoopThreadRunner>(
            palitra::RunnerOptions{QStringLiteral("stress-doomed"), m_world.config().grace});
        EventLoopThreadRunner *runner = owned.get();
        std::atomic<bool> started{false};
        const bool ignoreStop = chance(50);
        std::thread helper([&] {
            perform(m_world, Op::DestroyWhileBlocked, bit(Closed), 2s, [&] {
                // Ignoring stop: it ends by itself within the grace period.
                return runner->run([&started, ignoreStop, t = Counted()] {
                    started.store(true);
                    started.notify_all();
                    return sleeper(1, ignoreStop ? 100ms : 30s, !ignoreStop);
                }) == 1;
            });
        });
        started.wait(false);
        owned.reset(); // ~EventLoopThreadRunner while the helper is blocked inside run()
        helper.join();
    }

    World &m_world;
    Watchdog::Slot &m_slot;
    std::mt19937_64 m_rng;
    std::discrete_distribution<int> m_pick;
};

} // namespace

class tst_RaceStress : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    // The mix, then the balance sheet.
    void raceMix();

private:
    Config m_config;
    std::unique_ptr<palitra::test::OneCpu> m_oneCpu; // PALITRA_STRESS_ONE_CPU
};

void tst_RaceStress::initTestCase() {
    if (palitra::test::envNumber("PALITRA_STRESS_ONE_CPU", 0) != 0) {
        // Before any runner or worker exists: every thread started from here on inherits it.
        m_oneCpu = std::make_unique<palitra::test::OneCpu>();
        QVERIFY(m_oneCpu->isPinned());
        qInfo("race stress: the whole process runs on CPU %d", m_oneCpu->cpu());
    }
    m_config.threads = static_cast<unsigned>(palitra::test::envNumber("PALITRA_STRESS_THREADS", 8));
    const long long ops = palitra::test::envNumber("PALITRA_STRESS_OPS", 0);
    const long long seconds = palitra::test::envNumber(
        "PALITRA_STRESS_SECONDS", ops > 0 ? 24 * 3600 : PALITRA_STRESS_DEFAULT_SECONDS);
    m_config.opsPerThread = ops;
    m_config.duration = std::chrono::seconds(seconds);
    m_config.seed = static_cast<std::uint64_t>(palitra::test::envNumber(
        "PALITRA_STRESS_SEED", static_cast<long long>(std::random_device{}() & 0x7fffffff)));
    qInfo("race stress: seed %llu, %u threads, %lld s, %lld ops/thread (0 = time-limited); "
          "reproduce the mix with PALITRA_STRESS_SEED=%llu",
          static_cast<unsigned long long>(m_config.seed), m_config.threads, seconds, ops,
          static_cast<unsigned long long>(m_config.seed));
}

void tst_RaceStress::raceMix() {
    const long trackedBefore = Counted::live();
    const std::string reproduce =
        "PALITRA_STRESS_SEED=" + std::to_string(m_config.seed) +
        " PALITRA_STRESS_THREADS=" + std::to_string(m_config.threads) +
        (palitra::test::envNumber("PALITRA_STRESS_ONE_CPU", 0) != 0 ? " PALITRA_STRESS_ONE_CPU=1"
                                                                    : "");
    // The slots outlive the watchdog, whose thread reads them until it is joined.
    std::vector<Watchdog::Slot> slots(m_config.threads + 1);
    Watchdog watchdog(reproduce);
    watchdog.watchSlots(slots.data(), slots.size());
    const auto begin = Clock::now();
    {
        World world(m_config);
        {
            std::vector<palitra::test::JoiningThread> threads;
            for (unsigned i = 0; i < m_config.threads; ++i)
                threads.emplace_back(Worker(world, i, slots[i]));
        }
        {
            const Watched watched(slots.back(),
                                  "final close of the shared runners and the global "
                                  "runner",
                                  30s);
            world.closeAll();
            palitra::shutdownGlobalRunner();
        }

        long issued = 0;
        std::array<long, ResultCount> totals{};
        std::string sheet = "op                    issued    value  exception  timeout   closed "
                            "unexpected  max ms  max over bound ms\n";
        for (std::size_t i = 0; i < opCount; ++i) {
            Tally &t = world.tally(static_cast<Op>(i));
            long sum = 0;
            for (int k = 0; k < ResultCount; ++k) {
                sum += t.results[k].load();
                totals[k] += t.results[k].load();
            }
            issued += t.issued.load();
            // Every call ended with exactly one counted outcome: nothing lost, nothing doubled.
            QCOMPARE(sum, t.issued.load());
            sheet +=
                QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8 %9\n")
                    .arg(QString::fromLatin1(opNames[i]), -20)
                    .arg(t.issued.load(), 7)
                    .arg(t.results[Value].load(), 8)
                    .arg(t.results[Exception].load(), 10)
                    .arg(t.results[Timeout].load(), 8)
                    .arg(t.results[Closed].load(), 8)
                    .arg(t.results[Unexpected].load(), 10)
                    .arg(static_cast<double>(t.maxElapsedUs.load()) / 1000.0, 7, 'f', 1)
                    .arg(static_cast<double>(t.maxElapsedOverBoundUs.load()) / 1000.0, 18, 'f', 1)
                    .toStdString();
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
        qInfo("%s", sheet.c_str());
        qInfo("race stress: %ld calls in %.1f s (%.0f/s): %ld value, %ld exception, %ld timeout, "
              "%ld closed, %ld unexpected; seed %llu",
              issued, seconds, static_cast<double>(issued) / seconds, totals[Value],
              totals[Exception], totals[Timeout], totals[Closed], totals[Unexpected],
              static_cast<unsigned long long>(m_config.seed));
        for (const std::string &line : world.unexpected())
            qWarning("unexpected: %s", line.c_str());
        QVERIFY2(totals[Unexpected] == 0,
                 ("unexpected outcomes; reproduce the mix with " + reproduce).c_str());
        QVERIFY(issued > 0);
    }
    // Every runner is closed and joined, and no coroutine outlived the grace period: every
    // callable and every capture has been destroyed.
    QCOMPARE(Counted::live(), trackedBefore);
}

QTEST_GUILESS_MAIN(tst_RaceStress)
#include "tst_race_stress.moc"
