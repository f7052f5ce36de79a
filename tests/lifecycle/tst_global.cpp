// SPDX-License-Identifier: MIT
// The global runner, many threads at once (with the close/shutdown races) and the logging
// category (docs/SEMANTICS.md#global-runner, #threads, #observability).
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QLoggingCategory>
#include <QSet>
#include <QTest>
#include <QThread>

#include <array>
#include <atomic>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::RunnerClosedError;
using palitra::TimeoutError;
using palitra::test::JoiningThread;
using palitra::test::MessageLog;
using palitra::test::NotAStdException;
using palitra::test::threadSerial;
using palitra::test::Watchdog;

namespace {

using IntFn = std::function<QCoro::Task<int>()>;

QCoro::Task<int> answer(int value) {
    co_return value;
}

QCoro::Task<int> answerLater(int value) {
    co_await palitra::sleepFor(1ms, std::stop_token{});
    co_return value;
}

QCoro::Task<int> failLater(int code) {
    co_await palitra::sleepFor(1ms, std::stop_token{});
    throw NotAStdException{code};
}

// A result type from an anonymous namespace (as user code has them) must compile cleanly.
struct Where {
    int serial = 0; // threadSerial() of the loop thread
    QString name;   // its QThread::objectName()
};

QCoro::Task<Where> whereAmI() {
    co_return Where{threadSerial(), QThread::currentThread()->objectName()};
}

// Sleeps an hour unless stopped (a timeout or close stops it).
QCoro::Task<int> sleepUntilStopped() {
    const std::stop_token stop = palitra::currentStopToken();
    co_await palitra::sleepFor(1h, stop);
    co_return -1;
}

// How one call that may race the runner's shutdown ended.
enum class CallEnd { NotYet, Value, Closed, Other };

// Runs \a call (which returns an int) and says how it ended: Value when it returned \a expected.
template<typename Call>
CallEnd endOf(Call &&call, int expected) {
    try {
        return call() == expected ? CallEnd::Value : CallEnd::Other;
    } catch (const RunnerClosedError &) {
        return CallEnd::Closed;
    } catch (...) {
        return CallEnd::Other;
    }
}

// How every call of the stress tests ended. They must add up to the calls made.
struct Tally {
    std::atomic<int> calls{0};
    std::atomic<int> values{0};
    std::atomic<int> ownExceptions{0};
    std::atomic<int> timeouts{0};
    std::atomic<int> closed{0};
    std::atomic<int> wrong{0}; // a wrong value or an exception nobody threw
    int ended() const { return values + ownExceptions + timeouts + closed + wrong; }
};

// One call of the stress tests, picked by \a kind, made through \a call (a runner member or the
// free functions, which share the signatures).
template<typename Api>
void stressCall(Api &api, int kind, int token, Tally &tally) {
    ++tally.calls;
    try {
        switch (kind) {
        case 0:
            if (api.run([token] { return answer(token); }) == token)
                ++tally.values;
            else
                ++tally.wrong;
            break;
        case 1:
            api.run([token] { return failLater(token); });
            ++tally.wrong;
            break;
        case 2:
            api.run([] { return sleepUntilStopped(); }, 20ms);
            ++tally.wrong;
            break;
        case 3: {
            const auto [a, b] = api.gather([token] { return answerLater(token); },
                                           [token] { return answer(token + 1); });
            if (a == token && b == token + 1)
                ++tally.values;
            else
                ++tally.wrong;
            break;
        }
        case 4: {
            const auto outcomes = api.gatherOutcomes(std::vector<IntFn>{
                [token] { return answer(token); }, [token] { return failLater(token); }});
            if (outcomes.size() == 2 && outcomes.at(0).value() == token &&
                !outcomes.at(1).hasValue())
                ++tally.values;
            else
                ++tally.wrong;
            break;
        }
        case 5:
            api.gather([token] { return answerLater(token); }, [token] { return failLater(token); },
                       30s);
            ++tally.wrong;
            break;
        default:
            if (api.run([token] { return answerLater(token); }, 30s) == token)
                ++tally.values;
            else
                ++tally.wrong;
            break;
        }
    } catch (const NotAStdException &e) {
        if (e.code == token)
            ++tally.ownExceptions;
        else
            ++tally.wrong;
    } catch (const TimeoutError &) {
        ++tally.timeouts;
    } catch (const RunnerClosedError &) {
        ++tally.closed;
    } catch (...) {
        ++tally.wrong;
    }
}

// The filter installed by loggingCategory(): records what the library's category allows.
struct CategorySeen {
    std::mutex mutex;
    int count = 0;
    bool debug = true;
    bool info = false;
    bool warning = false;
};
CategorySeen &categorySeen() {
    static CategorySeen seen;
    return seen;
}
QLoggingCategory::CategoryFilter previousFilter = nullptr;
void recordPalitraCategory(QLoggingCategory *category) {
    if (previousFilter)
        previousFilter(category);
    if (qstrcmp(category->categoryName(), "palitra") == 0) {
        CategorySeen &seen = categorySeen();
        const std::lock_guard lock(seen.mutex);
        ++seen.count;
        seen.debug = category->isDebugEnabled();
        seen.info = category->isInfoEnabled();
        seen.warning = category->isWarningEnabled();
    }
}

} // namespace

