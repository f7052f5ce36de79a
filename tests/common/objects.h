// SPDX-License-Identifier: MIT
// QObjects that coroutines wait on in tests. Test code only.
#pragma once

#include <QMetaMethod>
#include <QObject>
#include <QString>
#include <QThread>

#include <atomic>

namespace palitra::test {

//! A sender whose signal coroutines wait for (with palitra::awaitSignal()); the test, or one of
//! the coroutines, opens it from any thread.
class Gate : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    //! True once something listens to opened(): a coroutine is suspended on it.
    bool hasListener() const { return isSignalConnected(QMetaMethod::fromSignal(&Gate::opened)); }
    void open(int code = 0, const QString &text = {}) { Q_EMIT opened(code, text); }

    //! How many coroutines have arrived (touched on the loop thread only).
    int arrived = 0;

Q_SIGNALS:
    void opened(int code, const QString &text);
};

//! A QObject with an abort() member, like QNetworkReply: records where and how often it ran.
class Abortable : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    std::atomic<int> abortCount{0};
    std::atomic<QThread *> abortedOn{nullptr};

public Q_SLOTS:
    void abort() {
        abortedOn = QThread::currentThread();
        ++abortCount;
        Q_EMIT aborted();
    }

Q_SIGNALS:
    void aborted();
};

} // namespace palitra::test
