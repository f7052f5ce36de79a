// SPDX-License-Identifier: MIT
// gather() (docs/SEMANTICS.md#gather, #gather-details).
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QList>
#include <QString>
#include <QTest>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <ranges>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::Outcome;
using palitra::test::Clock;
using palitra::test::CopyCounts;
using palitra::test::Counted;
using palitra::test::CountingCallable;
using palitra::test::elapsedSince;
using palitra::test::Gate;
using palitra::test::NotAStdException;

// clang 14 cannot satisfy libstdc++ 12's range concepts for ranges::ref_view (a toolchain
// limit, not palitra's): the views::all rows need a newer clang.
#if defined(__clang__) && __clang_major__ < 15
#define PALITRA_TEST_HAVE_REF_VIEW 0
#else
#define PALITRA_TEST_HAVE_REF_VIEW 1
#endif

namespace {

using IntFn = std::function<QCoro::Task<int>()>;
using VoidFn = std::function<QCoro::Task<void>()>;
using StringFn = std::function<QCoro::Task<QString>()>;
using UniqueFn = std::function<QCoro::Task<std::unique_ptr<int>>()>;

template<typename... Args>
using GatherOf = decltype(std::declval<EventLoopThreadRunner &>().gather(std::declval<Args>()...));
template<typename... Args>
using OutcomesOf =
    decltype(std::declval<EventLoopThreadRunner &>().gatherOutcomes(std::declval<Args>()...));

// Result types are part of the contract (docs/SEMANTICS.md#results, #gather).
static_assert(std::is_same_v<GatherOf<IntFn, VoidFn, UniqueFn, StringFn>,
                             std::tuple<int, std::monostate, std::unique_ptr<int>, QString>>);
static_assert(std::is_same_v<GatherOf<IntFn, VoidFn, std::chrono::milliseconds>,
                             std::tuple<int, std::monostate>>);
static_assert(std::is_same_v<GatherOf<std::vector<IntFn>>, QList<int>>);
static_assert(std::is_same_v<GatherOf<std::vector<IntFn> &, std::chrono::seconds>, QList<int>>);
static_assert(std::is_same_v<GatherOf<QList<VoidFn> &>, QList<std::monostate>>);
static_assert(std::is_same_v<GatherOf<std::vector<UniqueFn> &>, std::vector<std::unique_ptr<int>>>);
static_assert(
    std::is_same_v<palitra::ResultList<std::unique_ptr<int>>, std::vector<std::unique_ptr<int>>>);
static_assert(std::is_same_v<palitra::ResultList<int>, QList<int>>);
static_assert(
    std::is_same_v<OutcomesOf<IntFn, VoidFn>, std::tuple<Outcome<int>, Outcome<std::monostate>>>);
static_assert(std::is_same_v<OutcomesOf<std::vector<IntFn>>, QList<Outcome<int>>>);
static_assert(
    std::is_same_v<OutcomesOf<std::vector<UniqueFn>>, std::vector<Outcome<std::unique_ptr<int>>>>);

// How a stop-aware sleeper ended.
enum Woke : int { StillAsleep = 0, ByStop = 1, FullTime = 2 };

// Sleeps an hour unless stopped; records how it woke. Reads the call's token at the top.
QCoro::Task<int> sleepUntilStopped(std::shared_ptr<std::atomic<int>> woke) {
    const std::stop_token stop = palitra::currentStopToken();
    const bool fullTime = co_await palitra::sleepFor(1h, stop);
    woke->store(fullTime ? FullTime : ByStop);
    co_return -1;
}

QCoro::Task<int> valueAfter(int value, std::chrono::milliseconds delay) {
    co_await palitra::sleepFor(delay, std::stop_token{});
    co_return value;
}

QCoro::Task<int> throwAfter(std::chrono::milliseconds delay, bool stdException) {
    if (delay > 0ms)
        co_await palitra::sleepFor(delay, std::stop_token{});
    if (stdException)
        throw std::runtime_error("boom");
    throw NotAStdException{7};
}

// Waits for the gate, ignoring stop; then records whether its token was stopped.
QCoro::Task<void> waitForGate(Gate *gate, std::shared_ptr<std::atomic<int>> sawStop) {
    const std::stop_token stop = palitra::currentStopToken();
    co_await palitra::awaitSignal(gate, &Gate::opened);
    sawStop->store(stop.stop_requested() ? 1 : 0);
}

// Every coroutine arrives at the gate and waits until all N have arrived: only completes when
// all N run at the same time. Returns its arrival rank.
QCoro::Task<int> arriveAndWait(Gate *gate, int n) {
    const std::stop_token stop = palitra::currentStopToken();
    const int rank = ++gate->arrived;
    if (rank == n)
        gate->open();
    else
        co_await palitra::awaitSignal(gate, &Gate::opened, stop);
    co_return rank;
}

std::vector<IntFn> delayedValues(int n) {
    std::vector<IntFn> fns;
    for (int i = 0; i < n; ++i) // later ones finish first: order must come from the input
        fns.emplace_back(
            [i, n] { return valueAfter(i * 10, std::chrono::milliseconds(5 * (n - i))); });
    return fns;
}

QList<int> expectedValues(int n) {
    QList<int> out;
    for (int i = 0; i < n; ++i)
        out.append(i * 10);
    return out;
}

template<typename List>
QList<int> toQList(const List &list) {
    return QList<int>(list.begin(), list.end());
}

// The kind of range a row hands to gather(range).
enum class RangeKind { Vector, QList, Array, Span, ViewsAll };
// How a row passes its range of counting callables.
enum class PassedRange {
    VectorLvalue,
    ConstVectorLvalue,
    VectorRvalue,
    QListLvalue,
    QListRvalue,
    ArrayLvalue,
    ArrayRvalue,
    SpanRvalue,
    ViewsAllRvalue,
    SharedQListLvalue,
};
// Where a row puts the empty callable, and which gather it calls.
enum class EmptyCallable {
    EmptyFirst,
    EmptyMiddle,
    EmptyLast,
    NullFunctionPointerLast,
    OutcomesEmptyLast,
    RangeEmptyFirst,
    RangeEmptyMiddle,
    RangeEmptyLast,
    OutcomesRangeEmptyLast,
    RangeWithTimeoutEmptyLast,
};
// Which form of gather a row calls: callables as arguments, or one range of them.
enum class Form { Variadic, Range };
// What a failing coroutine of a row throws.
enum class Thrown { StdException, Other };
// What a row's gather gives: the values (gather), or one outcome each (gatherOutcomes).
enum class Result { Values, Outcomes };

} // namespace