class tst_Global : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // --- created on first use, exactly once ------------------------------------------------
    void notAliveBeforeFirstUse();

    void createdOnceWhenThreadsRace();

    void aliveUntilShutdownThenNewThread();

    void shutdownFromManyThreadsAtOnce_data();
    void shutdownFromManyThreadsAtOnce();

    // --- a call racing shutdownGlobalRunner() gets its value or RunnerClosedError -----------
    void callRacingShutdown_data();
    void callRacingShutdown();

    // --- many threads call run/gather/close at once: every call ends, nothing lost ---------
    void manyThreadsOnOneRunner();

    void manyThreadsOnGlobalRunner();

    // --- logging category "palitra": warnings on, debug off by default --------------------
    void loggingCategory();

    void lifecycleDebugMessagesWhenEnabled();

    void cleanupTestCase();
};

// created on first use, exactly once ---------------------------------------------------------

void tst_Global::notAliveBeforeFirstUse() {
    // Runs first: nothing in this process has used the global runner yet.
    QVERIFY(!palitra::isRunnerAlive());
    QVERIFY(!palitra::isRunnerAlive()); // asking does not create it
    QCOMPARE(palitra::test::threadsNamed("palitra-global"), 0);
}

void tst_Global::createdOnceWhenThreadsRace() {
    constexpr int racers = 8;
    Watchdog watchdog(60s, "createdOnceWhenThreadsRace");
    QSet<int> previousLoops;
    for (int round = 0; round < 10; ++round) {
        if (round > 0)
            palitra::shutdownGlobalRunner();
        QVERIFY(!palitra::isRunnerAlive());
        std::array<Where, racers> seen;
        std::latch go(racers);
        {
            std::vector<JoiningThread> threads;
            for (int i = 0; i < racers; ++i) {
                threads.emplace_back([&seen, &go, i] {
                    go.arrive_and_wait();
                    seen[std::size_t(i)] = palitra::run([] { return whereAmI(); });
                });
            }
        }
        QSet<int> loops;
        for (const Where &w : seen) {
            loops.insert(w.serial);
            QCOMPARE(w.name, QStringLiteral("palitra-global"));
        }
        QCOMPARE(loops.size(), 1);                        // one runner, one loop thread, for all 8
        QVERIFY(!previousLoops.contains(*loops.begin())); // a new one after each shutdown
        previousLoops.unite(loops);
        QVERIFY(palitra::isRunnerAlive());
        QCOMPARE(palitra::test::threadsNamed("palitra-global"), 1);
    }
}

void tst_Global::aliveUntilShutdownThenNewThread() {
    palitra::shutdownGlobalRunner();
    QVERIFY(!palitra::isRunnerAlive());
    const int first = palitra::run([] { return whereAmI(); }).serial;
    QVERIFY(palitra::isRunnerAlive());
    QCOMPARE(palitra::run([] { return whereAmI(); }).serial, first); // persistent
    palitra::shutdownGlobalRunner();
    QVERIFY(!palitra::isRunnerAlive());
    palitra::shutdownGlobalRunner(); // idempotent
    QVERIFY(!palitra::isRunnerAlive());
    QTRY_COMPARE(palitra::test::threadsNamed("palitra-global"), 0);
    const int second = palitra::run([] { return whereAmI(); }).serial;
    QVERIFY(second != first);
    QVERIFY(second != threadSerial());
    QVERIFY(palitra::isRunnerAlive());
    palitra::shutdownGlobalRunner();
}

