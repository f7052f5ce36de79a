// SPDX-License-Identifier: MIT
// DESIGN 1/3.2/3.15: palitra beside a QGuiApplication (this file as tst_guiapp) or a QApplication
// (the same file as tst_widgetsapp, built with Qt6::Widgets). A run() from a slot of the GUI
// thread blocks without re-entering the GUI event loop: the GUI thread's timers, posted calls
// and (for widgets) button clicks wait until it returns.
//
// A custom main(): an explicit runner is started before the application exists and is used
// again after the application is gone.
#include "messagelog.h"
#include "testhelpers.h"

#include <palitra/palitra.h>

#include <QGuiApplication>
#include <QTest>
#include <QThread>
#include <QTimer>
#include <QWindow>

#if defined(PALITRA_TEST_WIDGETS)
#include <QApplication>
#include <QPushButton>
#endif

#include <QCoro/QCoroTimer>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

using namespace std::chrono_literals;
using palitra::test::MessageLog;

#if defined(PALITRA_TEST_WIDGETS)
using Application = QApplication;
#else
using Application = QGuiApplication;
#endif

namespace {

// Long enough that a GUI timer of a few milliseconds would fire many times if the GUI loop ran.
QCoro::Task<int> sleepThenValue(int value) {
    co_await palitra::sleepFor(150ms, palitra::currentStopToken());
    co_return value;
}

//! A window that calls a hook from its expose event.
class HookedWindow : public QWindow {
public:
    std::function<void()> onExpose;

protected:
    void exposeEvent(QExposeEvent *event) override {
        QWindow::exposeEvent(event);
        if (onExpose && isExposed())
            onExpose();
    }
};

} // namespace

class tst_GuiApp : public QObject {
    Q_OBJECT

public:
    explicit tst_GuiApp(palitra::EventLoopThreadRunner *early) : m_early(early) {}

private Q_SLOTS:
    void init() { MessageLog::clear(); }
    void cleanup();

    // Beside the application
    void earlyRunnerWorksWithApplication();
    void coroutineRunsOnTheLoopThread();

    // No re-entrancy into the GUI loop
    void runFromGuiSlotDoesNotFireGuiTimers();
    void gatherFromGuiSlotDoesNotRunPostedCalls();
    void runFromWindowEventDoesNotReenter();
#if defined(PALITRA_TEST_WIDGETS)
    void runFromButtonClickDoesNotReenter();
#endif

private:
    palitra::EventLoopThreadRunner *m_early;
};

void tst_GuiApp::cleanup() {
    QCOMPARE(MessageLog::containing(QStringLiteral("Cannot be used without")), QStringList());
    QCOMPARE(MessageLog::foreignWarnings(), QStringList());
}

// ---- Beside the application ----

void tst_GuiApp::earlyRunnerWorksWithApplication() {
    QVERIFY(qobject_cast<Application *>(QCoreApplication::instance()));
    QVERIFY(m_early->isRunning());
    QCOMPARE(m_early->run([] { return sleepThenValue(1); }), 1);
}

void tst_GuiApp::coroutineRunsOnTheLoopThread() {
    QThread *ranOn = nullptr;
    QCOMPARE(palitra::run([&]() -> QCoro::Task<int> {
                 ranOn = QThread::currentThread();
                 QTimer timer;
                 timer.setSingleShot(true);
                 timer.start(5ms);
                 co_await timer;
                 co_return 2;
             }),
             2);
    QVERIFY(ranOn);
    QVERIFY(ranOn != qApp->thread());
    QVERIFY(palitra::isRunnerAlive());
}

// ---- No re-entrancy into the GUI loop ----

void tst_GuiApp::runFromGuiSlotDoesNotFireGuiTimers() {
    int ticks = 0;
    QTimer guiTimer;
    guiTimer.setInterval(2ms);
    connect(&guiTimer, &QTimer::timeout, this, [&] { ++ticks; });

    std::optional<int> ticksDuringRun;
    std::optional<int> result;
    // The slot runs inside the GUI event loop (QTRY_VERIFY below spins it).
    QTimer::singleShot(0, this, [&] {
        guiTimer.start();
        const int before = ticks;
        result = palitra::run([] { return sleepThenValue(3); }, 30s);
        ticksDuringRun = ticks - before;
    });
    QTRY_VERIFY(result.has_value());
    QCOMPARE(*result, 3);
    QCOMPARE(*ticksDuringRun, 0);
    // The timer is real: it fires once the GUI loop runs again.
    QTRY_VERIFY(ticks > 0);
}

