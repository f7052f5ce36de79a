// SPDX-License-Identifier: MIT
// Records every Qt message of the process (from any thread) so that a test can prove Qt printed
// nothing about palitra's threads, such as "QEventLoop: Cannot be used without QApplication".
// Test code only.
#pragma once

#include <QList>
#include <QString>
#include <QStringList>
#include <QtGlobal>

#include <mutex>

namespace palitra::test {

class MessageLog {
public:
    struct Entry {
        QtMsgType type;
        QString category;
        QString text;
    };

    //! Installs the recorder; messages are still passed on to the handler installed before it
    //! (Qt Test's, which prints them).
    static void install() {
        const std::lock_guard lock(mutex());
        entries(); // constructed now, so destroyed after palitra's exit hooks have run
        if (!s_previous)
            s_previous = qInstallMessageHandler(&MessageLog::handle);
    }

    static void clear() {
        const std::lock_guard lock(mutex());
        entries().clear();
    }

    static QList<Entry> all() {
        const std::lock_guard lock(mutex());
        return entries();
    }

    //! Warnings (and worse) that did not come from palitra's own logging category: Qt
    //! complaining about threads, event loops, timers or sockets. Empty is good.
    static QStringList foreignWarnings() {
        QStringList out;
        for (const Entry &e : all()) {
            if (e.type != QtDebugMsg && e.type != QtInfoMsg &&
                e.category != QLatin1String("palitra"))
                out.append(e.category + QLatin1String(": ") + e.text);
        }
        return out;
    }

    //! Every message, of any category and level, that contains \a text.
    static QStringList containing(const QString &text) {
        QStringList out;
        for (const Entry &e : all()) {
            if (e.text.contains(text))
                out.append(e.text);
        }
        return out;
    }

private:
    static void handle(QtMsgType type, const QMessageLogContext &context, const QString &text) {
        QtMessageHandler previous = nullptr;
        {
            const std::lock_guard lock(mutex());
            entries().append(Entry{
                type, QString::fromUtf8(context.category ? context.category : "default"), text});
            previous = s_previous;
        }
        if (previous)
            previous(type, context, text);
    }

    static std::mutex &mutex() {
        static std::mutex m;
        return m;
    }
    static QList<Entry> &entries() {
        static QList<Entry> list;
        return list;
    }
    static inline QtMessageHandler s_previous = nullptr;
};

} // namespace palitra::test