Q_DECLARE_METATYPE(Form)
Q_DECLARE_METATYPE(Thrown)
Q_DECLARE_METATYPE(Result)
Q_DECLARE_METATYPE(RangeKind)
Q_DECLARE_METATYPE(PassedRange)
Q_DECLARE_METATYPE(EmptyCallable)

class tst_Gather : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // --- results in argument order (mixed, void -> monostate, move-only) ----------------
    void variadicResultsInArgumentOrder();

    void variadicSingleCallable();

    void rangeResultsInInputOrder_data();
    void rangeResultsInInputOrder();

    void rangeOfMoveOnlyResults();

    void rangeOfMoveOnlyCallables();

    // --- all started before the caller waits, running concurrently ---------------------
    void allRunConcurrently_data();
    void allRunConcurrently();

    void sleepsOverlap();

    void allInvokedOnTheLoopThread();

    // --- default mode: first failure thrown at once, siblings told to stop -------------
    void firstFailureStopsSiblings_data();
    void firstFailureStopsSiblings();

    void failureBeforeFirstSuspensionStillStartsAndStopsOthers();

    // --- return-exceptions mode: gatherOutcomes() ---------------------------------------
    void outcomesHoldValueOrException();

    void outcomesOfARange();

    void outcomesOfMoveOnlyRange();

    void outcomesThrowOnlyTimeoutOrClosed_data();
    void outcomesThrowOnlyTimeoutOrClosed();

    // --- trailing timeout -----------------------------------------------------------------
    void trailingTimeoutStopsAll_data();
    void trailingTimeoutStopsAll();

    void trailingTimeoutNotReached();

    // --- empty gather: empty result at once, nothing started -------------------------
    void emptyGatherStartsNothing();

    void emptyVariadicGather();

    void emptyGatherOnAStartedRunner();

    // --- ranges: lvalue range / view copied, owning rvalue range moved ----------------------
    void rangeCallablesCopiedOrMoved_data();
    void rangeCallablesCopiedOrMoved();

    // --- results moved, never copied (both gather forms) -----------------------------------
    void resultsMovedNeverCopied_data();
    void resultsMovedNeverCopied();

    // --- every callable checked before any is dispatched -----------------------------------
    void emptyCallableRejectedBeforeAnyStarts_data();
    void emptyCallableRejectedBeforeAnyStarts();

    // --- scale ---------------------------------------------------------------------------------
    void largeGather();

    // --- the free functions use the global runner ---------------------------------------------
    void freeFunctions();
};

// results in argument order (mixed, void -> monostate, move-only) -----------------------------

void tst_Gather::variadicResultsInArgumentOrder() {
    EventLoopThreadRunner runner;
    auto [a, b, c, d] = runner.gather(
        [] { return valueAfter(1, 40ms); },
        []() -> QCoro::Task<QString> { co_return QStringLiteral("two"); },
        []() -> QCoro::Task<void> { co_await palitra::sleepFor(10ms, std::stop_token{}); },
        []() -> QCoro::Task<std::unique_ptr<int>> {
            co_await palitra::sleepFor(20ms, std::stop_token{});
            co_return std::make_unique<int>(4);
        });
    static_assert(std::is_same_v<decltype(c), std::monostate>);
    QCOMPARE(a, 1);
    QCOMPARE(b, QStringLiteral("two"));
    QVERIFY(d);
    QCOMPARE(*d, 4);
}

void tst_Gather::variadicSingleCallable() {
    EventLoopThreadRunner runner;
    const std::tuple<int> one = runner.gather([] { return valueAfter(9, 0ms); });
    QCOMPARE(std::get<0>(one), 9);
}

