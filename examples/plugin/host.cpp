// SPDX-License-Identifier: MIT
// A host application that loads the lookup plugin, calls its synchronous interface and unloads
// it. It links neither palitra nor QCoro: only the plugin does. Like any Qt application that
// loads plugins, it has a QCoreApplication; it never runs its event loop.
//
//   plugin-host [--plugin FILE] [--unload-during-call | --exit-without-unload] KEY...
#include "lookup_interface.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QPluginLoader>
#include <QStringList>

#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>

namespace {

//! Threads of this process named \a name (Linux: /proc/self/task/*/comm).
int threadsNamed(const QByteArray &name) {
    int count = 0;
    const QDir tasks(QStringLiteral("/proc/self/task"));
    for (const QString &task : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile comm(tasks.filePath(task + QStringLiteral("/comm")));
        if (comm.open(QIODevice::ReadOnly) && comm.readAll().trimmed() == name)
            ++count;
    }
    return count;
}

//! threadsNamed() once it reaches \a expected, or after 5 s. QThread::wait() returns when the
//! thread's function has ended, a moment before the kernel thread is gone.
int threadsNamedSettled(const QByteArray &name, int expected) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int count = threadsNamed(name);
    while (count != expected && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        count = threadsNamed(name);
    }
    return count;
}

constexpr const char *usageText =
    "usage: plugin-host [--plugin FILE] [--unload-during-call | --exit-without-unload] KEY...\n"
    "Loads the lookup plugin, looks up each KEY through its synchronous interface, then unloads "
    "it.\n";

//! --help: the usage on stdout, exit code 0.
int help() {
    std::fputs(usageText, stdout);
    return 0;
}

//! A command line it cannot follow: what is wrong and the usage on stderr, exit code 2.
int usageError(const QString &message) {
    std::fprintf(stderr, "plugin-host: %s\n%s", qPrintable(message), usageText);
    return 2;
}

} // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    QString file = QStringLiteral(LOOKUP_PLUGIN_FILE);
    QStringList keys;
    bool unloadDuringCall = false;
    bool exitWithoutUnload = false;
    const QStringList args = QCoreApplication::arguments();
    for (qsizetype i = 1; i < args.size(); ++i) {
        const QString &arg = args.at(i);
        if (arg == QLatin1String("--plugin")) {
            if (i + 1 == args.size())
                return usageError(QStringLiteral("--plugin needs FILE"));
            file = args.at(++i);
        } else if (arg == QLatin1String("--unload-during-call")) {
            unloadDuringCall = true;
        } else if (arg == QLatin1String("--exit-without-unload")) {
            exitWithoutUnload = true;
        } else if (arg == QLatin1String("--help") || arg == QLatin1String("-h")) {
            return help();
        } else if (arg.startsWith(QLatin1Char('-'))) {
            return usageError(QStringLiteral("unknown option %1").arg(arg));
        } else {
            keys.append(arg);
        }
    }

    QPluginLoader loader(file);
    // A thread released by the unload may still be returning through the plugin's code after
    // its instance is gone; keeping the code mapped makes that safe (Qt does the same for its
    // own plugins).
    loader.setLoadHints(QLibrary::PreventUnloadHint);
    auto *plugin = qobject_cast<LookupInterface *>(loader.instance());
    if (!plugin) {
        std::fprintf(stderr, "plugin-host: %s\n", qPrintable(loader.errorString()));
        return 1;
    }
    for (const QString &key : std::as_const(keys)) {
        QString value;
        try {
            value = plugin->lookup(key);
        } catch (const std::exception &e) { // the plugin failed, which is not "no answer"
            std::fprintf(stderr, "plugin-host: lookup(\"%s\") failed: %s\n", qPrintable(key),
                         e.what());
            return 1;
        }
        std::printf("lookup(\"%s\") -> %s\n", qPrintable(key),
                    value.isNull() ? "(none)"
                                   : qPrintable(QLatin1Char('"') + value + QLatin1Char('"')));
    }
    std::printf("loop threads: %d\n", threadsNamed("lookup-loop"));

    if (exitWithoutUnload) {
        std::printf("exiting with the plugin loaded\n");
        return 0; // Qt deletes the plugin instance at exit, after `app` is gone
    }

    std::thread caller;
    QString lateValue = QStringLiteral("(not asked)");
    if (unloadDuringCall) {
        caller = std::thread(
            [plugin, &lateValue] { lateValue = plugin->lookup(QStringLiteral("slow")); });
        while (plugin->callsInFlight() == 0)
            std::this_thread::yield();
        std::printf("a lookup is in flight on another thread\n");
    }
    loader.unload();
    if (caller.joinable()) {
        caller.join();
        std::printf("the in-flight lookup returned %s\n",
                    lateValue.isNull() ? "(none)" : qPrintable(lateValue));
    }
    std::printf("unloaded; loop threads: %d\n", threadsNamedSettled("lookup-loop", 0));
    return 0;
}
