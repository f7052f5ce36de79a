// SPDX-License-Identifier: MIT
// LoopLocal<T>, the loop hooks of RunnerOptions and setGlobalRunnerOptions(): state that belongs
// to a loop thread and follows its life. See
// docs/SEMANTICS.md#non-blocking-calls-and-loop-owned-state.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QNetworkAccessManager>
#include <QPointer>
#include <QScopeGuard>
#include <QTest>

#include <atomic>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::LoopLocal;
using palitra::test::Gate;
using palitra::test::JoiningThread;

namespace {

static_assert(!std::is_copy_constructible_v<LoopLocal<int>>);
static_assert(!std::is_move_constructible_v<LoopLocal<int>>);

//! An ordered record of what happened, from any thread.
class Journal {
public:
    void add(std::string entry) {
        const std::lock_guard lock(m_mutex);
        m_entries.push_back(std::move(entry));
    }
    std::vector<std::string> entries() const {
        const std::lock_guard lock(m_mutex);
        return m_entries;
    }
    //! The position of \a entry, or -1.
    int indexOf(const std::string &entry) const {
        const auto all = entries();
        for (std::size_t i = 0; i < all.size(); ++i)
            if (all[i] == entry)
                return int(i);
        return -1;
    }
    void clear() {
        const std::lock_guard lock(m_mutex);
        m_entries.clear();
    }

private:
    mutable std::mutex m_mutex;
    std::vector<std::string> m_entries;
};

Journal journal;

//! Records where it was made and destroyed.
struct Tracked {
    static inline std::atomic<int> made{0};
    static inline std::atomic<int> live{0};
    explicit Tracked(int v = 0) : value(v), madeOn(QThread::currentThread()) {
        ++made;
        ++live;
    }
    ~Tracked() {
        destroyedOn = QThread::currentThread();
        --live;
        journal.add("value destroyed");
    }
    int value;
    QThread *madeOn;
    static inline std::atomic<QThread *> destroyedOn{nullptr};
};

void resetTracked() {
    Tracked::made = 0;
    Tracked::live = 0;
    Tracked::destroyedOn = nullptr;
    journal.clear();
}

// Warnings of the "palitra" category, in the journal with the rest.
void journalingHandler(QtMsgType type, const QMessageLogContext &context, const QString &text) {
    if (type == QtWarningMsg && qstrcmp(context.category, "palitra") == 0)
        journal.add("warning: " + text.toStdString());
}

bool hasWarningContaining(const std::string &part) {
    for (const auto &entry : journal.entries())
        if (entry.rfind("warning: ", 0) == 0 && entry.find(part) != std::string::npos)
            return true;
    return false;
}

} // namespace

class tst_LoopLocal : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { resetTracked(); }

    // LoopLocal<T>
    void madeLazilyOnceOnTheLoopThread();
    void oneValuePerRunner();
    void destroyedOnItsLoopThreadWhenTheRunnerCloses();
    void destroyedBeforeAbandonedFramesAreReported();
    void aDestructorMayUseOlderValuesOnly();
    void offTheLoopThreadThrowsError();
    void factoryForNonDefaultTypes();
    void factoryReturningNullThrows();
    void freshValueAfterShutdownGlobalRunner();
    void networkAccessManagerTypicalUse();

    // Loop hooks
    void hooksRunOnTheLoopThreadInOrder();
    void hookExceptionIsReportedAndLoopRunsOn();
    void globalRunnerOptionsApplyToTheNextGlobalRunner();
};