void tst_Gather::rangeResultsInInputOrder_data() {
    QTest::addColumn<RangeKind>("kind");
    QTest::newRow("std::vector") << RangeKind::Vector;
    QTest::newRow("QList") << RangeKind::QList;
    QTest::newRow("std::array") << RangeKind::Array;
    QTest::newRow("std::span") << RangeKind::Span;
    QTest::newRow("views::all") << RangeKind::ViewsAll;
}

void tst_Gather::rangeResultsInInputOrder() {
    QFETCH(RangeKind, kind);
    constexpr int n = 8;
    EventLoopThreadRunner runner;
    std::vector<IntFn> fns = delayedValues(n);
    QList<int> got;
    switch (kind) {
    case RangeKind::Vector:
        got = runner.gather(fns);
        break;
    case RangeKind::QList:
        got = runner.gather(QList<IntFn>(fns.begin(), fns.end()));
        break;
    case RangeKind::Array: {
        std::array<IntFn, n> array;
        std::ranges::copy(fns, array.begin());
        got = runner.gather(array);
        break;
    }
    case RangeKind::Span:
        got = runner.gather(std::span<const IntFn>(fns));
        break;
    case RangeKind::ViewsAll:
#if PALITRA_TEST_HAVE_REF_VIEW
        got = runner.gather(std::views::all(fns));
#else
        QSKIP("clang < 15 cannot compile libstdc++ 12's ranges::ref_view");
#endif
        break;
    }
    QCOMPARE(got, expectedValues(n));
}

void tst_Gather::rangeOfMoveOnlyResults() {
    EventLoopThreadRunner runner;
    std::vector<UniqueFn> fns;
    for (int i = 0; i < 5; ++i) {
        fns.emplace_back([i]() -> QCoro::Task<std::unique_ptr<int>> {
            co_await palitra::sleepFor(std::chrono::milliseconds(5 * (5 - i)), std::stop_token{});
            co_return std::make_unique<int>(i);
        });
    }
    std::vector<std::unique_ptr<int>> got = runner.gather(fns);
    QCOMPARE(got.size(), std::size_t(5));
    for (int i = 0; i < 5; ++i) {
        QVERIFY(got[std::size_t(i)]);
        QCOMPARE(*got[std::size_t(i)], i);
    }
}

void tst_Gather::rangeOfMoveOnlyCallables() {
    EventLoopThreadRunner runner;
    auto make = [](int i) {
        return [p = std::make_unique<int>(i)]() -> QCoro::Task<int> { co_return *p; };
    };
    std::vector<decltype(make(0))> fns;
    for (int i = 0; i < 4; ++i)
        fns.push_back(make(i));
    QCOMPARE(runner.gather(std::move(fns)), (QList<int>{0, 1, 2, 3}));
}

// all started before the caller waits, running concurrently -----------------------------------

void tst_Gather::allRunConcurrently_data() {
    QTest::addColumn<Form>("form");
    QTest::newRow("variadic") << Form::Variadic;
    QTest::newRow("range") << Form::Range;
}

void tst_Gather::allRunConcurrently() {
    // Each coroutine completes only once all of them have started: a gather that started
    // them one after another, or waited before starting them all, times out here.
    QFETCH(Form, form);
    const bool range = form == Form::Range;
    EventLoopThreadRunner runner;
    Gate gate;
    Gate *g = &gate;
    QList<int> ranks;
    if (range) {
        constexpr int n = 16;
        std::vector<IntFn> fns(n, [g] { return arriveAndWait(g, n); });
        ranks = runner.gather(fns, 10s);
    } else {
        auto f = [g] { return arriveAndWait(g, 4); };
        const auto [a, b, c, d] = runner.gather(f, f, f, f, 10s);
        ranks = {a, b, c, d};
    }
    std::ranges::sort(ranks);
    QList<int> expected;
    for (int i = 1; i <= ranks.size(); ++i)
        expected.append(i);
    QCOMPARE(ranks, expected);
}

void tst_Gather::sleepsOverlap() {
    constexpr int n = 8;
    static constexpr auto each = 300ms;
    EventLoopThreadRunner runner;
    runner.run([]() -> QCoro::Task<void> { co_return; }); // start-up is not measured
    // Each coroutine counts itself asleep, sleeps, and on waking records how many were asleep
    // with it. The loop thread starts all of them before it delivers any timer, so the first
    // to wake saw all n asleep at once: the sleeps overlapped (one after the other, it would
    // see 1).
    auto asleep = std::make_shared<std::atomic<int>>(0);
    auto mostAsleep = std::make_shared<std::atomic<int>>(0);
    std::vector<IntFn> fns(n, [asleep, mostAsleep]() -> QCoro::Task<int> {
        ++*asleep;
        co_await palitra::sleepFor(each, std::stop_token{});
        *mostAsleep = std::max(mostAsleep->load(), asleep->load()); // all on the loop thread
        --*asleep;
        co_return 1;
    });
    const auto start = Clock::now();
    const QList<int> got = runner.gather(fns);
    const qint64 elapsed = elapsedSince(start).count();
    QCOMPARE(got, QList<int>(n, 1));
    QCOMPARE(mostAsleep->load(), n);
    QVERIFY(elapsed >= each.count() - 20); // they did sleep
}

