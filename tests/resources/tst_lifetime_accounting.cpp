// SPDX-License-Identifier: MIT
//
// Lifetime accounting (docs/SEMANTICS.md#timeouts, #close): whatever way a call ends — value,
// exception, timeout, close, DeadlockError, invalid argument — every object palitra was given or
// produced (callables, their captures, results, coroutine locals) is destroyed once the coroutines
// have ended: constructions == destructions. The one deliberate exception is a coroutine abandoned
// at close (it ignored its stop request past the grace period): it is counted, reported with a
// qCWarning in category "palitra", and its frame is leaked on purpose.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QCoro/QCoroTask>
#include <QRegularExpression>
#include <QTest>

#include <functional>
#include <latch>
#include <mutex>
#include <optional>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::test::Counted;
using palitra::test::NotAStdException;

namespace {

using Fn = std::function<QCoro::Task<Counted>()>;

enum class Api { Run, GatherTuple, GatherRange, GatherOutcomes };
enum class Ending { Value, Exception, Timeout, Close, Deadlock, InvalidArgument };

// Frames abandoned on purpose stay reachable from here, so that LeakSanitizer sees the leak the
// test asked for as "still reachable" instead of reporting it.
std::vector<void *> abandonedFrames;

//! An awaitable that records the awaiting coroutine's frame and continues at once.
struct RecordFrame {
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        abandonedFrames.push_back(h.address());
        return false;
    }
    void await_resume() const noexcept {}
};

//! Which way the call ended, by name.
template<typename Body>
QString endingOf(Body &&body) {
    try {
        body();
        return QStringLiteral("value");
    } catch (const palitra::TimeoutError &) {
        return QStringLiteral("TimeoutError");
    } catch (const palitra::RunnerClosedError &) {
        return QStringLiteral("RunnerClosedError");
    } catch (const palitra::DeadlockError &) {
        return QStringLiteral("DeadlockError");
    } catch (const std::invalid_argument &) {
        return QStringLiteral("invalid_argument");
    } catch (const NotAStdException &) {
        return QStringLiteral("NotAStdException");
    } catch (...) {
        return QStringLiteral("something else");
    }
}

//! Runs \a a and \a b (b unused for Api::Run) through \a api; a gatherOutcomes slot holding an
//! exception is rethrown so that all APIs report the same way.
void call(Api api, EventLoopThreadRunner &r, const Fn &a, const Fn &b,
          std::chrono::milliseconds timeout) {
    switch (api) {
    case Api::Run: {
        const Counted t = r.run(a, timeout);
        (void)t;
        return;
    }
    case Api::GatherTuple: {
        auto [x, y] = r.gather(a, b, timeout);
        (void)x;
        (void)y;
        return;
    }
    case Api::GatherRange: {
        const std::vector<Fn> fns{a, b};
        const auto values = r.gather(fns, timeout);
        QVERIFY(values.size() == 2);
        return;
    }
    case Api::GatherOutcomes: {
        std::vector<Fn> fns{a, b};
        const auto outcomes = r.gatherOutcomes(std::move(fns), timeout);
        for (const auto &o : outcomes)
            if (!o.hasValue())
                std::rethrow_exception(o.exception());
        return;
    }
    }
}

QCoro::Task<Counted> valueAfter(int v, std::chrono::milliseconds d) {
    const std::stop_token stop = palitra::currentStopToken();
    Counted local(v); // a coroutine local, alive across the suspension
    co_await palitra::sleepFor(d, stop);
    co_return Counted(local.value);
}

QCoro::Task<Counted> throwAfter(int v) {
    const std::stop_token stop = palitra::currentStopToken();
    Counted local(v);
    co_await palitra::sleepFor(1ms, stop);
    throw NotAStdException{local.value};
}

} // namespace

Q_DECLARE_METATYPE(Api)
Q_DECLARE_METATYPE(Ending)

class tst_LifetimeAccounting : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Every ending of every API: constructions == destructions.
    void balanced_data();
    void balanced();

    // The deliberate exception: frames abandoned at close are counted and reported.
    void abandonedAtCloseIsReported();
};

void tst_LifetimeAccounting::balanced_data() {
    QTest::addColumn<Api>("api");
    QTest::addColumn<Ending>("ending");
    QTest::addColumn<QString>("expected");
    const std::pair<Api, const char *> apis[] = {{Api::Run, "run"},
                                                 {Api::GatherTuple, "gather(a, b)"},
                                                 {Api::GatherRange, "gather(range)"},
                                                 {Api::GatherOutcomes, "gatherOutcomes(range)"}};
    const std::tuple<Ending, const char *, const char *> endings[] = {
        {Ending::Value, "value", "value"},
        {Ending::Exception, "exception", "NotAStdException"},
        {Ending::Timeout, "timeout", "TimeoutError"},
        {Ending::Close, "close", "RunnerClosedError"},
        {Ending::Deadlock, "DeadlockError", "DeadlockError"},
        {Ending::InvalidArgument, "invalid argument", "invalid_argument"}};
    for (const auto &[api, apiName] : apis)
        for (const auto &[ending, endingName, expected] : endings)
            QTest::addRow("%s: %s", apiName, endingName)
                << api << ending << QString::fromLatin1(expected);
}

