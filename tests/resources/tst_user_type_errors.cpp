// SPDX-License-Identifier: MIT
//
// Exceptions from the user's own types (docs/SEMANTICS.md#errors): a result whose move throws, a
// result whose copy throws, a callable whose copy or move throws, a callable that throws instead of
// returning a Task. Each ends with that exception in the caller, nothing escapes into the Qt event
// loop (Qt would print "Qt has caught an exception thrown from an event handler" and terminate),
// no object is leaked, and the runner serves the next call.
//
// Out of scope: a destructor that throws while the stack unwinds (a coroutine local, a capture or
// a result). Destructors are noexcept in C++, so that is std::terminate in any code, with or
// without palitra.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QCoro/QCoroTask>
#include <QTest>

#include <atomic>
#include <functional>
#include <mutex>
#include <vector>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::test::Counted;

namespace {

struct MoveError {};
struct CopyError {};

//! What the coroutines co_return: QCoro 0.8 builds the result from it in place. (QCoro's
//! TaskPromise::return_value() is noexcept, so a result type whose move throws *inside*
//! `co_return value;` is std::terminate in QCoro itself, before palitra sees anything.)
struct Seed {
    int value;
};

//! Throws MoveError from the countdown-th move (counting all threads), when armed.
struct MoveThrows {
    static inline std::atomic<int> countdown{0}; // 0: disarmed
    static inline std::atomic<int> moves{0};
    int value = 0;
    Counted tracked;
    MoveThrows(Seed s) noexcept : value(s.value) {} // NOLINT: implicit, see Seed
    MoveThrows(MoveThrows &&o) noexcept(false) : value(o.value), tracked(o.tracked) {
        ++moves;
        if (countdown.load() > 0 && countdown.fetch_sub(1) == 1)
            throw MoveError{};
    }
    MoveThrows(const MoveThrows &o) : value(o.value), tracked(o.tracked) {}
    MoveThrows &operator=(MoveThrows &&) = default;
    MoveThrows &operator=(const MoveThrows &) = default;
};

//! A move-only result whose move throws (gather(range) gives a std::vector of these).
struct MoveOnlyMoveThrows {
    int value = 0;
    Counted tracked;
    MoveOnlyMoveThrows(Seed s) noexcept : value(s.value) {} // NOLINT: implicit, see Seed
    MoveOnlyMoveThrows(MoveOnlyMoveThrows &&o) noexcept(false)
        : value(o.value), tracked(o.tracked) {
        ++MoveThrows::moves;
        if (MoveThrows::countdown.load() > 0 && MoveThrows::countdown.fetch_sub(1) == 1)
            throw MoveError{};
    }
    MoveOnlyMoveThrows(const MoveOnlyMoveThrows &) = delete;
    MoveOnlyMoveThrows &operator=(MoveOnlyMoveThrows &&) = default;
};

//! A result whose copy always throws: palitra moves results, so it must never be copied.
struct CopyThrows {
    int value = 0;
    explicit CopyThrows(int v) : value(v) {}
    CopyThrows(CopyThrows &&) noexcept = default;
    CopyThrows(const CopyThrows &) { throw CopyError{}; }
    CopyThrows &operator=(CopyThrows &&) noexcept = default;
    CopyThrows &operator=(const CopyThrows &) { throw CopyError{}; }
};

//! A capture whose copy (and, when asked, move) throws.
struct Bomb {
    static inline std::atomic<bool> moveThrows{false};
    Counted tracked;
    Bomb() = default;
    Bomb(const Bomb &) { throw CopyError{}; }
    Bomb(Bomb &&o) noexcept(false) : tracked(std::move(o.tracked)) {
        if (moveThrows)
            throw MoveError{};
    }
};

QCoro::Task<int> answer() {
    co_await palitra::sleepFor(1ms, palitra::currentStopToken());
    co_return 42;
}

//! Flags any message about an exception reaching Qt's event loop.
std::atomic<int> qtSawException{0};
QtMessageHandler previousHandler = nullptr;
void watchMessages(QtMsgType type, const QMessageLogContext &context, const QString &message) {
    if (message.contains(QStringLiteral("exception"), Qt::CaseInsensitive))
        ++qtSawException;
    previousHandler(type, context, message);
}

// Which call a row makes with a result whose moves throw.
enum class ResultApi { Run, GatherVariadic, GatherRange, GatherOutcomesRange, GatherRangeMoveOnly };

} // namespace