void tst_Global::shutdownFromManyThreadsAtOnce_data() {
    QTest::addColumn<bool>("callerBlocked");
    QTest::newRow("idle") << false;
    QTest::newRow("a caller blocked") << true;
}

void tst_Global::shutdownFromManyThreadsAtOnce() {
    QFETCH(bool, callerBlocked);
    constexpr int closers = 8;
    Watchdog watchdog(30s, "shutdownFromManyThreadsAtOnce");
    const int before = palitra::run([] { return whereAmI(); }).serial;
    std::atomic<CallEnd> callerEnded{CallEnd::NotYet};
    std::latch callerStarted(1);
    std::optional<JoiningThread> caller;
    if (callerBlocked) {
        caller.emplace([&] {
            callerEnded = endOf(
                [&] {
                    return palitra::run([&callerStarted]() -> QCoro::Task<int> {
                        callerStarted.count_down();
                        co_return co_await sleepUntilStopped();
                    });
                },
                0);
        });
        callerStarted.wait();
    }
    std::latch go(closers);
    {
        std::vector<JoiningThread> threads;
        for (int i = 0; i < closers; ++i)
            threads.emplace_back([&go] {
                go.arrive_and_wait();
                palitra::shutdownGlobalRunner();
            });
    }
    QVERIFY(!palitra::isRunnerAlive());
    if (caller) {
        caller->join();
        QCOMPARE(callerEnded.load(), CallEnd::Closed);
    }
    const int after = palitra::run([] { return whereAmI(); }).serial;
    QVERIFY(after != before);
    palitra::shutdownGlobalRunner();
}

// a call racing shutdownGlobalRunner() gets its value or RunnerClosedError ----------------------

void tst_Global::callRacingShutdown_data() {
    QTest::addColumn<bool>("suspends");
    QTest::newRow("coroutine finishes at once") << false;
    QTest::newRow("coroutine suspends once") << true;
}

void tst_Global::callRacingShutdown() {
    QFETCH(bool, suspends);
    constexpr int rounds = 40;
    Watchdog watchdog(90s, "callRacingShutdown");
    int values = 0;
    int closed = 0;
    for (int round = 0; round < rounds; ++round) {
        palitra::run([] { return answer(0); }); // the runner exists and runs
        std::latch go(2);
        std::atomic<CallEnd> ended{CallEnd::NotYet};
        {
            JoiningThread caller([&] {
                go.arrive_and_wait();
                ended = endOf(
                    [&] {
                        return suspends ? palitra::run([round] { return answerLater(round); })
                                        : palitra::run([round] { return answer(round); });
                    },
                    round);
            });
            JoiningThread closer([&] {
                go.arrive_and_wait();
                palitra::shutdownGlobalRunner();
            });
        }
        QVERIFY(ended == CallEnd::Value || ended == CallEnd::Closed);
        (ended == CallEnd::Value ? values : closed) += 1;
    }
    QCOMPARE(values + closed, rounds);
    palitra::shutdownGlobalRunner();
}

// many threads call run/gather/close at once: every call ends, nothing lost -------------------

void tst_Global::manyThreadsOnOneRunner() {
    constexpr int threadCount = 8;
    constexpr int callsPerThread = 24;
    constexpr int rounds = 4;
    Watchdog watchdog(120s, "manyThreadsOnOneRunner");
    MessageLog quiet(MessageLog::Palitra::Quiet);
    Tally tally;
    for (int round = 0; round < rounds; ++round) {
        EventLoopThreadRunner runner;
        std::latch go(threadCount);
        std::vector<JoiningThread> threads;
        for (int t = 0; t < threadCount; ++t) {
            threads.emplace_back([&, t] {
                go.arrive_and_wait();
                for (int i = 0; i < callsPerThread; ++i) {
                    if (t == 0 && i == callsPerThread / 2)
                        runner.close(); // mid-way, while the others keep calling
                    stressCall(runner, (t + i) % 7, t * 1000 + i, tally);
                }
            });
        }
        threads.clear();
        QVERIFY(!runner.isRunning());
    }
    QCOMPARE(tally.calls.load(), threadCount * callsPerThread * rounds);
    QCOMPARE(tally.ended(), tally.calls.load());
    QCOMPARE(tally.wrong.load(), 0);
    QVERIFY(tally.values > 0);
    QVERIFY(tally.closed > 0); // the calls after close()
    QVERIFY(tally.ownExceptions > 0);
    QVERIFY(tally.timeouts > 0);
}

