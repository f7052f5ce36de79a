// SPDX-License-Identifier: MIT
// The plugin example end to end: the host loads the plugin with QPluginLoader, calls its
// synchronous interface and unloads it; the plugin's runner closes with it, leaving no thread,
// printing nothing, also with a call in flight on another thread or with no unload at all.
#include "example_process.h"

#include <palitra/version.h>

#include <QTest>

using palitra::test::ProgramRun;
using palitra::test::runProgram;

namespace {
const QString host = QStringLiteral(PALITRA_PLUGIN_HOST);
const QString plugin = QStringLiteral(PALITRA_LOOKUP_PLUGIN);
} // namespace

class tst_Plugin : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void lookupsThenUnload();
    void unloadWithCallInFlight();
    void exitWithoutUnload();
    void helpAndUnknownOption();
};

void tst_Plugin::lookupsThenUnload() {
    const ProgramRun run =
        runProgram(host, {QStringLiteral("--plugin"), plugin, QStringLiteral("alice"),
                          QStringLiteral("carol"), QStringLiteral("bob")});
    QCOMPARE(run.exitCode, 0);
    QCOMPARE(run.err, QString()); // no warning from palitra or Qt
    QCOMPARE(run.out, QStringLiteral("lookup(\"alice\") -> \"alice@example.org\"\n"
                                     "lookup(\"carol\") -> (none)\n"
                                     "lookup(\"bob\") -> \"bob@example.org\"\n"
                                     "loop threads: 1\n"
                                     "unloaded; loop threads: 0\n"));
}

void tst_Plugin::unloadWithCallInFlight() {
    // The "slow" key never answers on its own: the unload must release the calling thread and
    // stop the coroutine, or the host would hang (the watchdog) or palitra would warn about an
    // abandoned coroutine.
    const ProgramRun run =
        runProgram(host, {QStringLiteral("--plugin"), plugin,
                          QStringLiteral("--unload-during-call"), QStringLiteral("alice")});
    QCOMPARE(run.exitCode, 0);
    QCOMPARE(run.err, QString());
    QCOMPARE(run.out, QStringLiteral("lookup(\"alice\") -> \"alice@example.org\"\n"
                                     "loop threads: 1\n"
                                     "a lookup is in flight on another thread\n"
                                     "the in-flight lookup returned (none)\n"
                                     "unloaded; loop threads: 0\n"));
}

void tst_Plugin::exitWithoutUnload() {
#if !PALITRA_USES_QT_PRIVATE
    QSKIP("Qt deletes a plugin still loaded at exit after the host's QCoreApplication is gone, "
          "and without Qt's private headers (PALITRA_USE_QT_PRIVATE=OFF) a runner must be closed "
          "while the application exists: its loop thread gets no event after that");
#endif
    const ProgramRun run =
        runProgram(host, {QStringLiteral("--plugin"), plugin,
                          QStringLiteral("--exit-without-unload"), QStringLiteral("bob")});
    QCOMPARE(run.exitCode, 0);
    QCOMPARE(run.err, QString());
    QVERIFY(run.out.endsWith(QStringLiteral("exiting with the plugin loaded\n")));
}

void tst_Plugin::helpAndUnknownOption() {
    // An option is never taken for a key: --help prints the usage, an unknown one is an error.
    const ProgramRun help = runProgram(host, {QStringLiteral("--help")});
    QCOMPARE(help.exitCode, 0);
    QVERIFY(help.out.startsWith(QStringLiteral("usage: plugin-host ")));
    QCOMPARE(help.err, QString());

    const ProgramRun unknown =
        runProgram(host, {QStringLiteral("--verbose"), QStringLiteral("bob")});
    QCOMPARE(unknown.exitCode, 2);
    QCOMPARE(unknown.out, QString()); // nothing was looked up
    QVERIFY(unknown.err.startsWith(QStringLiteral("plugin-host: unknown option --verbose\n")));

    // An option that wants a value and has none is a usage error too, never a run.
    const ProgramRun noFile = runProgram(host, {QStringLiteral("bob"), QStringLiteral("--plugin")});
    QCOMPARE(noFile.exitCode, 2);
    QCOMPARE(noFile.out, QString());
    QVERIFY2(noFile.err.startsWith(QStringLiteral("plugin-host: --plugin needs FILE\n")),
             qPrintable(noFile.err));
}

QTEST_GUILESS_MAIN(tst_Plugin)
#include "tst_plugin.moc"
