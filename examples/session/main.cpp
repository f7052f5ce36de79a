// SPDX-License-Identifier: MIT
// State across calls: a TCP session opened by the first palitra call, used by the next ones and
// closed by the last, behind a synchronous class.
//
// This is why palitra takes a callable rather than a QCoro::Task: a Task starts running in the
// thread that creates it, so `session.run(talk(socket))` would touch the socket from the caller's
// thread. The lambda is invoked on the loop thread, where the socket lives, in every call.
#include <palitra/palitra.h>

#include <QCoreApplication>
#include <QCoro/QCoroAbstractSocket>
#include <QHostAddress>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>

#include <atomic>
#include <cstdio>
#include <future>
#include <stdexcept>

using namespace std::chrono_literals;

namespace {

//! A synchronous client of a line protocol: one request line, one reply line.
class Session {
public:
    //! Call 1: connects. The socket is created on the loop thread and stays there.
    explicit Session(quint16 port) {
        m_socket = m_runner.run(
            [this, port]() -> QCoro::Task<QTcpSocket *> {
                auto *socket = new QTcpSocket(m_runner.context());
                if (!co_await qCoro(socket).connectToHost(QHostAddress(QHostAddress::LocalHost),
                                                          port, QIODevice::ReadWrite, 5s))
                    throw std::runtime_error("cannot connect: " +
                                             socket->errorString().toStdString());
                co_return socket;
            },
            10s);
    }

    //! Calls 2..N: the same connection every time.
    QString request(const QString &line) {
        return m_runner.run(
            [this, line]() -> QCoro::Task<QString> {
                m_socket->write(line.toUtf8() + '\n');
                while (!m_socket->canReadLine()) {
                    if (!co_await qCoro(m_socket).waitForReadyRead(5s))
                        throw std::runtime_error("no reply: " +
                                                 m_socket->errorString().toStdString());
                }
                co_return QString::fromUtf8(m_socket->readLine()).trimmed();
            },
            10s);
    }

    //! The last call: closes the connection on the loop thread, where the socket lives.
    void close() {
        m_runner.run([this]() -> QCoro::Task<void> {
            m_socket->disconnectFromHost();
            if (m_socket->state() != QAbstractSocket::UnconnectedState)
                co_await qCoro(m_socket).waitForDisconnected(5s);
            delete m_socket;
        });
    }

private:
    palitra::EventLoopThreadRunner m_runner;
    QTcpSocket *m_socket = nullptr; // lives on, and is used only on, m_runner's loop thread
};

//! The other end, on a thread of its own: numbers its connections and each one's requests.
class LineServer : public QThread {
public:
    LineServer() {
        start();
        m_port = m_listening.get_future().get();
    }
    ~LineServer() override {
        quit();
        wait();
    }
    quint16 port() const { return m_port; }
    int connections() const { return m_connections; }

protected:
    void run() override {
        QTcpServer server;
        QObject::connect(&server, &QTcpServer::newConnection, &server, [this, &server] {
            while (QTcpSocket *socket = server.nextPendingConnection()) {
                const int connection = ++m_connections;
                auto requests = std::make_shared<int>(0);
                QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
                QObject::connect(
                    socket, &QTcpSocket::readyRead, socket, [socket, connection, requests] {
                        while (socket->canReadLine()) {
                            const QByteArray line = socket->readLine().trimmed();
                            socket->write("connection " + QByteArray::number(connection) +
                                          ", request " + QByteArray::number(++*requests) + ": " +
                                          line.toUpper() + '\n');
                        }
                    });
            }
        });
        m_listening.set_value(server.listen(QHostAddress::LocalHost) ? server.serverPort() : 0);
        exec();
    }

private:
    std::promise<quint16> m_listening;
    quint16 m_port = 0;
    std::atomic<int> m_connections = 0;
};

} // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv); // for the server's plain QThread
    LineServer server;
    try {
        Session session(server.port());
        std::printf("call 1: connected\n");
        int call = 2;
        for (const char *word : {"hello", "palitra", "goodbye"})
            std::printf("call %d: %s -> %s\n", call++, word,
                        qPrintable(session.request(QLatin1String(word))));
        session.close();
        std::printf("call %d: closed\n", call);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "session: %s\n", e.what());
        return 1;
    }
    std::printf("the server accepted %d TCP connection(s)\n", server.connections());
    return 0;
}