void tst_Gather::allInvokedOnTheLoopThread() {
    EventLoopThreadRunner runner;
    const int caller = palitra::test::threadSerial();
    auto where = [] {
        return [](void) -> QCoro::Task<int> { co_return palitra::test::threadSerial(); };
    };
    const auto [a, b, c] = runner.gather(where(), where(), where());
    QCOMPARE(a, b);
    QCOMPARE(b, c);
    QVERIFY(a != caller);
}

// default mode: first failure thrown at once, siblings told to stop ---------------------------

void tst_Gather::firstFailureStopsSiblings_data() {
    QTest::addColumn<Form>("form");
    QTest::addColumn<Thrown>("thrown");
    QTest::newRow("variadic, std::runtime_error") << Form::Variadic << Thrown::StdException;
    QTest::newRow("variadic, not a std::exception") << Form::Variadic << Thrown::Other;
    QTest::newRow("range, std::runtime_error") << Form::Range << Thrown::StdException;
    QTest::newRow("range, not a std::exception") << Form::Range << Thrown::Other;
}

void tst_Gather::firstFailureStopsSiblings() {
    QFETCH(Form, form);
    const bool range = form == Form::Range;
    QFETCH(Thrown, thrown);
    const bool stdException = thrown == Thrown::StdException;
    EventLoopThreadRunner runner;
    Gate gate; // opened only after the caller has the failure
    Gate *g = &gate;
    auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
    auto sawStop = std::make_shared<std::atomic<int>>(-1);

    IntFn sleeper = [woke] { return sleepUntilStopped(woke); };
    IntFn gated = [g, sawStop]() -> QCoro::Task<int> {
        co_await waitForGate(g, sawStop);
        co_return 0;
    };
    IntFn failing = [stdException] { return throwAfter(20ms, stdException); };

    int caught = 0; // 1: runtime_error("boom"), 2: NotAStdException{7}
    try {
        if (range)
            runner.gather(std::vector<IntFn>{sleeper, gated, failing}, 30s);
        else
            runner.gather(
                sleeper, [g, sawStop] { return waitForGate(g, sawStop); }, failing, 30s);
    } catch (const std::runtime_error &e) {
        caught = QByteArray(e.what()) == "boom" ? 1 : -1;
    } catch (const NotAStdException &e) {
        caught = e.code == 7 ? 2 : -2;
    } catch (...) {
        caught = -3;
    }
    QCOMPARE(caught, stdException ? 1 : 2);
    // Thrown while a sibling is still suspended: the gated one cannot have finished.
    QCOMPARE(sawStop->load(), -1);

    QTRY_COMPARE_WITH_TIMEOUT(woke->load(), int(ByStop), 5000);
    gate.open();
    QTRY_COMPARE_WITH_TIMEOUT(sawStop->load(), 1, 5000);
}

void tst_Gather::failureBeforeFirstSuspensionStillStartsAndStopsOthers() {
    EventLoopThreadRunner runner;
    auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
    auto invoked = std::make_shared<std::atomic<int>>(0);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, runner.gather([] { return throwAfter(0ms, true); },
                                                               [woke, invoked] {
                                                                   ++*invoked;
                                                                   return sleepUntilStopped(woke);
                                                               },
                                                               30s));
    QTRY_COMPARE_WITH_TIMEOUT(woke->load(), int(ByStop), 5000);
    QCOMPARE(invoked->load(), 1);
}

// return-exceptions mode: gatherOutcomes() ----------------------------------------------------

void tst_Gather::outcomesHoldValueOrException() {
    EventLoopThreadRunner runner;
    auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
    auto [a, b, c, d, e, f] = runner.gatherOutcomes(
        [] { return valueAfter(1, 10ms); }, [] { return throwAfter(0ms, true); },
        []() -> QCoro::Task<void> { co_return; }, [] { return throwAfter(20ms, false); },
        []() -> QCoro::Task<std::unique_ptr<int>> { co_return std::make_unique<int>(5); },
        // A sibling of failures is not stopped in this mode: it sleeps its whole time.
        [woke]() -> QCoro::Task<int> {
            const bool full = co_await palitra::sleepFor(100ms, palitra::currentStopToken());
            woke->store(full ? FullTime : ByStop);
            co_return 6;
        });
    QVERIFY(a.hasValue());
    QCOMPARE(a.value(), 1);
    QVERIFY(!a.exception());

    QVERIFY(!b.hasValue());
    QVERIFY(b.exception());
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, b.value());

    static_assert(std::is_same_v<decltype(c), Outcome<std::monostate>>);
    QVERIFY(c.hasValue());

    QVERIFY(!d.hasValue());
    bool rethrownWithItsType = false;
    try {
        d.value();
    } catch (const NotAStdException &ex) {
        rethrownWithItsType = ex.code == 7;
    }
    QVERIFY(rethrownWithItsType);

    QVERIFY(e.hasValue());
    std::unique_ptr<int> moved = std::move(e).value();
    QVERIFY(moved);
    QCOMPARE(*moved, 5);

    QVERIFY(f.hasValue());
    QCOMPARE(f.value(), 6);
    QCOMPARE(woke->load(), int(FullTime));
}

