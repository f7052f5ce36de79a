// SPDX-License-Identifier: MIT
// fetch-cli, run as a user runs it: its demo batch, its options, one line per URL for each kind
// of error, its exit codes, and timeouts that abort the requests in flight.
#include "example_process.h"
#include "http_test_server.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using palitra::test::HttpTestServer;
using palitra::test::ProgramRun;
using palitra::test::runProgram;

namespace {

const QString fetchCli = QStringLiteral(PALITRA_FETCH_CLI);

//! The output line fetch-cli printed for \a url ("ok    URL  ..." or "FAIL  URL  ...").
QString lineFor(const ProgramRun &run, const QString &url) {
    for (const QString &line : run.out.split(QLatin1Char('\n'))) {
        const QStringList fields = line.simplified().split(QLatin1Char(' '));
        if (fields.size() >= 2 && fields.at(1) == url)
            return line.simplified();
    }
    return {};
}

//! A port on 127.0.0.1 that nothing listens on any more.
quint16 closedPort() {
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost);
    return probe.serverPort(); // closed when probe goes
}

QJsonObject parseJson(const ProgramRun &run) {
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(run.out.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError || !document.isObject())
        qWarning() << "not one JSON object:" << error.errorString() << run.out;
    return document.object();
}

} // namespace

class tst_FetchCli : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // The demo: no URL arguments
    void demoPrintsEveryResultAndTheComparison();
    void demoReusesConnections();

    // Options and exit codes
    void help_data();
    void help();
    void badUsage_data();
    void badUsage();
    void exitCodeZeroWhenEverythingSucceeds();
    void json();
    void progressLine();

    // One line per URL, for each kind of failure
    void errorsPerUrl();
    void invalidUrlsAreNeverRequested();
    void timeoutAbortsRequestsInFlight();
    void concurrencyLimitsRequestsInFlight();
    void ordinaryHttpServer();
};

// The demo: no URL arguments --------------------------------------------------------------------

void tst_FetchCli::demoPrintsEveryResultAndTheComparison() {
    const ProgramRun run = runProgram(fetchCli);
    QCOMPARE(run.exitCode, 1); // /fail and /missing fail on purpose
    QCOMPARE(run.err, QString());

    const QRegularExpression base(QStringLiteral("(http://127\\.0\\.0\\.1:\\d+)/hello"));
    const QString root = base.match(run.out).captured(1);
    QVERIFY2(!root.isEmpty(), qPrintable(run.out));
    QVERIFY(lineFor(run, root + QStringLiteral("/hello")).startsWith(QStringLiteral("ok ")));
    QVERIFY(
        lineFor(run, root + QStringLiteral("/hello")).contains(QStringLiteral(" 200, 6 bytes")));
    QVERIFY(lineFor(run, root + QStringLiteral("/slow/500")).startsWith(QStringLiteral("ok ")));
    QVERIFY(lineFor(run, root + QStringLiteral("/fail"))
                .endsWith(QStringLiteral("HTTP 500 Internal Server Error")));
    QVERIFY(lineFor(run, root + QStringLiteral("/missing"))
                .endsWith(QStringLiteral("HTTP 404 Not Found")));
    QVERIFY2(run.out.contains(QStringLiteral("\n5 ok, 2 failed\n")), qPrintable(run.out));

    const auto number = [&run](const char *pattern) {
        return QRegularExpression(QLatin1String(pattern)).match(run.out).captured(1).toInt();
    };
    // Lower bounds only: the slowest endpoint takes 500 ms, the four slow ones 1500 ms in all.
    QVERIFY2(number("one gather\\(\\): +(\\d+) ms") >= 500, qPrintable(run.out));
    QVERIFY2(number("sequential run\\(\\)s: +(\\d+) ms") >= 1500, qPrintable(run.out));
}

