// SPDX-License-Identifier: MIT
// State survives and cooperative stop (docs/SEMANTICS.md) with real network objects: a
// QNetworkAccessManager that outlives a call, and a request that a timeout aborts through
// palitra::abortOnStop(). QNetworkAccessManager runs its own plain thread, so these tests need an
// application object.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QCoro/QCoroNetworkReply>
#include <QHostAddress>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QUrl>

#include <atomic>
#include <chrono>
#include <memory>

using namespace std::chrono_literals;
using palitra::EventLoopThreadRunner;
using palitra::test::elapsedSince;
using Clock = std::chrono::steady_clock;

namespace {

//! A tiny HTTP server that answers every request on a connection with "hello". Requests carry
//! no body here: the blank line after the headers ends each one.
class HelloServer : public QTcpServer {
public:
    explicit HelloServer(QObject *parent = nullptr) : QTcpServer(parent) {
        connect(this, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = nextPendingConnection()) {
                auto buffer = std::make_shared<QByteArray>();
                connect(socket, &QTcpSocket::readyRead, socket, [socket, buffer] {
                    *buffer += socket->readAll();
                    qsizetype end;
                    while ((end = buffer->indexOf("\r\n\r\n")) >= 0) {
                        buffer->remove(0, end + 4);
                        socket->write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                      "Content-Length: 5\r\n\r\nhello");
                    }
                });
                connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            }
        });
    }
};

QNetworkRequest requestFor(quint16 port) {
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(QStringLiteral("127.0.0.1"));
    url.setPort(port);
    url.setPath(QStringLiteral("/"));
    return QNetworkRequest(url);
}

enum class AwaitWith { QCoroReply, AwaitSignal };

} // namespace

Q_DECLARE_METATYPE(AwaitWith)

class tst_Network : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // State survives
    void networkAccessManagerSurvivesBetweenCalls();

    // Timeout aborts a pending request
    void timeoutAbortsPendingRequest_data();
    void timeoutAbortsPendingRequest();
};

// State survives --------------------------------------------------------------------------

void tst_Network::networkAccessManagerSurvivesBetweenCalls() {
    EventLoopThreadRunner runner;
    QPointer<QNetworkAccessManager> nam;
    QPointer<HelloServer> server;
    quint16 port = 0;
    runner.run([&]() -> QCoro::Task<> {
        server = new HelloServer(runner.context());
        if (server->listen(QHostAddress::LocalHost))
            port = server->serverPort();
        nam = new QNetworkAccessManager(runner.context());
        nam->setProxy(QNetworkProxy::NoProxy);
        co_return;
    });
    QVERIFY(nam);
    QVERIFY(port != 0);

    for (int call = 0; call < 3; ++call) {
        QThread *namThread = nullptr;
        QThread *resumedOn = nullptr;
        QNetworkReply::NetworkError error = QNetworkReply::UnknownNetworkError;
        QByteArray body;
        runner.run(
            [&]() -> QCoro::Task<> {
                namThread = nam->thread();
                QNetworkReply *reply = nam->get(requestFor(port));
                co_await reply;
                resumedOn = QThread::currentThread();
                error = reply->error();
                body = reply->readAll();
                reply->deleteLater();
            },
            30s);
        QCOMPARE(namThread, runner.thread());
        QCOMPARE(resumedOn, runner.thread());
        QCOMPARE(error, QNetworkReply::NoError);
        QCOMPARE(body, QByteArray("hello"));
    }

    runner.run([&]() -> QCoro::Task<> {
        delete nam.data();
        delete server.data();
        co_return;
    });
    QVERIFY(!nam);
    QVERIFY(!server);
}

// Timeout aborts a pending request ------------------------------------------------

void tst_Network::timeoutAbortsPendingRequest_data() {
    QTest::addColumn<AwaitWith>("awaitWith");
    QTest::newRow("co_await reply (QCoro)") << AwaitWith::QCoroReply;
    QTest::newRow("awaitSignal(reply, &QNetworkReply::finished)") << AwaitWith::AwaitSignal;
}

void tst_Network::timeoutAbortsPendingRequest() {
    QFETCH(AwaitWith, awaitWith);
    // Accepts connections (the kernel does, even while this thread is blocked) and never answers.
    QTcpServer silent;
    QVERIFY(silent.listen(QHostAddress::LocalHost));
    const quint16 port = silent.serverPort();

    palitra::test::Watchdog watchdog(60s, "timeoutAbortsPendingRequest");
    EventLoopThreadRunner runner;
    palitra::test::startLoop(runner);
    std::atomic<bool> ended{false};
    std::atomic<int> error{-1};
    std::atomic<QThread *> resumedOn{nullptr};
    const auto start = Clock::now();
    QVERIFY(palitra::test::timeOutAfterInvoking(300ms, [&](auto timeout) {
        (void)runner.run(
            [&]() -> QCoro::Task<> {
                const std::stop_token stop = palitra::currentStopToken();
                auto *nam = new QNetworkAccessManager;
                nam->setProxy(QNetworkProxy::NoProxy);
                QNetworkReply *reply = nam->get(requestFor(port));
                {
                    const auto guard = palitra::abortOnStop(reply, stop);
                    if (awaitWith == AwaitWith::QCoroReply)
                        co_await reply;
                    else
                        co_await palitra::awaitSignal(reply, &QNetworkReply::finished);
                }
                resumedOn = QThread::currentThread();
                error = reply->error();
                reply->deleteLater();
                nam->deleteLater();
                ended = true;
            },
            timeout);
    }));
    const auto elapsed = elapsedSince(start);
    QVERIFY2(elapsed >= 300ms, "TimeoutError came before the timeout: did the request fail?");
    // The server never answers: only the abort that the stop request made can end the request.
    QTRY_VERIFY_WITH_TIMEOUT(ended, 10000);
    QCOMPARE(QNetworkReply::NetworkError(error.load()), QNetworkReply::OperationCanceledError);
    QCOMPARE(resumedOn.load(), runner.thread());
}

QTEST_GUILESS_MAIN(tst_Network)
#include "tst_network.moc"
