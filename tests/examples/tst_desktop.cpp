// SPDX-License-Identifier: MIT
// The desktop example's window, driven with QTest: the blocking "Load" runs nothing of the GUI
// thread while it waits, and the long work keeps the window responsive and stops on "Cancel".
#include "window.h"

#include <palitra/palitra.h>

#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QLabel>
#include <QPushButton>
#include <QRegularExpression>
#include <QTest>

class tst_Desktop : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void loadBlocksWithoutRunningTheGuiThread();
    void longWorkKeepsTheWindowResponsiveAndCancels();
    void longWorkRunsToTheEnd();
};

namespace {

template<typename T>
T *child(const QWidget &window, const char *name) {
    T *widget = window.findChild<T *>(QLatin1String(name));
    if (!widget)
        qFatal("no child named %s", name);
    return widget;
}

int stepsIn(const QLabel *status) {
    static const QRegularExpression steps(QStringLiteral("(\\d+)/\\d+ steps"));
    return steps.match(status->text()).captured(1).toInt();
}

} // namespace

void tst_Desktop::initTestCase() {
    // The window's quick query has a 500 ms timeout; the first call of a process also starts the
    // global runner's thread, which a sanitizer build on a loaded machine may not schedule in that
    // time. Start it here, so that the clicks measure the window, not the thread's start.
    QCOMPARE(palitra::run([]() -> QCoro::Task<int> { co_return 1; }), 1);
}

void tst_Desktop::loadBlocksWithoutRunningTheGuiThread() {
    Window window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto *load = child<QPushButton>(window, "load");
    auto *result = child<QLabel>(window, "result");

    int ticks = 0;
    QTimer ticker;
    connect(&ticker, &QTimer::timeout, this, [&ticks] { ++ticks; });
    ticker.start(1);
    QTRY_VERIFY(ticks > 0);

    // released is emitted just before clicked, whose first slot is the window's load().
    int ticksBefore = -1;
    int ticksAfter = -1;
    QElapsedTimer blocked;
    connect(load, &QPushButton::released, this, [&] {
        ticksBefore = ticks;
        blocked.start();
    });
    connect(load, &QPushButton::clicked, this, [&] { ticksAfter = ticks; });

    QTest::mouseClick(load, Qt::LeftButton);
    QCOMPARE(result->text(), QStringLiteral("Answer 1 from the palitra-global thread"));
    // The call waited for a 50 ms coroutine, long after the 1 ms ticker was due: a nested event
    // loop would have run it.
    QVERIFY(blocked.elapsed() >= 2);
    QCOMPARE(ticksAfter, ticksBefore);
    QTRY_VERIFY(ticks > ticksAfter); // it runs again once the slot has returned

    QTest::mouseClick(load, Qt::LeftButton);
    QCOMPARE(result->text(), QStringLiteral("Answer 2 from the palitra-global thread"));
}

void tst_Desktop::longWorkKeepsTheWindowResponsiveAndCancels() {
    Window window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto *start = child<QPushButton>(window, "start");
    auto *cancel = child<QPushButton>(window, "cancel");
    auto *status = child<QLabel>(window, "status");

    QTest::mouseClick(start, Qt::LeftButton);
    QVERIFY(!start->isEnabled());
    QVERIFY(cancel->isEnabled());
    // The GUI thread's own timer shows the steps the loop thread makes.
    QTRY_VERIFY(stepsIn(status) >= 2);

    // Still responsive: a quick blocking load works while the long work runs.
    QTest::mouseClick(child<QPushButton>(window, "load"), Qt::LeftButton);
    QVERIFY(child<QLabel>(window, "result")->text().startsWith(QStringLiteral("Answer 1 ")));

    QTest::mouseClick(cancel, Qt::LeftButton);
    // Uncancelled, the work would end with "Done: 30 steps" instead.
    QTRY_VERIFY(status->text().startsWith(QStringLiteral("Cancelled after ")));
    QVERIFY(stepsIn(status) < Window::steps);
    QVERIFY(start->isEnabled());
    QVERIFY(!cancel->isEnabled());
}

void tst_Desktop::longWorkRunsToTheEnd() {
    Window window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto *status = child<QLabel>(window, "status");
    QTest::mouseClick(child<QPushButton>(window, "start"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(status->text(), QStringLiteral("Done: 30 steps"), 60000);
    QVERIFY(child<QPushButton>(window, "start")->isEnabled());
}

QTEST_MAIN(tst_Desktop)
#include "tst_desktop.moc"