void tst_FetchCli::demoReusesConnections() {
    const ProgramRun run = runProgram(fetchCli, {QStringLiteral("--json")});
    QCOMPARE(run.exitCode, 1);
    const QJsonObject json = parseJson(run);
    QCOMPARE(json.value(QStringLiteral("succeeded")).toInt(), 5);
    QCOMPARE(json.value(QStringLiteral("failed")).toInt(), 2);
    // Seven URLs gathered, then the same seven one run() after the other, through one
    // QNetworkAccessManager: its at most six connections to a host are reused.
    QCOMPARE(json.value(QStringLiteral("server_requests")).toInt(), 14);
    const int connections = json.value(QStringLiteral("server_connections")).toInt();
    QVERIFY2(connections >= 1 && connections <= 6, qPrintable(run.out));
    QVERIFY(json.value(QStringLiteral("sequential_ms")).toInt() >= 1500);
}

// Options and exit codes ------------------------------------------------------------------------

void tst_FetchCli::help_data() {
    // Every spelling QCommandLineParser::addHelpOption() registers.
    QTest::addColumn<QString>("option");
    QTest::newRow("--help") << QStringLiteral("--help");
    QTest::newRow("-h") << QStringLiteral("-h");
    QTest::newRow("--help-all") << QStringLiteral("--help-all");
}

void tst_FetchCli::help() {
    QFETCH(QString, option);
    HttpTestServer server;
    const ProgramRun run = runProgram(fetchCli, {option, server.url(QStringLiteral("/ok"))});
    QCOMPARE(run.exitCode, 0);
    QCOMPARE(run.err, QString());
    for (const char *expected : {"--timeout <duration>", "unit ms or s", "--concurrency <N>",
                                 "--json", "--progress", "Exit code: 0"})
        QVERIFY2(run.out.simplified().contains(QLatin1String(expected)), expected);
    QCOMPARE(server.paths().size(), 0); // help is never a run
}

void tst_FetchCli::badUsage_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::newRow("unknown option") << QStringList{QStringLiteral("--bogus")};
    QTest::newRow("timeout without unit word") << QStringList{QStringLiteral("--timeout=soon")};
    QTest::newRow("timeout zero") << QStringList{QStringLiteral("--timeout=0ms")};
    QTest::newRow("timeout unknown unit") << QStringList{QStringLiteral("--timeout=3h")};
    QTest::newRow("concurrency zero") << QStringList{QStringLiteral("--concurrency=0")};
    QTest::newRow("concurrency not a number") << QStringList{QStringLiteral("--concurrency=x")};
    QTest::newRow("missing value") << QStringList{QStringLiteral("--timeout")};
}

void tst_FetchCli::badUsage() {
    QFETCH(QStringList, arguments);
    HttpTestServer server;
    const ProgramRun run = runProgram(fetchCli, arguments << server.url(QStringLiteral("/ok")));
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.err.contains(QStringLiteral("Try 'fetch-cli --help'.")), qPrintable(run.err));
    QCOMPARE(run.out, QString());
    QCOMPARE(server.paths().size(), 0); // nothing is fetched on bad usage
}

void tst_FetchCli::exitCodeZeroWhenEverythingSucceeds() {
    HttpTestServer server;
    const ProgramRun run =
        runProgram(fetchCli, {QStringLiteral("--timeout=2s"), server.url(QStringLiteral("/ok")),
                              server.url(QStringLiteral("/status/204"))});
    QCOMPARE(run.exitCode, 0);
    QVERIFY(
        lineFor(run, server.url(QStringLiteral("/ok"))).contains(QStringLiteral("200, 5 bytes")));
    QVERIFY(
        lineFor(run, server.url(QStringLiteral("/status/204"))).startsWith(QStringLiteral("ok ")));
    QVERIFY(run.out.contains(QStringLiteral("\n2 ok, 0 failed\n")));
    QCOMPARE(server.paths().size(), 2);
}

