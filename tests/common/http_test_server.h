// SPDX-License-Identifier: MIT
// A scriptable HTTP/1.1 server on the test's thread for fetch-cli's tests. Test code only.
#pragma once

#include <QHostAddress>
#include <QList>
#include <QTcpServer>
#include <QTcpSocket>
#include <QUrl>

namespace palitra::test {

//! `/ok` answers 200, `/status/<n>` answers n, `/hang` never answers. Records every request path
//! and counts connections; connections are kept alive.
class HttpTestServer : public QTcpServer {
public:
    HttpTestServer() {
        connect(this, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = nextPendingConnection()) {
                ++m_connections;
                connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
                connect(socket, &QTcpSocket::readyRead, socket, [this, socket] { read(socket); });
            }
        });
        listen(QHostAddress::LocalHost);
    }

    QString url(const QString &path) const {
        return QStringLiteral("http://127.0.0.1:%1%2").arg(serverPort()).arg(path);
    }
    const QList<QByteArray> &paths() const { return m_paths; }
    int connections() const { return m_connections; }

private:
    void read(QTcpSocket *socket) {
        QByteArray pending = socket->property("pending").toByteArray() + socket->readAll();
        qsizetype end;
        while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
            const QList<QByteArray> line = pending.left(pending.indexOf("\r\n")).split(' ');
            const QByteArray path = line.value(1);
            m_paths.append(path);
            pending.remove(0, end + 4);
            if (path == "/ok")
                socket->write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfine\n");
            else if (path.startsWith("/status/"))
                socket->write("HTTP/1.1 " + path.mid(8) + " Test\r\nContent-Length: 0\r\n\r\n");
        }
        socket->setProperty("pending", pending);
    }

    QList<QByteArray> m_paths;
    int m_connections = 0;
};

} // namespace palitra::test