void tst_LifetimeAccounting::balanced() {
    QFETCH(Api, api);
    QFETCH(Ending, ending);
    QFETCH(QString, expected);

    const long before = Counted::live();
    {
        EventLoopThreadRunner runner(palitra::RunnerOptions{QStringLiteral("lifetime"), 2s});
        EventLoopThreadRunner *r = &runner;
        std::latch started(1);
        std::optional<palitra::test::JoiningThread> closer;

        Fn a;
        Fn b = [t = Counted(2)] { return valueAfter(t.value, 1ms); };
        auto timeout = std::chrono::milliseconds(10s);
        switch (ending) {
        case Ending::Value:
            a = [t = Counted(1)] { return valueAfter(t.value, 1ms); };
            break;
        case Ending::Exception:
            a = [t = Counted(1)] { return throwAfter(t.value); };
            break;
        case Ending::Timeout:
            a = [t = Counted(1)] { return valueAfter(t.value, 30s); };
            timeout = 20ms;
            break;
        case Ending::Close:
            a = [t = Counted(1), &started] {
                started.count_down();
                return valueAfter(t.value, 30s);
            };
            closer.emplace([&] {
                started.wait();
                r->close();
            });
            break;
        case Ending::Deadlock:
            a = [t = Counted(1), r]() -> QCoro::Task<Counted> {
                // Blocking on our own loop: DeadlockError, and the inner callable (with its
                // capture) is dropped without being invoked.
                co_return r->run([u = Counted(9)] { return valueAfter(u.value, 0ms); });
            };
            break;
        case Ending::InvalidArgument:
            a = [t = Counted(1)] { return valueAfter(t.value, 1ms); };
            b = Fn{};
            if (api == Api::Run)
                a = Fn{};
            break;
        }

        const QString got = endingOf([&] { call(api, runner, a, b, timeout); });
        QCOMPARE(got, expected);
        closer.reset();

        // The caller's own copies go first; the runner's copies go when their coroutine ends,
        // which a stop request makes prompt (no close() needed).
        a = Fn{};
        b = Fn{};
        QTRY_COMPARE_WITH_TIMEOUT(Counted::live(), before, 5000);
        if (ending != Ending::Close) {
            // The runner is still usable and balances again afterwards.
            QCOMPARE(runner.run([] { return valueAfter(5, 0ms); }).value, 5);
        }
    }
    QCOMPARE(Counted::live(), before);
}

void tst_LifetimeAccounting::abandonedAtCloseIsReported() {
    static std::mutex mutex;
    static QStringList palitraWarnings;
    static QtMessageHandler previous = nullptr;
    previous = qInstallMessageHandler(
        [](QtMsgType type, const QMessageLogContext &context, const QString &message) {
            if (type == QtWarningMsg && qstrcmp(context.category, "palitra") == 0) {
                const std::lock_guard lock(mutex);
                palitraWarnings << message;
            }
            previous(type, context, message);
        });
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("^2 coroutine\\(s\\) of runner "
                                                           "lifetime-abandon .*abandoned")));

    const long before = Counted::live();
    std::latch started(2);
    std::atomic<int> startedAny{0};
    {
        EventLoopThreadRunner runner(
            palitra::RunnerOptions{QStringLiteral("lifetime-abandon"), 50ms});
        // Two coroutines that ignore their stop request for far longer than the grace period.
        const auto stubborn = [&started, &startedAny](int v) {
            return [&started, &startedAny, t = Counted(v)]() -> QCoro::Task<Counted> {
                co_await RecordFrame{};
                ++startedAny;
                started.count_down();
                co_await palitra::sleepFor(1h, std::stop_token{});
                co_return Counted(t.value);
            };
        };
        // A gather whose timeout passes while it is queued (a loaded machine) is never started
        // (its callables are destroyed unstarted): then gather again.
        do {
            const QString got = endingOf([&] { runner.gather(stubborn(1), stubborn(2), 10ms); });
            QCOMPARE(got, QStringLiteral("TimeoutError"));
            // Calls start in order: once this one has run, the gather started or never will.
            QCOMPARE(runner.run([] { return valueAfter(1, 0ms); }).value, 1);
        } while (startedAny.load() == 0);
        started.wait();
        runner.close();
    }
    qInstallMessageHandler(previous);
    {
        const std::lock_guard lock(mutex);
        QCOMPARE(palitraWarnings.size(), 1);
        QVERIFY(palitraWarnings.front().contains(QStringLiteral("abandoned")));
    }
    // Exactly the two captures of the abandoned callables are left: leaked on purpose, with
    // their frames (never resumed, never destroyed).
    QCOMPARE(Counted::live(), before + 2);
    QCOMPARE(abandonedFrames.size(), std::size_t(2));
}

QTEST_GUILESS_MAIN(tst_LifetimeAccounting)
#include "tst_lifetime_accounting.moc"