void tst_LoopLocal::madeLazilyOnceOnTheLoopThread() {
    LoopLocal<Tracked> local;
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    QCOMPARE(Tracked::made.load(), 0); // nothing until first use
    Tracked *first = runner.run([&]() -> QCoro::Task<Tracked *> { co_return &local.get(); });
    Tracked *second = runner.run([&]() -> QCoro::Task<Tracked *> {
        co_await palitra::sleepFor(1ms, std::stop_token{});
        co_return local.operator->(); // after a suspension too
    });
    QCOMPARE(first, second);
    QCOMPARE(Tracked::made.load(), 1);
    QCOMPARE(first->madeOn, runner.thread());
    // Any code on the loop thread may use it, not only coroutines.
    Tracked *fromPostedFunctor = nullptr;
    std::latch posted(1);
    QMetaObject::invokeMethod(runner.context(), [&] {
        fromPostedFunctor = &*local;
        posted.count_down();
    });
    posted.wait();
    QCOMPARE(fromPostedFunctor, first);
}

void tst_LoopLocal::oneValuePerRunner() {
    LoopLocal<Tracked> local;
    EventLoopThreadRunner a;
    EventLoopThreadRunner b;
    Tracked *inA = a.run([&]() -> QCoro::Task<Tracked *> { co_return &local.get(); });
    Tracked *inB = b.run([&]() -> QCoro::Task<Tracked *> { co_return &local.get(); });
    QVERIFY(inA != inB);
    QCOMPARE(inA->madeOn, a.thread());
    QCOMPARE(inB->madeOn, b.thread());
    QCOMPARE(Tracked::live.load(), 2);
}

void tst_LoopLocal::destroyedOnItsLoopThreadWhenTheRunnerCloses() {
    LoopLocal<Tracked> local;
    QThread *loop = nullptr;
    {
        EventLoopThreadRunner runner;
        loop = runner.thread();
        runner.run([&]() -> QCoro::Task<> {
            local.get();
            co_return;
        });
        QCOMPARE(Tracked::live.load(), 1);
        runner.close();
        QCOMPARE(Tracked::live.load(), 0); // by the time close() returns
    }
    QCOMPARE(Tracked::destroyedOn.load(), loop);
}

void tst_LoopLocal::aDestructorMayUseOlderValuesOnly() {
    LoopLocal<Tracked> older([] { return std::make_unique<Tracked>(5); });
    LoopLocal<Tracked> neverMade;
    //! What the destructor below saw.
    struct Seen {
        std::atomic<int> olderValue{0};
        std::atomic<bool> neverMadeRefused{false};
        std::atomic<bool> ownRefused{false};
    } seen;
    const auto refusedAsEnding = [](auto &local) {
        try {
            local.get();
        } catch (const palitra::Error &error) {
            return std::string(error.what()).find("ending") != std::string::npos;
        }
        return false;
    };
    //! Asks, from its destructor, for a value made before it, one never made, and its own.
    struct UsesOthers {
        LoopLocal<Tracked> &older;
        LoopLocal<Tracked> &neverMade;
        LoopLocal<UsesOthers> &self;
        Seen &seen;
        decltype(refusedAsEnding) refused;
        ~UsesOthers() {
            try {
                seen.olderValue = older->value;
            } catch (const palitra::Error &) {
                seen.olderValue = -1;
            }
            seen.neverMadeRefused = refused(neverMade);
            seen.ownRefused = refused(self); // being destroyed: not handed out again
        }
    };
    LoopLocal<UsesOthers> user([&] {
        return std::unique_ptr<UsesOthers>(
            new UsesOthers{older, neverMade, user, seen, refusedAsEnding});
    });
    {
        EventLoopThreadRunner runner;
        runner.run([&]() -> QCoro::Task<> {
            older.get();
            user.get(); // newer: destroyed first
            co_return;
        });
    }
    QCOMPARE(seen.olderValue.load(), 5);
    QVERIFY(seen.neverMadeRefused);
    QVERIFY(seen.ownRefused);
    QCOMPARE(Tracked::made.load(), 1); // nothing was made while the loop ended
    QCOMPARE(Tracked::live.load(), 0);
}