void tst_GuiApp::gatherFromGuiSlotDoesNotRunPostedCalls() {
    bool postedRan = false;
    std::optional<bool> postedRanDuringGather;
    QTimer::singleShot(0, this, [&] {
        QMetaObject::invokeMethod(
            this, [&] { postedRan = true; }, Qt::QueuedConnection);
        const auto [a, b] = m_early->gather([] { return sleepThenValue(1); },
                                            [] { return sleepThenValue(2); }, 30s);
        postedRanDuringGather = postedRan || a + b != 3;
    });
    QTRY_VERIFY(postedRanDuringGather.has_value());
    QVERIFY(!*postedRanDuringGather);
    QTRY_VERIFY(postedRan);
}

void tst_GuiApp::runFromWindowEventDoesNotReenter() {
    // A handler reached through the windowing system's event path: the offscreen platform
    // delivers the expose event from the GUI event loop.
    HookedWindow window;
    window.resize(100, 100);
    int ticks = 0;
    QTimer guiTimer;
    guiTimer.setInterval(2ms);
    connect(&guiTimer, &QTimer::timeout, this, [&] { ++ticks; });
    std::optional<int> ticksDuringRun;
    bool showReturned = false;
    bool fromEventLoop = false;
    window.onExpose = [&] {
        if (ticksDuringRun)
            return;
        fromEventLoop = showReturned;
        guiTimer.start();
        const int before = ticks;
        palitra::run([] { return sleepThenValue(4); });
        ticksDuringRun = ticks - before;
    };
    window.show();
    showReturned = true;
    QTRY_VERIFY(ticksDuringRun.has_value());
    QVERIFY(fromEventLoop);
    QCOMPARE(*ticksDuringRun, 0);
    QTRY_VERIFY(ticks > 0);
}

#if defined(PALITRA_TEST_WIDGETS)
void tst_GuiApp::runFromButtonClickDoesNotReenter() {
    QPushButton button(QStringLiteral("Fetch"));
    button.show();
    int clicks = 0;
    std::optional<int> clicksDuringRun;
    connect(&button, &QPushButton::clicked, this, [&] {
        if (++clicks > 1)
            return; // the second click: only counted
        // A second click is queued while the first is being handled.
        QTimer::singleShot(0, &button, &QPushButton::click);
        const int before = clicks;
        palitra::run([] { return sleepThenValue(5); });
        clicksDuringRun = clicks - before;
    });
    QTimer::singleShot(0, &button, &QPushButton::click);
    QTRY_VERIFY(clicksDuringRun.has_value());
    QCOMPARE(*clicksDuringRun, 0);
    QTRY_COMPARE(clicks, 2);
}
#endif

int main(int argc, char **argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    MessageLog::install();

    // Started before the application exists...
    auto early = std::make_unique<palitra::EventLoopThreadRunner>();
    if (!early->thread())
        return 1;

    int status = 0;
    {
        Application app(argc, argv);
        tst_GuiApp tc(early.get());
        status = QTest::qExec(&tc, argc, argv);
#if !PALITRA_USES_QT_PRIVATE
        early->close(); // its loop thread cannot even quit once the application is gone
#endif
    }
#if !PALITRA_USES_QT_PRIVATE
    std::puts("SKIP   : after the application: palitra was built without Qt's private headers "
              "(PALITRA_USE_QT_PRIVATE=OFF), a runner does not work once the application is gone");
    return status;
#endif

    // ... and still working after it is gone; the global runner went with the application.
    if (palitra::isRunnerAlive()) {
        std::fputs("FAIL: the global runner outlived the application\n", stderr);
        status = 1;
    }
    try {
        if (early->run([] { return sleepThenValue(6); }) != 6)
            status = 1;
        early->close();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "FAIL: runner after the application: %s\n", e.what());
        status = 1;
    }
    if (!MessageLog::containing(QStringLiteral("Cannot be used without")).isEmpty()) {
        std::fputs("FAIL: Qt complained about an event loop without application\n", stderr);
        status = 1;
    }
    return status;
}

#include "tst_guiapp.moc"
