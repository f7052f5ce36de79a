// SPDX-License-Identifier: MIT
// The HTTP/1.1 server fetch-cli talks to when it is given no URLs. It runs on a thread of its
// own: the thread that calls palitra::run() is blocked until the call returns, by design, so a
// server living there could never answer.
#pragma once

#include <QThread>
#include <QUrl>

#include <atomic>
#include <future>

//! Endpoints: `/hello` answers at once, `/slow/<ms>` after that many milliseconds, `/fail` with
//! 500, anything else with 404. Connections are kept alive between requests.
class DemoServer : public QThread {
public:
    //! Starts the thread and returns once the server listens on 127.0.0.1.
    DemoServer();
    ~DemoServer() override;

    //! False when no port could be bound.
    [[nodiscard]] bool isListening() const { return m_port != 0; }
    [[nodiscard]] QUrl url(const QString &path) const;
    //! TCP connections accepted so far: fewer than requests means connections were reused.
    [[nodiscard]] int connections() const { return m_connections; }
    [[nodiscard]] int requests() const { return m_requests; }

protected:
    void run() override;

private:
    std::promise<quint16> m_listening;
    quint16 m_port = 0;
    std::atomic<int> m_connections = 0;
    std::atomic<int> m_requests = 0;
};