void tst_Gather::outcomesOfARange() {
    EventLoopThreadRunner runner;
    std::vector<IntFn> fns;
    for (int i = 0; i < 6; ++i) {
        if (i % 2)
            fns.emplace_back([i] { return throwAfter(std::chrono::milliseconds(i), i == 3); });
        else
            fns.emplace_back([i] { return valueAfter(i, std::chrono::milliseconds(10 - i)); });
    }
    const QList<Outcome<int>> got = runner.gatherOutcomes(fns);
    QCOMPARE(got.size(), 6);
    for (int i = 0; i < 6; ++i) {
        const Outcome<int> &o = got.at(i);
        QCOMPARE(o.hasValue(), i % 2 == 0);
        if (o.hasValue()) {
            QCOMPARE(o.value(), i);
        } else if (i == 3) {
            QVERIFY_THROWS_EXCEPTION(std::runtime_error, o.value());
        } else {
            QVERIFY_THROWS_EXCEPTION(NotAStdException, o.value());
        }
    }
}

void tst_Gather::outcomesOfMoveOnlyRange() {
    EventLoopThreadRunner runner;
    std::vector<UniqueFn> fns{
        []() -> QCoro::Task<std::unique_ptr<int>> { co_return std::make_unique<int>(1); },
        []() -> QCoro::Task<std::unique_ptr<int>> {
            throw std::logic_error("no");
            co_return std::unique_ptr<int>{};
        }};
    std::vector<Outcome<std::unique_ptr<int>>> got = runner.gatherOutcomes(std::move(fns));
    QCOMPARE(got.size(), std::size_t(2));
    QVERIFY(got[0].hasValue());
    QCOMPARE(*got[0].value(), 1);
    QVERIFY_THROWS_EXCEPTION(std::logic_error, got[1].value());
}

void tst_Gather::outcomesThrowOnlyTimeoutOrClosed_data() {
    QTest::addColumn<Form>("form");
    QTest::newRow("variadic") << Form::Variadic;
    QTest::newRow("range") << Form::Range;
}

void tst_Gather::outcomesThrowOnlyTimeoutOrClosed() {
    QFETCH(Form, form);
    const bool range = form == Form::Range;
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    auto woke = std::make_shared<std::atomic<int>>(StillAsleep);
    IntFn sleeper = [woke] { return sleepUntilStopped(woke); };
    IntFn failing = [] { return throwAfter(0ms, true); };
    if (range)
        QVERIFY(palitra::test::timeOutAfterInvoking(200ms, [&](auto timeout) {
            (void)runner.gatherOutcomes(std::vector<IntFn>{failing, sleeper}, timeout);
        }));
    else
        QVERIFY(palitra::test::timeOutAfterInvoking(
            200ms, [&](auto timeout) { (void)runner.gatherOutcomes(failing, sleeper, timeout); }));
    QTRY_COMPARE_WITH_TIMEOUT(woke->load(), int(ByStop), 5000);

    runner.close();
    if (range)
        QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError,
                                 runner.gatherOutcomes(std::vector<IntFn>{failing}));
    else
        QVERIFY_THROWS_EXCEPTION(palitra::RunnerClosedError, runner.gatherOutcomes(failing));
}

// trailing timeout ----------------------------------------------------------------------------

void tst_Gather::trailingTimeoutStopsAll_data() {
    QTest::addColumn<Form>("form");
    QTest::addColumn<Result>("result");
    QTest::newRow("gather(fa, fb, 200ms)") << Form::Variadic << Result::Values;
    QTest::newRow("gather(list, 200ms)") << Form::Range << Result::Values;
    QTest::newRow("gatherOutcomes(fa, fb, 200ms)") << Form::Variadic << Result::Outcomes;
    QTest::newRow("gatherOutcomes(list, 200ms)") << Form::Range << Result::Outcomes;
}

void tst_Gather::trailingTimeoutStopsAll() {
    QFETCH(Form, form);
    const bool range = form == Form::Range;
    QFETCH(Result, result);
    const bool outcomes = result == Result::Outcomes;
    EventLoopThreadRunner runner;
    runner.run([]() -> QCoro::Task<void> { co_return; });
    auto wokeA = std::make_shared<std::atomic<int>>(StillAsleep);
    auto wokeB = std::make_shared<std::atomic<int>>(StillAsleep);
    IntFn fa = [wokeA] { return sleepUntilStopped(wokeA); };
    IntFn fb = [wokeB] { return sleepUntilStopped(wokeB); };
    std::vector<IntFn> list{fa, fb};

    palitra::test::Watchdog watchdog(60s, "trailingTimeoutStopsAll");
    const auto start = Clock::now();
    const bool timedOut = palitra::test::timeOutAfterInvoking(200ms, [&](auto timeout) {
        if (range && outcomes)
            (void)runner.gatherOutcomes(list, timeout);
        else if (range)
            (void)runner.gather(list, timeout);
        else if (outcomes)
            (void)runner.gatherOutcomes(fa, fb, timeout);
        else
            (void)runner.gather(fa, fb, timeout);
    });
    const qint64 elapsed = elapsedSince(start).count();
    QVERIFY(timedOut);
    // Not before the timeout; and not after the hour-long sleeps, which the watchdog would fail.
    QVERIFY2(elapsed >= 190, qPrintable(QStringLiteral("TimeoutError after %1 ms").arg(elapsed)));
    QTRY_COMPARE_WITH_TIMEOUT(wokeA->load(), int(ByStop), 5000);
    QTRY_COMPARE_WITH_TIMEOUT(wokeB->load(), int(ByStop), 5000);
    QCOMPARE(runner.run([] { return valueAfter(3, 0ms); }), 3); // still usable
}