void tst_Global::manyThreadsOnGlobalRunner() {
    constexpr int threadCount = 8;
    constexpr int callsPerThread = 24;
    constexpr int rounds = 3;
    Watchdog watchdog(120s, "manyThreadsOnGlobalRunner");
    MessageLog quiet(MessageLog::Palitra::Quiet);
    Tally tally;
    palitra::test::GlobalApi api;
    std::atomic<int> shutdowns{0};
    for (int round = 0; round < rounds; ++round) {
        std::latch go(threadCount);
        std::vector<JoiningThread> threads;
        for (int t = 0; t < threadCount; ++t) {
            threads.emplace_back([&, t] {
                go.arrive_and_wait();
                for (int i = 0; i < callsPerThread; ++i) {
                    if (t < 2 && i % 8 == 7) { // two threads shut down now and then
                        palitra::shutdownGlobalRunner();
                        ++shutdowns;
                    }
                    stressCall(api, (t + i) % 7, t * 1000 + i, tally);
                }
            });
        }
        threads.clear();
    }
    QCOMPARE(tally.calls.load(), threadCount * callsPerThread * rounds);
    QCOMPARE(tally.ended(), tally.calls.load());
    QCOMPARE(tally.wrong.load(), 0);
    QVERIFY(tally.values > 0);
    QVERIFY(tally.ownExceptions > 0);
    QVERIFY(tally.timeouts > 0);
    QCOMPARE(shutdowns.load(), 2 * 3 * rounds);
    // Whatever happened, the next call works.
    QCOMPARE(palitra::run([] { return answer(5); }), 5);
    palitra::shutdownGlobalRunner();
    QVERIFY(!palitra::isRunnerAlive());
}

// logging category "palitra": warnings on, debug off by default ------------------------------

void tst_Global::loggingCategory() {
    if (qEnvironmentVariableIsSet("QT_LOGGING_RULES") ||
        qEnvironmentVariableIsSet("QT_LOGGING_CONF"))
        QSKIP("logging rules set in the environment change the defaults under test");
    {
        // Makes sure the library has created its category (it logs runner start-up).
        EventLoopThreadRunner runner;
        QCOMPARE(runner.run([] { return answer(1); }), 1);
    }
    previousFilter = QLoggingCategory::installFilter(&recordPalitraCategory);
    QLoggingCategory::installFilter(previousFilter); // the filter ran for every category
    CategorySeen &seen = categorySeen();
    const std::lock_guard lock(seen.mutex);
    QVERIFY2(seen.count >= 1, "no logging category named \"palitra\" is registered");
    QVERIFY(seen.warning);
    QVERIFY(!seen.debug);
}

void tst_Global::lifecycleDebugMessagesWhenEnabled() {
    MessageLog messages;
    QLoggingCategory::setFilterRules(QStringLiteral("palitra.debug=true"));
    {
        EventLoopThreadRunner runner;
        QCOMPARE(runner.run([] { return answer(1); }), 1);
    }
    QLoggingCategory::setFilterRules(QString());
    QVERIFY2(!messages.debugs().isEmpty(), "no qCDebug lifecycle message in category palitra");
    const int count = int(messages.debugs().size());
    {
        EventLoopThreadRunner runner;
        QCOMPARE(runner.run([] { return answer(1); }), 1);
    }
    QCOMPARE(int(messages.debugs().size()), count); // off again by default
}

void tst_Global::cleanupTestCase() {
    palitra::shutdownGlobalRunner();
}

QTEST_GUILESS_MAIN(tst_Global)
#include "tst_global.moc"
