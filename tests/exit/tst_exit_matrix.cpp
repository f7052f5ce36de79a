// SPDX-License-Identifier: MIT
// The exit matrix (docs/SEMANTICS.md#exit, #with-or-without-an-application, #signals):
// {no application, application alive, application destroyed earlier} ×
// {return from main, std::exit, std::exit from a coroutine on a loop thread, SIGTERM while main
// is blocked in run()} × {runner idle, call in flight, coroutine suspended forever, many runners}.
//
// Every combination is one exit_matrix_child process. They are all started in initTestCase(),
// several at a time (most of their life is a grace period spent sleeping), and each row of
// endsCleanly() then judges one of them: its exit code (or that SIGTERM killed it), that it
// ended at all (a child still running after 45 s is killed: a hang), whether palitra reported
// the coroutines it abandoned, and that its stderr holds no qFatal, no QEventLoop complaint and
// no sanitizer report.
#include "palitratest.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QHash>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <vector>

using namespace std::chrono_literals;

namespace {

const QStringList apps = {QStringLiteral("none"), QStringLiteral("alive"), QStringLiteral("gone")};
const QStringList ends = {QStringLiteral("return"), QStringLiteral("exit"),
                          QStringLiteral("loop-exit"), QStringLiteral("worker-exit"),
                          QStringLiteral("sigterm")};
const QStringList states = {QStringLiteral("idle"), QStringLiteral("inflight"),
                            QStringLiteral("suspended"), QStringLiteral("many")};

constexpr qint64 hangMs = 45'000; // a child still running then is killed: a hang
constexpr int parallelChildren = 12;

// Whether palitra must report a coroutine abandoned at close.
enum class Abandoned { Reported, NotReported, EitherWay };

struct Case {
    QString app, end, state;
    int exitCode = 0;
    Abandoned abandoned = Abandoned::EitherWay;
    QString name() const { return app + QLatin1Char('/') + end + QLatin1Char('/') + state; }
};

struct Result {
    QProcess::ExitStatus status = QProcess::NormalExit;
    int exitCode = -1;
    qint64 tookMs = 0;
    QString out, err;
};

std::vector<Case> allCases() {
    std::vector<Case> cases;
    int code = 3;
    for (const QString &app : apps) {
        for (const QString &end : ends) {
            for (const QString &state : states) {
                Case c{app, end, state, code++};
                // A graceful close at exit reports the coroutines it abandons once their grace
                // period is over: the report proves that the exit waited for the grace period
                // and then went on. An exit from a loop thread (that loop never runs again) or
                // a signal gives it no chance.
                if (end == QLatin1String("return") || end == QLatin1String("exit") ||
                    end == QLatin1String("worker-exit"))
                    c.abandoned =
                        (state == QLatin1String("suspended") || state == QLatin1String("many"))
                            ? Abandoned::Reported
                            : Abandoned::NotReported;
                cases.push_back(c);
            }
        }
    }
    return cases;
}

// One running child: started, watched, and (for sigterm) signalled once it is blocked.
struct Running {
    Case c;
    std::unique_ptr<QProcess> process;
    QElapsedTimer elapsed;
    QByteArray out;
    bool signalled = false;
};

} // namespace

Q_DECLARE_METATYPE(Abandoned)

class tst_ExitMatrix : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void endsCleanly_data();
    void endsCleanly();

private:
    QHash<QString, Result> m_results;
};

void tst_ExitMatrix::initTestCase() {
    const std::vector<Case> cases = allCases();
    const QProcessEnvironment env = palitra::test::childEnvironment();
    std::vector<std::unique_ptr<Running>> running;
    std::size_t next = 0;
    int finished = 0;
    QEventLoop loop;
    QElapsedTimer total;
    total.start();

    // Starts children until parallelChildren run; each reports to m_results when it ends.
    std::function<void()> startMore = [&] {
        while (next < cases.size() &&
               std::count_if(running.begin(), running.end(), [](const auto &r) {
                   return r->process != nullptr;
               }) < parallelChildren) {
            auto r = std::make_unique<Running>();
            r->c = cases[next++];
            r->process = std::make_unique<QProcess>();
            QProcess *p = r->process.get();
            Running *raw = r.get();
            p->setProcessEnvironment(env);
            QObject::connect(p, &QProcess::readyReadStandardOutput, p, [raw] {
                raw->out += raw->process->readAllStandardOutput();
                if (raw->c.end == QLatin1String("sigterm") && !raw->signalled &&
                    raw->out.contains("child: blocked")) {
                    raw->signalled = true;
                    raw->process->terminate(); // SIGTERM on Unix
                }
            });
            auto done = [&, raw] {
                Result res;
                res.tookMs = raw->elapsed.elapsed();
                res.status = raw->process->exitStatus();
                res.exitCode = raw->process->exitCode();
                raw->out += raw->process->readAllStandardOutput();
                res.out = QString::fromLocal8Bit(raw->out);
                res.err = QString::fromLocal8Bit(raw->process->readAllStandardError());
                m_results.insert(raw->c.name(), res);
                raw->process.release()->deleteLater();
                ++finished;
                if (finished == int(cases.size()))
                    loop.quit();
                else
                    QTimer::singleShot(0, &loop, [&] { startMore(); });
            };
            QObject::connect(p, &QProcess::finished, p, [done] { done(); });
            QObject::connect(p, &QProcess::errorOccurred, p, [raw, done](QProcess::ProcessError e) {
                if (e == QProcess::FailedToStart) {
                    raw->out +=
                        "[parent: failed to start: " + raw->process->errorString().toLocal8Bit() +
                        "]\n";
                    done();
                }
            });
            // A hang: kill it; the finished signal then records it as hung.
            QTimer::singleShot(hangMs, p, [raw] {
                if (raw->process && raw->process->state() != QProcess::NotRunning) {
                    raw->out += "\n[parent: killed after a hang]\n";
                    raw->process->kill();
                }
            });
            raw->elapsed.start();
            p->start(QStringLiteral(PALITRA_EXIT_MATRIX_CHILD),
                     {r->c.app, r->c.end, r->c.state, QString::number(r->c.exitCode)});
            running.push_back(std::move(r));
        }
    };
    startMore();
    loop.exec();
    qInfo("exit matrix: %zu children in %lld ms", cases.size(),
          static_cast<long long>(total.elapsed()));
}

