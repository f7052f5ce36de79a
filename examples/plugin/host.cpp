// SPDX-License-Identifier: MIT
// A host application that loads the lookup plugin, calls its synchronous interface and unloads
// it. It links neither palitra nor QCoro: only the plugin does.
//
//   plugin-host [--plugin FILE] [--unload-during-call | --exit-without-unload] KEY...
#include "lookup_interface.h"

#include <QDir>
#include <QFile>
#include <QPluginLoader>
#include <QStringList>

#include <chrono>
#include <cstdio>
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

//! Prints how to call the host: to stdout for --help (exit 0), to stderr with the option it did
//! not know (exit 2).
int usage(const char *unknownOption) {
    FILE *const out = unknownOption ? stderr : stdout;
    if (unknownOption)
        std::fprintf(out, "plugin-host: unknown option %s\n", unknownOption);
    std::fputs("usage: plugin-host [--plugin FILE] [--unload-during-call | --exit-without-unload] "
               "KEY...\n"
               "Loads the lookup plugin, looks up each KEY through its synchronous interface, "
               "then unloads it.\n",
               out);
    return unknownOption ? 2 : 0;
}

} // namespace

int main(int argc, char **argv) {
    QString file = QStringLiteral(LOOKUP_PLUGIN_FILE);
    QStringList keys;
    bool unloadDuringCall = false;
    bool exitWithoutUnload = false;
    for (int i = 1; i < argc; ++i) {
        const QString arg = QString::fromLocal8Bit(argv[i]);
        if (arg == QLatin1String("--plugin") && i + 1 < argc)
            file = QString::fromLocal8Bit(argv[++i]);
        else if (arg == QLatin1String("--unload-during-call"))
            unloadDuringCall = true;
        else if (arg == QLatin1String("--exit-without-unload"))
            exitWithoutUnload = true;
        else if (arg.startsWith(QLatin1Char('-')))
            return usage(arg == QLatin1String("--help") || arg == QLatin1String("-h") ? nullptr
                                                                                      : argv[i]);
        else
            keys.append(arg);
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
        const QString value = plugin->lookup(key);
        std::printf("lookup(\"%s\") -> %s\n", qPrintable(key),
                    value.isNull() ? "(none)"
                                   : qPrintable(QLatin1Char('"') + value + QLatin1Char('"')));
    }
    std::printf("loop threads: %d\n", threadsNamed("lookup-loop"));

    if (exitWithoutUnload) {
        std::printf("exiting with the plugin loaded\n");
        return 0; // Qt deletes the plugin instance at exit
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
