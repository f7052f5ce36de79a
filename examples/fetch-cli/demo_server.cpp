// SPDX-License-Identifier: MIT
#include "demo_server.h"

#include <QHostAddress>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

namespace {

QByteArray response(int status, const QByteArray &reason, const QByteArray &body) {
    return "HTTP/1.1 " + QByteArray::number(status) + ' ' + reason +
           "\r\nContent-Type: text/plain\r\nContent-Length: " + QByteArray::number(body.size()) +
           "\r\n\r\n" + body;
}

//! Answers the request whose request line is \a line ("GET /slow/300 HTTP/1.1") on \a socket.
void answer(QTcpSocket *socket, const QByteArray &line) {
    const QList<QByteArray> parts = line.split(' ');
    const QByteArray path = parts.size() >= 2 ? parts.at(1) : QByteArray();
    if (path == "/hello") {
        socket->write(response(200, "OK", "hello\n"));
    } else if (path.startsWith("/slow/")) {
        const int ms = path.mid(6).toInt();
        QTimer::singleShot(ms, socket, [socket, ms] {
            socket->write(response(200, "OK", "slept " + QByteArray::number(ms) + " ms\n"));
        });
    } else if (path == "/fail") {
        socket->write(response(500, "Internal Server Error", "failed on purpose\n"));
    } else {
        socket->write(response(404, "Not Found", "no such page\n"));
    }
}

} // namespace

DemoServer::DemoServer() {
    start();
    m_port = m_listening.get_future().get();
}

DemoServer::~DemoServer() {
    quit();
    wait();
}

QUrl DemoServer::url(const QString &path) const {
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(QStringLiteral("127.0.0.1"));
    url.setPort(m_port);
    url.setPath(path);
    return url;
}

void DemoServer::run() {
    QTcpServer server;
    QObject::connect(&server, &QTcpServer::newConnection, &server, [this, &server] {
        while (QTcpSocket *socket = server.nextPendingConnection()) {
            ++m_connections;
            QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            // Requests have no body: the blank line after the headers ends each one.
            QObject::connect(socket, &QTcpSocket::readyRead, socket, [this, socket] {
                auto pending = socket->property("pending").toByteArray() + socket->readAll();
                qsizetype end;
                while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
                    ++m_requests;
                    answer(socket, pending.left(pending.indexOf("\r\n")));
                    pending.remove(0, end + 4);
                }
                socket->setProperty("pending", pending);
            });
        }
    });
    m_listening.set_value(server.listen(QHostAddress::LocalHost) ? server.serverPort() : 0);
    exec();
}