void tst_Gather::trailingTimeoutNotReached() {
    EventLoopThreadRunner runner;
    const auto [a, b] =
        runner.gather([] { return valueAfter(1, 5ms); }, [] { return valueAfter(2, 0ms); }, 30s);
    QCOMPARE(a, 1);
    QCOMPARE(b, 2);
    QCOMPARE(runner.gather(delayedValues(3), std::chrono::duration<double>(30.0)),
             expectedValues(3));
}

// empty gather: empty result at once, nothing started -------------------------------------

void tst_Gather::emptyGatherStartsNothing() {
    palitra::RunnerOptions options;
    options.threadName = QStringLiteral("empty-gather");
    EventLoopThreadRunner runner(options);
    // No loop thread, so nothing to wait for: a gather that waited would hang (the watchdog).
    palitra::test::Watchdog watchdog(30s, "emptyGatherStartsNothing");

    std::vector<IntFn> vec;
    QVERIFY(runner.gather(vec).isEmpty());
    QVERIFY(runner.gather(std::vector<IntFn>{}).isEmpty());
    QVERIFY(runner.gather(QList<IntFn>{}).isEmpty());
    QVERIFY(runner.gather(std::array<IntFn, 0>{}).isEmpty());
    QVERIFY(runner.gather(std::span<IntFn>{}).isEmpty());
    QVERIFY(runner.gather(vec, 200ms).isEmpty());
    QVERIFY(runner.gather(vec, 0ms).isEmpty()); // the (empty) result is already there
    QVERIFY(runner.gatherOutcomes(vec).isEmpty());
    QVERIFY(runner.gather(std::vector<UniqueFn>{}).empty());

    QVERIFY(!runner.isRunning());
    QCOMPARE(palitra::test::threadsNamed("empty-gather"), 0);
}

void tst_Gather::emptyVariadicGather() {
    static_assert(std::is_same_v<GatherOf<>, std::tuple<>>);
    static_assert(std::is_same_v<OutcomesOf<>, std::tuple<>>);
    static_assert(std::is_same_v<GatherOf<std::chrono::milliseconds>, std::tuple<>>);
    palitra::RunnerOptions options;
    options.threadName = QStringLiteral("empty-variadic");
    EventLoopThreadRunner runner(options);
    palitra::test::Watchdog watchdog(30s, "emptyVariadicGather");
    [[maybe_unused]] const std::tuple<> a = runner.gather();
    [[maybe_unused]] const std::tuple<> b = runner.gather(200ms);
    [[maybe_unused]] const std::tuple<> c = runner.gatherOutcomes();
    [[maybe_unused]] const std::tuple<> d = runner.gather(0ms);
    QVERIFY(!runner.isRunning());
    QCOMPARE(palitra::test::threadsNamed("empty-variadic"), 0);
}

void tst_Gather::emptyGatherOnAStartedRunner() {
    EventLoopThreadRunner runner;
    QCOMPARE(runner.run([] { return valueAfter(1, 0ms); }), 1);
    QVERIFY(runner.gather(std::vector<IntFn>{}).isEmpty());
    QVERIFY(runner.isRunning());
}

// ranges: lvalue range / view copied, owning rvalue range moved ---------------------------------

void tst_Gather::rangeCallablesCopiedOrMoved_data() {
    QTest::addColumn<PassedRange>("kind");
    QTest::addColumn<bool>("copied");
    QTest::newRow("std::vector lvalue") << PassedRange::VectorLvalue << true;
    QTest::newRow("const std::vector lvalue") << PassedRange::ConstVectorLvalue << true;
    QTest::newRow("std::vector rvalue") << PassedRange::VectorRvalue << false;
    QTest::newRow("QList lvalue") << PassedRange::QListLvalue << true;
    QTest::newRow("QList rvalue") << PassedRange::QListRvalue << false;
    QTest::newRow("std::array lvalue") << PassedRange::ArrayLvalue << true;
    QTest::newRow("std::array rvalue") << PassedRange::ArrayRvalue << false;
    QTest::newRow("std::span rvalue (a view)") << PassedRange::SpanRvalue << true;
    QTest::newRow("views::all rvalue (a view)") << PassedRange::ViewsAllRvalue << true;
    QTest::newRow("QList lvalue, implicitly shared") << PassedRange::SharedQListLvalue << true;
}