Q_DECLARE_METATYPE(ResultApi)

class tst_UserTypeErrors : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    // Results.
    void resultMoveThrowsAtEveryMove_data();
    void resultMoveThrowsAtEveryMove();
    void resultCopyThrowsIsNeverCopied();

    // Callables.
    void callableCopyThrows();
    void callableMoveThrows();
    void callableThrowsInsteadOfReturningATask();

private:
    void verifyRunnerServes();
    EventLoopThreadRunner *m_runner = nullptr;
    long m_live = 0;
};

void tst_UserTypeErrors::initTestCase() {
    previousHandler = qInstallMessageHandler(watchMessages);
}

void tst_UserTypeErrors::init() {
    m_live = Counted::live();
    m_runner = new EventLoopThreadRunner;
    MoveThrows::countdown = 0;
    Bomb::moveThrows = false;
}

void tst_UserTypeErrors::cleanup() {
    verifyRunnerServes();
    delete m_runner;
    m_runner = nullptr;
    MoveThrows::countdown = 0;
    QCOMPARE(Counted::live(), m_live);
    QCOMPARE(qtSawException.load(), 0);
}

void tst_UserTypeErrors::verifyRunnerServes() {
    QCOMPARE(m_runner->run([] { return answer(); }, 5s), 42);
}

void tst_UserTypeErrors::resultMoveThrowsAtEveryMove_data() {
    QTest::addColumn<ResultApi>("api");
    QTest::newRow("run") << ResultApi::Run;
    QTest::newRow("gather(a, b)") << ResultApi::GatherVariadic;
    QTest::newRow("gather(range)") << ResultApi::GatherRange;
    QTest::newRow("gatherOutcomes(range)") << ResultApi::GatherOutcomesRange;
    QTest::newRow("gather(range) of a move-only type") << ResultApi::GatherRangeMoveOnly;
}

void tst_UserTypeErrors::resultMoveThrowsAtEveryMove() {
    QFETCH(ResultApi, api);
    const auto make = [](int v) {
        return [v]() -> QCoro::Task<MoveThrows> {
            co_await palitra::sleepFor(1ms, palitra::currentStopToken());
            co_return Seed{v};
        };
    };
    const auto makeMoveOnly = [](int v) {
        return [v]() -> QCoro::Task<MoveOnlyMoveThrows> {
            co_await palitra::sleepFor(1ms, palitra::currentStopToken());
            co_return Seed{v};
        };
    };
    // Fail the k-th move, k = 1, 2, ... until a call makes fewer moves than k.
    int failedAt = 0;
    for (int k = 1; k < 200; ++k) {
        MoveThrows::moves = 0;
        MoveThrows::countdown = k;
        bool threw = false;
        try {
            switch (api) {
            case ResultApi::Run:
                QCOMPARE(m_runner->run(make(1), 5s).value, 1);
                break;
            case ResultApi::GatherVariadic: {
                auto [a, b] = m_runner->gather(make(1), make(2), 5s);
                QCOMPARE(a.value + b.value, 3);
                break;
            }
            case ResultApi::GatherRange: {
                const std::vector<std::function<QCoro::Task<MoveThrows>()>> fns{make(1), make(2)};
                const auto values = m_runner->gather(fns, 5s);
                QCOMPARE(values.size(), 2);
                break;
            }
            case ResultApi::GatherOutcomesRange: {
                const std::vector<std::function<QCoro::Task<MoveThrows>()>> fns{make(1), make(2)};
                const auto outcomes = m_runner->gatherOutcomes(fns, 5s);
                QCOMPARE(outcomes.size(), 2);
                for (const auto &o : outcomes)
                    (void)o.value(); // a move that failed on the loop thread is the slot's error
                break;
            }
            case ResultApi::GatherRangeMoveOnly: {
                const std::vector<std::function<QCoro::Task<MoveOnlyMoveThrows>()>> fns{
                    makeMoveOnly(1), makeMoveOnly(2)};
                const auto values = m_runner->gather(fns, 5s);
                QCOMPARE(values.size(), std::size_t(2));
                break;
            }
            }
        } catch (const MoveError &) {
            threw = true;
        }
        const bool reached = MoveThrows::countdown.load() == 0;
        MoveThrows::countdown = 0;
        QCOMPARE(threw, reached); // the failed move, and only it, reached the caller
        QTRY_COMPARE(Counted::live(), m_live);
        verifyRunnerServes();
        if (!reached) {
            failedAt = k - 1;
            break;
        }
    }
    QVERIFY(failedAt > 0);
    qInfo("failed each of the %d moves of the result in turn", failedAt);
}

