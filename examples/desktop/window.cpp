// SPDX-License-Identifier: MIT
#include "window.h"

#include <palitra/palitra.h>

#include <QGridLayout>
#include <QLabel>
#include <QPushButton>
#include <QThread>

using namespace std::chrono_literals;

namespace {

//! Stands for a quick asynchronous query: an answer after 50 ms on the loop thread.
QCoro::Task<QString> quickQuery(int call) {
    co_await palitra::sleepFor(50ms, palitra::currentStopToken());
    co_return QStringLiteral("Answer %1 from the %2 thread")
        .arg(call)
        .arg(QThread::currentThread()->objectName());
}

//! Stands for long asynchronous work in steps (downloads, a remote job); stops when asked.
QCoro::Task<int> longWork(std::shared_ptr<std::atomic<int>> stepsDone) {
    const std::stop_token stop = palitra::currentStopToken();
    for (int i = 0; i < Window::steps; ++i) {
        if (!co_await palitra::sleepFor(100ms, stop))
            break;
        ++*stepsDone;
    }
    co_return stepsDone->load();
}

} // namespace

Window::Window(QWidget *parent)
    : QWidget(parent), m_load(new QPushButton(tr("Load"))),
      m_result(new QLabel(tr("Nothing loaded yet"))), m_start(new QPushButton(tr("Start"))),
      m_cancel(new QPushButton(tr("Cancel"))), m_status(new QLabel(tr("Idle"))) {
    setWindowTitle(tr("palitra desktop example"));
    m_load->setObjectName(QStringLiteral("load"));
    m_result->setObjectName(QStringLiteral("result"));
    m_start->setObjectName(QStringLiteral("start"));
    m_cancel->setObjectName(QStringLiteral("cancel"));
    m_status->setObjectName(QStringLiteral("status"));
    m_cancel->setEnabled(false);
    m_result->setMinimumWidth(320);

    auto *layout = new QGridLayout(this);
    layout->addWidget(new QLabel(tr("Quick query, blocking (palitra::run, 500 ms timeout):")), 0, 0,
                      1, 3);
    layout->addWidget(m_load, 1, 0);
    layout->addWidget(m_result, 1, 1, 1, 2);
    layout->addWidget(new QLabel(tr("Long work, non-blocking (palitra::submit + QFuture):")), 2, 0,
                      1, 3);
    layout->addWidget(m_start, 3, 0);
    layout->addWidget(m_cancel, 3, 1);
    layout->addWidget(m_status, 3, 2);

    connect(m_load, &QPushButton::clicked, this, &Window::load);
    connect(m_start, &QPushButton::clicked, this, &Window::start);
    connect(m_cancel, &QPushButton::clicked, this, &Window::cancel);
    connect(&m_watcher, &QFutureWatcher<int>::finished, this, &Window::workFinished);
    connect(&m_progressTimer, &QTimer::timeout, this, &Window::showProgress);
}

Window::~Window() {
    m_work.cancel(); // the coroutine stops; nothing it uses belongs to this window
}

void Window::load() {
    try {
        const int call = ++m_loads;
        m_result->setText(palitra::run([call] { return quickQuery(call); }, 500ms));
    } catch (const palitra::TimeoutError &) {
        m_result->setText(tr("Timed out"));
    } catch (const std::exception &e) {
        m_result->setText(tr("Failed: %1").arg(QString::fromLocal8Bit(e.what())));
    }
}

void Window::start() {
    m_stepsDone = std::make_shared<std::atomic<int>>(0);
    m_work = palitra::submit([done = m_stepsDone] { return longWork(done); });
    m_watcher.setFuture(m_work);
    m_start->setEnabled(false);
    m_cancel->setEnabled(true);
    showProgress();
    m_progressTimer.start(100ms);
}

void Window::cancel() {
    m_work.cancel();
}

void Window::showProgress() {
    m_status->setText(tr("Working: %1/%2 steps").arg(m_stepsDone->load()).arg(steps));
}

void Window::workFinished() {
    m_progressTimer.stop();
    m_start->setEnabled(true);
    m_cancel->setEnabled(false);
    if (m_work.isCanceled()) {
        m_status->setText(tr("Cancelled after %1/%2 steps").arg(m_stepsDone->load()).arg(steps));
        return;
    }
    try {
        m_status->setText(tr("Done: %1 steps").arg(m_work.result()));
    } catch (const std::exception &e) {
        m_status->setText(tr("Failed: %1").arg(QString::fromLocal8Bit(e.what())));
    }
}