void tst_Gather::rangeCallablesCopiedOrMoved() {
    QFETCH(PassedRange, kind);
    QFETCH(bool, copied);
    constexpr int n = 4;
    EventLoopThreadRunner runner;
    auto counts = std::make_shared<CopyCounts>();

    std::vector<CountingCallable> vec;
    vec.reserve(n);
    for (int i = 0; i < n; ++i)
        vec.emplace_back(counts, i + 1);
    QList<CountingCallable> list;
    list.reserve(n);
    for (int i = 0; i < n; ++i)
        list.emplace_back(counts, i + 1);
    std::array<CountingCallable, n> arr{CountingCallable(counts, 1), CountingCallable(counts, 2),
                                        CountingCallable(counts, 3), CountingCallable(counts, 4)};
    counts->copies = 0;
    counts->moves = 0;

    QList<int> got;
    switch (kind) {
    case PassedRange::VectorLvalue:
        got = runner.gather(vec);
        break;
    case PassedRange::ConstVectorLvalue:
        got = runner.gather(std::as_const(vec));
        break;
    case PassedRange::VectorRvalue:
        got = runner.gather(std::move(vec));
        break;
    case PassedRange::QListLvalue:
        got = runner.gather(list);
        break;
    case PassedRange::QListRvalue:
        got = runner.gather(std::move(list));
        break;
    case PassedRange::ArrayLvalue:
        got = runner.gather(arr);
        break;
    case PassedRange::ArrayRvalue:
        got = runner.gather(std::move(arr));
        break;
    case PassedRange::SpanRvalue:
        got = runner.gather(std::span<CountingCallable>(vec));
        break;
    case PassedRange::ViewsAllRvalue:
#if PALITRA_TEST_HAVE_REF_VIEW
        got = runner.gather(std::views::all(vec));
#else
        QSKIP("clang < 15 cannot compile libstdc++ 12's ranges::ref_view");
#endif
        break;
    case PassedRange::SharedQListLvalue: {
        const QList<CountingCallable> sharedWith = list;
        got = runner.gather(list);
        QVERIFY(sharedWith.size() == n);
        break;
    }
    }
    QCOMPARE(got, (QList<int>{1, 2, 3, 4}));
    QCOMPARE(counts->invoked.load(), n);
    if (copied) {
        QCOMPARE(counts->copies.load(), n);
        // The caller's callables are untouched.
        if (kind == PassedRange::VectorLvalue || kind == PassedRange::ConstVectorLvalue ||
            kind == PassedRange::SpanRvalue || kind == PassedRange::ViewsAllRvalue ||
            kind == PassedRange::SharedQListLvalue)
            for (const auto &fn : vec)
                QVERIFY(fn.value() > 0);
        if (kind == PassedRange::QListLvalue || kind == PassedRange::SharedQListLvalue)
            for (const auto &fn : std::as_const(list))
                QVERIFY(fn.value() > 0);
        if (kind == PassedRange::ArrayLvalue)
            for (const auto &fn : arr)
                QVERIFY(fn.value() > 0);
    } else {
        QCOMPARE(counts->copies.load(), 0);
        QVERIFY(counts->moves.load() >= n);
    }
}

// results moved, never copied (both gather forms) -----------------------------------------------

void tst_Gather::resultsMovedNeverCopied_data() {
    QTest::addColumn<Form>("form");
    QTest::addColumn<Result>("result");
    QTest::newRow("gather(fns...)") << Form::Variadic << Result::Values;
    QTest::newRow("gather(range)") << Form::Range << Result::Values;
    QTest::newRow("gatherOutcomes(fns...)") << Form::Variadic << Result::Outcomes;
    QTest::newRow("gatherOutcomes(range)") << Form::Range << Result::Outcomes;
}