void tst_LoopLocal::destroyedBeforeAbandonedFramesAreReported() {
    LoopLocal<Tracked> local;
    const QtMessageHandler previous = qInstallMessageHandler(journalingHandler);
    const auto restore = qScopeGuard([previous] { qInstallMessageHandler(previous); });
    {
        EventLoopThreadRunner runner(palitra::RunnerOptions{.closeGracePeriod = 20ms});
        Gate *gate =
            runner.run([&]() -> QCoro::Task<Gate *> { co_return new Gate(runner.context()); });
        // Ignores its stop request: abandoned when the grace period ends.
        (void)runner.submit([&local, gate]() -> QCoro::Task<> {
            local.get();
            co_await palitra::awaitSignal(gate, &Gate::opened, std::stop_token{});
        });
        QTRY_VERIFY(runner.run([gate]() -> QCoro::Task<bool> { co_return gate->hasListener(); }));
        runner.close();
    }
    const int destroyed = journal.indexOf("value destroyed");
    QVERIFY(destroyed >= 0);
    QVERIFY(hasWarningContaining("abandoned"));
    for (int i = 0; i < destroyed; ++i)
        QVERIFY2(journal.entries()[i].find("abandoned") == std::string::npos,
                 "the abandoned frames were reported before the value was destroyed");
}

void tst_LoopLocal::offTheLoopThreadThrowsError() {
    LoopLocal<Tracked> local;
    try {
        local.get();
        QFAIL("get() off a loop thread did not throw");
    } catch (const palitra::Error &e) {
        const std::string message = e.what();
        QVERIFY2(message.find("not a runner's loop thread") != std::string::npos, e.what());
        QVERIFY2(message.find("inside a coroutine") != std::string::npos, e.what());
    }
    EventLoopThreadRunner runner;
    // A thread of its own, with an event loop, is not a runner's loop thread either.
    JoiningThread other([&] { QVERIFY_THROWS_EXCEPTION(palitra::Error, local.get()); });
    other.join();
    QCOMPARE(Tracked::made.load(), 0);
}

void tst_LoopLocal::factoryForNonDefaultTypes() {
    struct NeedsArgument {
        explicit NeedsArgument(std::string n) : name(std::move(n)) {}
        std::string name;
    };
    std::atomic<QThread *> factoryRanOn{nullptr};
    LoopLocal<NeedsArgument> local([&] {
        factoryRanOn = QThread::currentThread();
        return std::make_unique<NeedsArgument>("made by the factory");
    });
    EventLoopThreadRunner runner;
    const std::string name =
        runner.run([&]() -> QCoro::Task<std::string> { co_return local->name; });
    QCOMPARE(name, std::string("made by the factory"));
    QCOMPARE(factoryRanOn.load(), runner.thread());
}

void tst_LoopLocal::factoryReturningNullThrows() {
    LoopLocal<Tracked> local([] { return std::unique_ptr<Tracked>(); });
    EventLoopThreadRunner runner;
    QVERIFY_THROWS_EXCEPTION(palitra::Error,
                             runner.run([&]() -> QCoro::Task<int> { co_return local->value; }));
    QVERIFY(runner.isRunning());
}

void tst_LoopLocal::freshValueAfterShutdownGlobalRunner() {
    static LoopLocal<Tracked> local([] {
        static int next = 0;
        return std::make_unique<Tracked>(++next);
    });
    const auto [firstValue, firstLoop] =
        palitra::run([]() -> QCoro::Task<std::pair<int, QThread *>> {
            co_return std::pair{local->value, QThread::currentThread()};
        });
    palitra::shutdownGlobalRunner();
    QCOMPARE(Tracked::live.load(), 0);
    QCOMPARE(Tracked::destroyedOn.load(), firstLoop); // on the old loop thread
    const int secondValue = palitra::run([]() -> QCoro::Task<int> { co_return local->value; });
    QVERIFY(secondValue != firstValue);
    QCOMPARE(Tracked::made.load(), 2);
    palitra::shutdownGlobalRunner();
}

