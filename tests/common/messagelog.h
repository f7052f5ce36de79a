// SPDX-License-Identifier: MIT
// Records every Qt message of the process, from any thread. Test code only.
#pragma once

#include <QList>
#include <QMessageLogContext>
#include <QString>
#include <QStringList>
#include <QtGlobal>

#include <mutex>
#include <vector>

namespace palitra::test {

/*!
 * A window on the messages of the process: everything Qt and palitra printed, from any thread,
 * while the window is open (since it was opened or last cleared). Opening a window installs a
 * recorder on top of the current message handler (Qt Test's, inside a test function), which
 * still gets every message and prints it; closing it puts that handler back. Open a window
 * inside the test (a test function, init(), initTestCase()), not before QTest::qExec(), which
 * installs its own handler on top.
 *
 * install() puts a recorder in place for the rest of the process instead, for what is printed
 * before QTest::qExec() or after it (palitra's exit hooks run after main() has returned).
 */
class MessageLog {
public:
    struct Entry {
        QtMsgType type;
        QString category;
        QString text;
    };
    //! Whether messages of palitra's own logging category are printed while the window is open.
    enum class Palitra { Printed, Quiet };

    explicit MessageLog(Palitra palitra = Palitra::Printed) : m_quiet(palitra == Palitra::Quiet) {
        const std::lock_guard lock(mutex());
        m_first = entries().size();
        m_installed = pushRecorder();
        if (m_quiet)
            ++quietWindows();
    }
    ~MessageLog() {
        const std::lock_guard lock(mutex());
        if (m_quiet)
            --quietWindows();
        if (m_installed) {
            qInstallMessageHandler(beneath().back());
            beneath().pop_back();
        }
    }
    MessageLog(const MessageLog &) = delete;
    MessageLog &operator=(const MessageLog &) = delete;

    //! Records every message from now on until the process ends (see above).
    static void install() {
        const std::lock_guard lock(mutex());
        pushRecorder();
    }

    //! Forgets what was recorded so far: the window starts now.
    void clear() {
        const std::lock_guard lock(mutex());
        m_first = entries().size();
    }

    //! Every message in the window.
    QList<Entry> all() const {
        const std::lock_guard lock(mutex());
        return entries().mid(m_first);
    }
    //! Warnings of category "palitra".
    QStringList warnings() const { return palitraMessages(QtWarningMsg); }
    //! Debug messages of category "palitra" (only when enabled by a filter rule).
    QStringList debugs() const { return palitraMessages(QtDebugMsg); }
    //! How many warnings of category "palitra" contain \a needle.
    int countContaining(const QString &needle) const {
        int n = 0;
        for (const QString &w : warnings())
            n += w.contains(needle) ? 1 : 0;
        return n;
    }
    //! Warnings (and worse) that did not come from palitra's own logging category: Qt
    //! complaining about threads, event loops, timers or sockets. Empty is good.
    QStringList foreignWarnings() const {
        QStringList out;
        for (const Entry &e : all()) {
            if (e.type != QtDebugMsg && e.type != QtInfoMsg &&
                e.category != QLatin1String("palitra"))
                out.append(e.category + QLatin1String(": ") + e.text);
        }
        return out;
    }
    //! Every message, of any category and level, that contains \a text.
    QStringList containing(const QString &text) const {
        QStringList out;
        for (const Entry &e : all()) {
            if (e.text.contains(text))
                out.append(e.text);
        }
        return out;
    }

private:
    QStringList palitraMessages(QtMsgType type) const {
        QStringList out;
        for (const Entry &e : all()) {
            if (e.type == type && e.category == QLatin1String("palitra"))
                out.append(e.text);
        }
        return out;
    }

    // Puts the recorder on top of the current handler, unless it is on top already. Returns
    // whether it did. Called with mutex() held.
    static bool pushRecorder() {
        entries(); // constructed now, so destroyed after palitra's exit hooks have run
        const QtMessageHandler below = qInstallMessageHandler(&MessageLog::handle);
        if (below == &MessageLog::handle)
            return false;
        beneath().push_back(below);
        return true;
    }

    static void handle(QtMsgType type, const QMessageLogContext &context, const QString &text) {
        QtMessageHandler passOn = nullptr;
        {
            const std::lock_guard lock(mutex());
            const bool fromPalitra = context.category && qstrcmp(context.category, "palitra") == 0;
            entries().append(Entry{
                type, QString::fromUtf8(context.category ? context.category : "default"), text});
            if ((!fromPalitra || quietWindows() == 0) && !beneath().empty())
                passOn = beneath().back();
        }
        if (passOn)
            passOn(type, context, text);
    }

    static std::mutex &mutex() {
        static std::mutex m;
        return m;
    }
    static QList<Entry> &entries() {
        static QList<Entry> list;
        return list;
    }
    //! The handlers the recorder was installed on top of, the current one last.
    static std::vector<QtMessageHandler> &beneath() {
        static std::vector<QtMessageHandler> handlers;
        return handlers;
    }
    static int &quietWindows() {
        static int count = 0;
        return count;
    }

    qsizetype m_first = 0;
    bool m_installed = false;
    bool m_quiet = false;
};

} // namespace palitra::test