void tst_Gather::resultsMovedNeverCopied() {
    QFETCH(Form, form);
    const bool range = form == Form::Range;
    QFETCH(Result, result);
    const bool outcomes = result == Result::Outcomes;
    EventLoopThreadRunner runner;
    runner.run([]() -> QCoro::Task<void> { co_return; });
    Counted::reset();
    auto make = [](int v, bool suspend) {
        return [v, suspend]() -> QCoro::Task<Counted> {
            if (suspend)
                co_await palitra::sleepFor(5ms, std::stop_token{});
            co_return Counted(v);
        };
    };
    int sum = 0;
    if (range) {
        std::vector<decltype(make(0, false))> fns;
        for (int i = 1; i <= 4; ++i)
            fns.push_back(make(i, i % 2 == 0));
        if (outcomes) {
            const QList<Outcome<Counted>> got = runner.gatherOutcomes(std::move(fns));
            for (const auto &o : got)
                sum += o.value().value;
        } else {
            const QList<Counted> got = runner.gather(std::move(fns));
            for (const auto &c : got)
                sum += c.value;
        }
    } else if (outcomes) {
        const auto [a, b] = runner.gatherOutcomes(make(1, false), make(2, true));
        sum = a.value().value + b.value().value;
    } else {
        const auto [a, b] = runner.gather(make(1, false), make(2, true));
        sum = a.value + b.value;
    }
    QCOMPARE(sum, range ? 10 : 3);
    QCOMPARE(Counted::copies.load(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(Counted::live(), 0, 5000);
}

// every callable checked before any is dispatched -----------------------------------------------

void tst_Gather::emptyCallableRejectedBeforeAnyStarts_data() {
    QTest::addColumn<EmptyCallable>("kind");
    QTest::newRow("variadic, empty std::function first") << EmptyCallable::EmptyFirst;
    QTest::newRow("variadic, empty std::function in the middle") << EmptyCallable::EmptyMiddle;
    QTest::newRow("variadic, empty std::function last") << EmptyCallable::EmptyLast;
    QTest::newRow("variadic, null function pointer last") << EmptyCallable::NullFunctionPointerLast;
    QTest::newRow("gatherOutcomes variadic, empty last") << EmptyCallable::OutcomesEmptyLast;
    QTest::newRow("range, empty first") << EmptyCallable::RangeEmptyFirst;
    QTest::newRow("range, empty in the middle") << EmptyCallable::RangeEmptyMiddle;
    QTest::newRow("range, empty last") << EmptyCallable::RangeEmptyLast;
    QTest::newRow("gatherOutcomes range, empty last") << EmptyCallable::OutcomesRangeEmptyLast;
    QTest::newRow("range with timeout, empty last") << EmptyCallable::RangeWithTimeoutEmptyLast;
}

void tst_Gather::emptyCallableRejectedBeforeAnyStarts() {
    QFETCH(EmptyCallable, kind);
    EventLoopThreadRunner runner;
    runner.run([]() -> QCoro::Task<void> { co_return; });
    auto sideEffects = std::make_shared<std::atomic<int>>(0);
    IntFn good = [sideEffects]() -> QCoro::Task<int> {
        ++*sideEffects;
        co_return 1;
    };
    IntFn empty;
    QCoro::Task<int> (*nullFn)() = nullptr;
    std::vector<IntFn> range{good, good, good};
    if (kind == EmptyCallable::RangeEmptyFirst)
        range.insert(range.begin(), empty);
    else if (kind == EmptyCallable::RangeEmptyMiddle)
        range.insert(range.begin() + 1, empty);
    else if (kind == EmptyCallable::RangeEmptyLast ||
             kind == EmptyCallable::OutcomesRangeEmptyLast ||
             kind == EmptyCallable::RangeWithTimeoutEmptyLast)
        range.push_back(empty);

    bool invalid = false;
    try {
        switch (kind) {
        case EmptyCallable::EmptyFirst:
            runner.gather(empty, good, good);
            break;
        case EmptyCallable::EmptyMiddle:
            runner.gather(good, empty, good);
            break;
        case EmptyCallable::EmptyLast:
            runner.gather(good, good, empty);
            break;
        case EmptyCallable::NullFunctionPointerLast:
            runner.gather(
                good, [] { return valueAfter(1, 0ms); }, nullFn);
            break;
        case EmptyCallable::OutcomesEmptyLast:
            runner.gatherOutcomes(good, good, empty);
            break;
        case EmptyCallable::RangeEmptyFirst:
        case EmptyCallable::RangeEmptyMiddle:
        case EmptyCallable::RangeEmptyLast:
            runner.gather(range);
            break;
        case EmptyCallable::OutcomesRangeEmptyLast:
            runner.gatherOutcomes(std::move(range));
            break;
        case EmptyCallable::RangeWithTimeoutEmptyLast:
            runner.gather(range, 10s);
            break;
        }
    } catch (const std::invalid_argument &) {
        invalid = true;
    }
    QVERIFY(invalid);
    // A round trip after the rejected gather: anything it had dispatched would have run.
    QCOMPARE(runner.run([] { return valueAfter(42, 0ms); }), 42);
    QCOMPARE(sideEffects->load(), 0);
    QVERIFY(runner.isRunning());
}

// scale -------------------------------------------------------------------------------------------

void tst_Gather::largeGather() {
    constexpr int n = 10000;
    EventLoopThreadRunner runner;
    auto make = [](int i) { return [i]() -> QCoro::Task<int> { co_return i; }; };
    std::vector<decltype(make(0))> fns;
    fns.reserve(n);
    for (int i = 0; i < n; ++i)
        fns.push_back(make(i));
    const QList<int> got = runner.gather(fns, 60s);
    QCOMPARE(got.size(), n);
    bool inOrder = true;
    for (int i = 0; i < n; ++i)
        inOrder = inOrder && got.at(i) == i;
    QVERIFY(inOrder);
    const auto outcomes = runner.gatherOutcomes(std::move(fns), 60s);
    QCOMPARE(outcomes.size(), n);
    QCOMPARE(outcomes.last().value(), n - 1);
}

// the free functions use the global runner ------------------------------------------------------

void tst_Gather::freeFunctions() {
    const auto [a, b] =
        palitra::gather([] { return valueAfter(1, 5ms); }, [] { return valueAfter(2, 0ms); });
    QCOMPARE(a, 1);
    QCOMPARE(b, 2);
    QCOMPARE(palitra::gather(delayedValues(4), 30s), expectedValues(4));
    const auto outcomes = palitra::gatherOutcomes(std::vector<IntFn>{
        [] { return throwAfter(0ms, true); }, [] { return valueAfter(5, 0ms); }});
    QVERIFY(!outcomes.at(0).hasValue());
    QCOMPARE(outcomes.at(1).value(), 5);
    palitra::shutdownGlobalRunner();
}

QTEST_GUILESS_MAIN(tst_Gather)
#include "tst_gather.moc"