void tst_FetchCli::json() {
    HttpTestServer server;
    const ProgramRun run = runProgram(
        fetchCli, {QStringLiteral("--json"), server.url(QStringLiteral("/ok")),
                   server.url(QStringLiteral("/status/404")), QStringLiteral("ftp://x/")});
    QCOMPARE(run.exitCode, 1);
    const QJsonObject json = parseJson(run);
    QCOMPARE(json.value(QStringLiteral("succeeded")).toInt(), 1);
    QCOMPARE(json.value(QStringLiteral("failed")).toInt(), 2);
    QVERIFY(!json.contains(QStringLiteral("server_requests"))); // no demo server with URLs
    const QJsonArray results = json.value(QStringLiteral("results")).toArray();
    QCOMPARE(results.size(), 3);
    const QJsonObject ok = results.at(0).toObject();
    QCOMPARE(ok.value(QStringLiteral("url")).toString(), server.url(QStringLiteral("/ok")));
    QCOMPARE(ok.value(QStringLiteral("ok")).toBool(), true);
    QCOMPARE(ok.value(QStringLiteral("status")).toInt(), 200);
    QCOMPARE(ok.value(QStringLiteral("bytes")).toInt(), 5);
    const QJsonObject notFound = results.at(1).toObject();
    QCOMPARE(notFound.value(QStringLiteral("ok")).toBool(), false);
    QCOMPARE(notFound.value(QStringLiteral("status")).toInt(), 404);
    QCOMPARE(notFound.value(QStringLiteral("error")).toString(), QStringLiteral("HTTP 404 Test"));
    QVERIFY(results.at(2)
                .toObject()
                .value(QStringLiteral("error"))
                .toString()
                .startsWith(QStringLiteral("unsupported URL scheme")));
}

void tst_FetchCli::progressLine() {
    HttpTestServer server;
    const ProgramRun run =
        runProgram(fetchCli, {QStringLiteral("--progress"), server.url(QStringLiteral("/ok")),
                              server.url(QStringLiteral("/status/500"))});
    QCOMPARE(run.exitCode, 1);
    // stderr is a pipe here, not a terminal: one line per update, ending with the total.
    QVERIFY2(run.err.startsWith(QStringLiteral("0/2 done, 0 failed\n")), qPrintable(run.err));
    QVERIFY2(run.err.endsWith(QStringLiteral("2/2 done, 1 failed\n")), qPrintable(run.err));
    // Without --progress, a pipe gets none.
    QCOMPARE(runProgram(fetchCli, {server.url(QStringLiteral("/ok"))}).err, QString());
}

// One line per URL, for each kind of failure ----------------------------------------------------

void tst_FetchCli::errorsPerUrl() {
    HttpTestServer server;
    const QString refused = QStringLiteral("http://127.0.0.1:%1/").arg(closedPort());
    const QString unknownHost = QStringLiteral("http://no-such-host.invalid/");
    const ProgramRun run =
        runProgram(fetchCli, {server.url(QStringLiteral("/ok")),
                              server.url(QStringLiteral("/status/503")), refused, unknownHost});
    QCOMPARE(run.exitCode, 1);
    QVERIFY(lineFor(run, server.url(QStringLiteral("/ok"))).startsWith(QStringLiteral("ok ")));
    QVERIFY(lineFor(run, server.url(QStringLiteral("/status/503")))
                .endsWith(QStringLiteral("HTTP 503 Test")));
    QCOMPARE(lineFor(run, refused),
             QStringLiteral("FAIL ") + refused + QStringLiteral(" connection refused"));
    QCOMPARE(lineFor(run, unknownHost),
             QStringLiteral("FAIL ") + unknownHost + QStringLiteral(" unknown host"));
    QVERIFY(run.out.contains(QStringLiteral("\n1 ok, 3 failed\n")));
}

void tst_FetchCli::invalidUrlsAreNeverRequested() {
    HttpTestServer server;
    const QString relative = QStringLiteral("/ok"); // no scheme, no host
    const QString ftp = QStringLiteral("ftp://127.0.0.1:%1/ok").arg(server.serverPort());
    const QString noHost = QStringLiteral("http://");
    const ProgramRun run =
        runProgram(fetchCli, {relative, ftp, noHost, server.url(QStringLiteral("/ok"))});
    QCOMPARE(run.exitCode, 1);
    QCOMPARE(lineFor(run, relative), QStringLiteral("FAIL /ok invalid URL"));
    QCOMPARE(lineFor(run, ftp),
             QStringLiteral("FAIL ") + ftp + QStringLiteral(" unsupported URL scheme \"ftp\""));
    QCOMPARE(lineFor(run, noHost), QStringLiteral("FAIL http:// invalid URL"));
    // Results come in argument order; only the valid URL reached the server.
    QVERIFY(run.out.indexOf(relative) < run.out.indexOf(ftp));
    QCOMPARE(server.paths(), QList<QByteArray>{"/ok"});
}