void tst_UserTypeErrors::resultCopyThrowsIsNeverCopied() {
    const auto make = [](int v) {
        return [v]() -> QCoro::Task<CopyThrows> { co_return CopyThrows(v); };
    };
    QCOMPARE(m_runner->run(make(1)).value, 1);
    auto [a, b] = m_runner->gather(make(1), make(2));
    QCOMPARE(a.value + b.value, 3);
    const std::vector<std::function<QCoro::Task<CopyThrows>()>> fns{make(1), make(2)};
    QCOMPARE(m_runner->gather(fns).size(), 2);
    QCOMPARE(m_runner->gatherOutcomes(fns).size(), 2);
}

void tst_UserTypeErrors::callableCopyThrows() {
    std::atomic<int> invoked{0};
    auto bomb = [&invoked, b = Bomb()]() -> QCoro::Task<int> {
        ++invoked;
        (void)b;
        co_return 1;
    };
    using BombFn = decltype(bomb);
    // run(lvalue) and gather(lvalues) copy the callable: the copy's exception reaches the caller.
    QVERIFY_THROWS_EXCEPTION(CopyError, m_runner->run(bomb));
    QVERIFY_THROWS_EXCEPTION(CopyError, m_runner->gather(bomb, bomb));
    // gather of an lvalue range copies every callable before any starts.
    std::vector<BombFn> range;
    range.reserve(3);
    for (int i = 0; i < 3; ++i)
        range.push_back(BombFn(std::move(bomb)));
    QVERIFY_THROWS_EXCEPTION(CopyError, m_runner->gather(range));
    QVERIFY_THROWS_EXCEPTION(CopyError, m_runner->gatherOutcomes(range, 5s));
    QCOMPARE(invoked.load(), 0);
    // Moved in, it works.
    QCOMPARE(m_runner->gather(std::move(range)).size(), 3);
    QCOMPARE(invoked.load(), 3);
}

void tst_UserTypeErrors::callableMoveThrows() {
    std::atomic<int> invoked{0};
    const auto make = [&invoked] {
        return [&invoked, b = Bomb()]() -> QCoro::Task<int> {
            ++invoked;
            (void)b;
            co_return 1;
        };
    };
    using BombFn = decltype(make());
    std::vector<BombFn> range;
    range.reserve(4);
    for (int i = 0; i < 4; ++i)
        range.push_back(make());
    Bomb::moveThrows = true;
    QVERIFY_THROWS_EXCEPTION(MoveError, m_runner->run(make()));
    QVERIFY_THROWS_EXCEPTION(MoveError, m_runner->gather(make(), make()));
    QVERIFY_THROWS_EXCEPTION(MoveError, m_runner->gather(std::move(range)));
    QCOMPARE(invoked.load(), 0);
}

void tst_UserTypeErrors::callableThrowsInsteadOfReturningATask() {
    // A plain function, not a coroutine: it throws before any Task exists.
    const auto notACoroutine = [t = Counted()]() -> QCoro::Task<int> {
        if (t.value == 0)
            throw palitra::test::NotAStdException{7};
        return answer();
    };
    QVERIFY_THROWS_EXCEPTION(palitra::test::NotAStdException, m_runner->run(notACoroutine));
    QVERIFY_THROWS_EXCEPTION(palitra::test::NotAStdException,
                             m_runner->gather(notACoroutine, [] { return answer(); }));
    const auto outcomes = m_runner->gatherOutcomes(std::vector{notACoroutine, notACoroutine});
    QCOMPARE(outcomes.size(), 2);
    QVERIFY(!outcomes[0].hasValue());
}

QTEST_GUILESS_MAIN(tst_UserTypeErrors)
#include "tst_user_type_errors.moc"