void tst_ExitMatrix::endsCleanly_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<bool>("killedBySignal");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<Abandoned>("abandoned");
    QTest::addColumn<bool>("loopExit");
    for (const Case &c : allCases())
        QTest::newRow(qPrintable(c.name()))
            << c.name() << (c.end == QLatin1String("sigterm")) << c.exitCode << c.abandoned
            << (c.end == QLatin1String("loop-exit"));
}

void tst_ExitMatrix::endsCleanly() {
    QFETCH(QString, key);
    QFETCH(bool, killedBySignal);
    QFETCH(int, exitCode);
    QFETCH(Abandoned, abandoned);
    QFETCH(bool, loopExit);
#if !PALITRA_USES_QT_PRIVATE
    // "alive/return/many" closes its static and local runners after main's application is gone.
    if (!key.startsWith(QLatin1String("alive/")) || key == QLatin1String("alive/return/many"))
        QSKIP("palitra was built without Qt's private headers (PALITRA_USE_QT_PRIVATE=OFF): "
              "a runner works only while a QCoreApplication exists");
#endif

    QVERIFY2(m_results.contains(key), "the child did not run");
    const Result r = m_results.value(key);
    const QString report =
        QStringLiteral("took %1 ms, exit status %2, exit code %3\n"
                       "--- stdout ---\n%4\n--- stderr ---\n%5")
            .arg(r.tookMs)
            .arg(QLatin1String(r.status == QProcess::NormalExit ? "normal" : "crash"))
            .arg(r.exitCode)
            .arg(r.out, r.err);
    QVERIFY2(!r.out.contains(QLatin1String("[parent: killed after a hang]")),
             qPrintable(QStringLiteral("the child hung; ") + report));

    if (killedBySignal) {
        QVERIFY2(r.out.contains(QLatin1String("child: blocked")),
                 qPrintable(QStringLiteral("the child never blocked; ") + report));
        QVERIFY2(r.status == QProcess::CrashExit,
                 qPrintable(QStringLiteral("SIGTERM did not kill the child; ") + report));
        QVERIFY2(r.exitCode == SIGTERM,
                 qPrintable(QStringLiteral("killed by another signal; ") + report));
    } else {
        QVERIFY2(r.status == QProcess::NormalExit,
                 qPrintable(QStringLiteral("the child crashed; ") + report));
        QVERIFY2(r.out.contains(QLatin1String("child: leaving main")) ||
                     r.out.contains(QLatin1String("child: calling exit")),
                 qPrintable(QStringLiteral("the child did not get to its end; ") + report));
        QVERIFY2(r.exitCode == exitCode,
                 qPrintable(QStringLiteral("exit code %1 expected; ").arg(exitCode) + report));
    }

    for (const char *forbidden :
         {"QThread: Destroyed while thread is still running", "QEventLoop: Cannot be used",
          "AddressSanitizer", "ThreadSanitizer", "LeakSanitizer", "runtime error:"}) {
        QVERIFY2(!r.err.contains(QLatin1String(forbidden)),
                 qPrintable(QStringLiteral("stderr holds \"%1\"; ").arg(QLatin1String(forbidden)) +
                            report));
    }
    // The joiner of a runner whose own loop thread is busy running exit() may rightly give up.
    if (!loopExit)
        QVERIFY2(!r.err.contains(QLatin1String("did not end within the grace period")),
                 qPrintable(report));
    // palitra's qCWarning (category "palitra") reports coroutines abandoned at close.
    if (abandoned != Abandoned::EitherWay) {
        const bool reported = abandoned == Abandoned::Reported;
        QVERIFY2(r.err.contains(QLatin1String("abandoned")) == reported,
                 qPrintable(QStringLiteral("abandoned coroutines %1 reported; ")
                                .arg(QLatin1String(reported ? "not" : "wrongly")) +
                            report));
    }
    // No check of how long it took: a child that hangs is killed after hangMs and fails above.
}

QTEST_GUILESS_MAIN(tst_ExitMatrix)

#include "tst_exit_matrix.moc"