void tst_FetchCli::timeoutAbortsRequestsInFlight() {
    HttpTestServer server;
    const QString hang = server.url(QStringLiteral("/hang"));
    // Long enough for the /ok request of a sanitized child on a loaded machine (starting its
    // runner and its first connection count against it too); /hang waits it out regardless.
    const ProgramRun run = runProgram(
        fetchCli, {QStringLiteral("--timeout=2s"), hang, server.url(QStringLiteral("/ok"))});
    QCOMPARE(run.exitCode, 1);
    QCOMPARE(lineFor(run, hang),
             QStringLiteral("FAIL ") + hang + QStringLiteral(" timeout after 2000 ms"));
    QVERIFY(lineFor(run, server.url(QStringLiteral("/ok"))).startsWith(QStringLiteral("ok ")));
    // A reply that was not aborted would keep its coroutine suspended when the program closes
    // its runner, which then reports the abandoned coroutine on stderr.
    QCOMPARE(run.err, QString());
}

void tst_FetchCli::concurrencyLimitsRequestsInFlight() {
    HttpTestServer server;
    QStringList arguments{QStringLiteral("--concurrency=2"), QStringLiteral("--timeout=3s")};
    for (int i = 0; i < 6; ++i)
        arguments << server.url(QStringLiteral("/hang"));
    const ProgramRun run = runProgram(fetchCli, arguments);
    QCOMPARE(run.exitCode, 1);
    QCOMPARE(run.out.count(QStringLiteral("timeout after 3000 ms")), 6);
    // None is answered, so exactly two requests were ever sent: the other four waited for a
    // free slot until the deadline.
    QCOMPARE(server.paths().size(), 2);
    QCOMPARE(run.err, QString());
}

void tst_FetchCli::ordinaryHttpServer() {
    const QString python = QStandardPaths::findExecutable(QStringLiteral("python3"));
    if (python.isEmpty())
        QSKIP("python3 is not installed");
    QTemporaryDir root;
    QFile file(root.filePath(QStringLiteral("hello.txt")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("hello\n");
    file.close();

    QProcess httpServer;
    httpServer.start(python,
                     {QStringLiteral("-u"), QStringLiteral("-m"), QStringLiteral("http.server"),
                      QStringLiteral("0"), QStringLiteral("--bind"), QStringLiteral("127.0.0.1"),
                      QStringLiteral("--directory"), root.path()});
    const QRegularExpression serving(QStringLiteral("port (\\d+)"));
    QString banner;
    QTRY_VERIFY_WITH_TIMEOUT((banner += QString::fromUtf8(httpServer.readAllStandardOutput()),
                              serving.match(banner).hasMatch()),
                             30000);
    const QString base =
        QStringLiteral("http://127.0.0.1:%1/").arg(serving.match(banner).captured(1));

    const ProgramRun run = runProgram(
        fetchCli, {base + QStringLiteral("hello.txt"), base, base + QStringLiteral("missing.txt")});
    httpServer.kill();
    httpServer.waitForFinished();
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(
        lineFor(run, base + QStringLiteral("hello.txt")).contains(QStringLiteral(" 200, 6 bytes")),
        qPrintable(run.out));
    QVERIFY(lineFor(run, base).startsWith(QStringLiteral("ok "))); // the directory listing
    QVERIFY(lineFor(run, base + QStringLiteral("missing.txt"))
                .endsWith(QStringLiteral("HTTP 404 File not found")));
}

QTEST_GUILESS_MAIN(tst_FetchCli)
#include "tst_fetch_cli.moc"
