// SPDX-License-Identifier: MIT
#pragma once

#include <QFuture>
#include <QFutureWatcher>
#include <QTimer>
#include <QWidget>

#include <atomic>
#include <memory>

class QLabel;
class QPushButton;

/*!
 * \brief A window with both styles a desktop app needs.
 *
 * "Load" blocks its slot on a short coroutine with palitra::run(): the synchronous style, for
 * results that come fast enough to wait for; the GUI thread runs no event loop meanwhile, so
 * nothing re-enters the window. "Start" hands long work to palitra::submit() and watches the
 * QFuture, so the window stays responsive; "Cancel" calls QFuture::cancel(), which asks the
 * coroutine to stop.
 */
class Window : public QWidget {
    Q_OBJECT

public:
    explicit Window(QWidget *parent = nullptr);
    ~Window() override;

    //! Steps of the long work.
    static constexpr int steps = 30;

private:
    void load();
    void start();
    void cancel();
    void showProgress();
    void workFinished();

    QPushButton *m_load;
    QLabel *m_result;
    QPushButton *m_start;
    QPushButton *m_cancel;
    QLabel *m_status;

    QFuture<int> m_work;
    QFutureWatcher<int> m_watcher;
    //! Written by the coroutine on the loop thread, read by m_progressTimer here: no object is
    //! touched from two threads.
    std::shared_ptr<std::atomic<int>> m_stepsDone;
    QTimer m_progressTimer;
    int m_loads = 0;
};