void tst_LoopLocal::networkAccessManagerTypicalUse() {
    static LoopLocal<QNetworkAccessManager> nam;
    EventLoopThreadRunner runner;
    QNetworkAccessManager *first =
        runner.run([]() -> QCoro::Task<QNetworkAccessManager *> { co_return &nam.get(); });
    QNetworkAccessManager *again =
        runner.run([]() -> QCoro::Task<QNetworkAccessManager *> { co_return nam.operator->(); });
    QCOMPARE(first, again);
    QCOMPARE(first->thread(), runner.thread());
    QPointer<QNetworkAccessManager> watch = first;
    runner.close();
    QVERIFY(watch.isNull()); // destroyed with its loop, not leaked
}

void tst_LoopLocal::hooksRunOnTheLoopThreadInOrder() {
    LoopLocal<Tracked> local;
    std::atomic<QThread *> startedOn{nullptr};
    std::atomic<QThread *> finishingOn{nullptr};
    palitra::RunnerOptions options;
    options.onLoopStarted = [&] {
        startedOn = QThread::currentThread();
        journal.add("started");
    };
    options.onLoopFinishing = [&] {
        finishingOn = QThread::currentThread();
        journal.add("finishing");
    };
    QThread *loop = nullptr;
    {
        EventLoopThreadRunner runner(options);
        QCOMPARE(journal.indexOf("started"), -1); // lazy start: no thread, no hook
        loop = runner.run([&]() -> QCoro::Task<QThread *> {
            journal.add("call");
            local.get();
            co_await palitra::sleepFor(1ms, std::stop_token{});
            journal.add("coroutine ended");
            co_return QThread::currentThread();
        });
    }
    QCOMPARE(startedOn.load(), loop);
    QCOMPARE(finishingOn.load(), loop);
    const std::vector<std::string> expected{"started", "call", "coroutine ended", "finishing",
                                            "value destroyed"};
    QCOMPARE(journal.entries(), expected);
}

void tst_LoopLocal::hookExceptionIsReportedAndLoopRunsOn() {
    const QtMessageHandler previous = qInstallMessageHandler(journalingHandler);
    const auto restore = qScopeGuard([previous] { qInstallMessageHandler(previous); });
    palitra::RunnerOptions options;
    options.onLoopStarted = [] { throw std::runtime_error("started went wrong"); };
    options.onLoopFinishing = [] { throw 42; };
    {
        EventLoopThreadRunner runner(options);
        QCOMPARE(runner.run([]() -> QCoro::Task<int> { co_return 7; }), 7);
    }
    QVERIFY(hasWarningContaining("started went wrong"));
    QVERIFY(hasWarningContaining("onLoopFinishing"));
}

void tst_LoopLocal::globalRunnerOptionsApplyToTheNextGlobalRunner() {
    palitra::shutdownGlobalRunner();
    const auto nameNow = [] {
        return palitra::run(
            []() -> QCoro::Task<QString> { co_return QThread::currentThread()->objectName(); });
    };
    QCOMPARE(nameNow(), QStringLiteral("palitra-global"));

    std::atomic<int> started{0};
    palitra::RunnerOptions options;
    options.threadName = QStringLiteral("custom-global");
    options.onLoopStarted = [&] { ++started; };
    palitra::setGlobalRunnerOptions(options);
    QCOMPARE(nameNow(), QStringLiteral("palitra-global")); // the existing runner keeps its own
    QCOMPARE(started.load(), 0);

    palitra::shutdownGlobalRunner();
    QCOMPARE(nameNow(), QStringLiteral("custom-global"));
    QCOMPARE(started.load(), 1);
    palitra::shutdownGlobalRunner();
    QCOMPARE(nameNow(), QStringLiteral("custom-global")); // and each one re-created after it
    QCOMPARE(started.load(), 2);

    // Options that leave the thread name at its default keep the global runner's own.
    palitra::shutdownGlobalRunner();
    palitra::setGlobalRunnerOptions(palitra::RunnerOptions{});
    QCOMPARE(nameNow(), QStringLiteral("palitra-global"));
    palitra::shutdownGlobalRunner();
}

QTEST_GUILESS_MAIN(tst_LoopLocal)
#include "tst_loop_local.moc"
