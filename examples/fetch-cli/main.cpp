// SPDX-License-Identifier: MIT
// fetch-cli: a synchronous command-line tool that fetches many URLs concurrently. main() is
// plain blocking code; the requests are QCoro coroutines on palitra's loop thread, all going
// through one QNetworkAccessManager that lives there and is reused by every call.
#include "demo_server.h"

#include <palitra/palitra.h>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QCoro/QCoroNetworkReply>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRegularExpression>
#include <QScopedPointer>
#include <QSslSocket>

#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct Result {
    QString name{}; // as given on the command line
    QUrl url{};
    bool done = false;
    bool timedOut = false; // aborted on the caller's deadline
    int status = 0;        // HTTP status, 0 when there was no HTTP answer
    qint64 bytes = 0;
    qint64 ms = 0;
    QString error{}; // empty on success
};

//! Why \a url cannot be fetched, or an empty string. Checked before any request is made.
QString rejectionOf(const QUrl &url) {
    if (!url.isValid() || url.isRelative() || url.host().isEmpty())
        return QStringLiteral("invalid URL");
    if (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https"))
        return QStringLiteral("unsupported URL scheme \"%1\"").arg(url.scheme());
    if (url.scheme() == QLatin1String("https") && !QSslSocket::supportsSsl())
        return QStringLiteral("unsupported URL: this Qt has no TLS support");
    return {};
}

//! The one QNetworkAccessManager of the loop thread: made there by the first request, reused by
//! every later one, destroyed there when the runner closes.
palitra::LoopLocal<QNetworkAccessManager> nam;

//! One request through the loop thread's QNetworkAccessManager. A stop request (the caller's
//! timeout) aborts the reply, which resumes `co_await reply` at once: no late answer keeps the
//! connection busy.
QCoro::Task<Result> fetchOne(QUrl url, std::stop_token stop) {
    Result result{.name = url.toString(), .url = url};
    QElapsedTimer clock;
    clock.start();
    // `co_await reply` resumes inside the reply's finished() emission: Qt asks that a reply is
    // not deleted there, so it goes through deleteLater() when this coroutine ends.
    const QScopedPointer<QNetworkReply, QScopedPointerDeleteLater> reply(
        nam->get(QNetworkRequest(url)));
    {
        const auto guard = palitra::abortOnStop(reply.get(), stop);
        co_await reply.get();
    }
    result.done = true;
    result.ms = clock.elapsed();
    result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (result.status >= 400) {
        result.error =
            QStringLiteral("HTTP %1 %2")
                .arg(result.status)
                .arg(reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString());
    } else if (reply->error() == QNetworkReply::OperationCanceledError && stop.stop_requested()) {
        result.timedOut = true;
        result.error = QStringLiteral("timeout");
    } else if (reply->error() == QNetworkReply::ConnectionRefusedError) {
        result.error = QStringLiteral("connection refused");
    } else if (reply->error() == QNetworkReply::HostNotFoundError) {
        result.error = QStringLiteral("unknown host");
    } else if (reply->error() != QNetworkReply::NoError) {
        result.error = reply->errorString();
    } else {
        result.bytes = reply->readAll().size();
    }
    co_return result;
}

//! The batch shared by the caller and the loop thread's workers: which URL is next, what came
//! back, and the progress line.
class Batch {
public:
    //! Invalid and unsupported URLs are rejected here, before any request is made.
    Batch(const QStringList &inputs, bool progress) : m_progress(progress) {
        for (const QString &input : inputs) {
            Result result{.name = input, .url = QUrl(input, QUrl::StrictMode)};
            result.error = rejectionOf(result.url);
            result.done = !result.error.isEmpty();
            m_failed += result.done ? 1 : 0;
            m_results.append(result);
        }
        m_done = m_failed;
    }

    //! Loop thread: the index of the next URL to fetch, if any.
    std::optional<qsizetype> next() {
        std::lock_guard lock(m_mutex);
        while (!m_closed && m_next < m_results.size()) {
            if (!m_results.at(m_next).done)
                return m_next++;
            ++m_next;
        }
        return std::nullopt;
    }
    QUrl url(qsizetype i) {
        std::lock_guard lock(m_mutex);
        return m_results.at(i).url;
    }
    //! Loop thread: records a result and updates the progress line.
    void finish(qsizetype i, Result result) {
        std::lock_guard lock(m_mutex);
        if (m_closed) // the caller timed out and has already reported this one
            return;
        ++m_done;
        m_failed += result.error.isEmpty() ? 0 : 1;
        result.name = m_results.at(i).name;
        m_results[i] = std::move(result);
        printProgress();
    }
    //! Caller: the results so far; later finish() calls are ignored.
    QList<Result> take() {
        std::lock_guard lock(m_mutex);
        m_closed = true;
        if (m_progress && isatty(STDERR_FILENO))
            std::fputs("\r\033[K", stderr);
        return m_results;
    }
    void printProgress() {
        if (!m_progress)
            return;
        // On a terminal the line is rewritten in place; in a log it is one line per update.
        const bool tty = isatty(STDERR_FILENO);
        std::fprintf(
            stderr, tty ? "\r%lld/%lld done, %d failed\033[K" : "%lld/%lld done, %d failed\n",
            static_cast<long long>(m_done), static_cast<long long>(m_results.size()), m_failed);
    }

private:
    std::mutex m_mutex;
    QList<Result> m_results;
    qsizetype m_next = 0;
    qsizetype m_done = 0;
    int m_failed = 0;
    bool m_progress;
    bool m_closed = false;
};

//! One of --concurrency workers: fetches URLs from the batch until none is left.
QCoro::Task<void> worker(std::shared_ptr<Batch> batch) {
    const std::stop_token stop = palitra::currentStopToken();
    while (!stop.stop_requested()) {
        const std::optional<qsizetype> i = batch->next();
        if (!i)
            break;
        batch->finish(*i, co_await fetchOne(batch->url(*i), stop));
    }
}

//! All of \a urls with one palitra::gather: at most \a concurrency requests in flight.
QList<Result> fetchAll(const QStringList &urls, int concurrency, std::chrono::milliseconds timeout,
                       bool progress) {
    auto batch = std::make_shared<Batch>(urls, progress);
    std::vector<std::function<QCoro::Task<void>()>> workers;
    for (qsizetype i = 0; i < std::min<qsizetype>(concurrency, urls.size()); ++i)
        workers.emplace_back([batch] { return worker(batch); });
    batch->printProgress();
    try {
        palitra::gather(workers, timeout);
    } catch (const palitra::TimeoutError &) {
        // Every reply still in flight has been aborted; what did not finish timed out.
    }
    QList<Result> results = batch->take();
    for (Result &result : results) {
        if (!result.done || result.timedOut)
            result.error = QStringLiteral("timeout after %1 ms").arg(timeout.count());
    }
    return results;
}

//! The same URLs one palitra::run() call after the other, for comparison.
void fetchSequentially(const QStringList &urls, std::chrono::milliseconds timeout) {
    for (const QString &text : urls) {
        const QUrl url(text);
        try {
            palitra::run([url] { return fetchOne(url, palitra::currentStopToken()); }, timeout);
        } catch (const palitra::TimeoutError &) {
        }
    }
}

//! "300ms", "2s", "1.5s" or "2" (seconds).
std::optional<std::chrono::milliseconds> parseDuration(const QString &text) {
    static const QRegularExpression pattern(QStringLiteral("^(\\d+(?:\\.\\d+)?)(ms|s)?$"));
    const QRegularExpressionMatch match = pattern.match(text.trimmed());
    if (!match.hasMatch())
        return std::nullopt;
    const double value = match.captured(1).toDouble();
    const double ms = match.captured(2) == QLatin1String("ms") ? value : value * 1000;
    if (ms < 1 || ms > 24 * 3600 * 1000.0)
        return std::nullopt;
    return std::chrono::milliseconds(static_cast<qint64>(ms));
}

int usageError(const QString &message) {
    std::fprintf(stderr, "fetch-cli: %s\nTry 'fetch-cli --help'.\n", qPrintable(message));
    return 2;
}

} // namespace

int main(int argc, char **argv) {
    // QNetworkAccessManager runs a thread of its own that needs an application object (a known
    // Qt limit); palitra's loop thread itself would not.
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("fetch-cli"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Fetches URLs concurrently and prints one line per URL: its status or its error.\n"
        "Without URLs, starts a local demo server and compares one gather() with sequential "
        "run() calls.\nExit code: 0 if every URL succeeded, 1 if any failed, 2 for bad usage."));
    parser.addPositionalArgument(QStringLiteral("urls"),
                                 QStringLiteral("http:// or https:// URLs."),
                                 QStringLiteral("[URL...]"));
    const QCommandLineOption timeoutOption(
        QStringLiteral("timeout"),
        QStringLiteral("Deadline for the whole batch: a number with unit ms or s (300ms, 2s, "
                       "1.5s; a bare number is seconds). Default 10s."),
        QStringLiteral("duration"), QStringLiteral("10s"));
    const QCommandLineOption concurrencyOption(
        QStringLiteral("concurrency"), QStringLiteral("At most N requests in flight. Default 6."),
        QStringLiteral("N"), QStringLiteral("6"));
    const QCommandLineOption jsonOption(QStringLiteral("json"),
                                        QStringLiteral("Print one JSON document on stdout."));
    const QCommandLineOption progressOption(
        QStringLiteral("progress"),
        QStringLiteral("Print progress on stderr (automatic when stderr is a terminal)."));
    const QCommandLineOption helpOption = parser.addHelpOption();
    parser.addOptions({timeoutOption, concurrencyOption, jsonOption, progressOption});

    if (!parser.parse(QCoreApplication::arguments()))
        return usageError(parser.errorText());
    // addHelpOption() registers --help-all as well (the help plus Qt's own options, which mean
    // nothing to this tool): it asks for help too, never for a run.
    if (parser.isSet(helpOption) || parser.isSet(QStringLiteral("help-all"))) {
        std::fputs(qPrintable(parser.helpText()), stdout);
        return 0;
    }
    const auto timeout = parseDuration(parser.value(timeoutOption));
    if (!timeout)
        return usageError(
            QStringLiteral("--timeout wants a duration such as 300ms or 2s, not \"%1\"")
                .arg(parser.value(timeoutOption)));
    bool isNumber = false;
    const int concurrency = parser.value(concurrencyOption).toInt(&isNumber);
    if (!isNumber || concurrency < 1)
        return usageError(QStringLiteral("--concurrency wants a whole number of at least 1"));
    const bool json = parser.isSet(jsonOption);
    const bool progress = parser.isSet(progressOption) || isatty(STDERR_FILENO);

    std::optional<DemoServer> server;
    QStringList urls = parser.positionalArguments();
    if (urls.isEmpty()) {
        server.emplace();
        if (!server->isListening()) {
            std::fputs("fetch-cli: the demo server could not listen on 127.0.0.1\n", stderr);
            return 1;
        }
        for (const char *path :
             {"/hello", "/slow/300", "/slow/300", "/slow/400", "/slow/500", "/fail", "/missing"})
            urls.append(server->url(QLatin1String(path)).toString());
    }

    QElapsedTimer clock;
    clock.start();
    const QList<Result> results = fetchAll(urls, concurrency, *timeout, progress);
    const qint64 gatherMs = clock.elapsed();
    qint64 sequentialMs = -1;
    if (server) {
        clock.restart();
        fetchSequentially(urls, *timeout);
        sequentialMs = clock.elapsed();
    }

    int failed = 0;
    QJsonArray items;
    for (const Result &r : std::as_const(results)) {
        failed += r.error.isEmpty() ? 0 : 1;
        const QString &url = r.name;
        QJsonObject item{{QStringLiteral("url"), url}, {QStringLiteral("ok"), r.error.isEmpty()}};
        if (r.status)
            item.insert(QStringLiteral("status"), r.status);
        if (r.error.isEmpty()) {
            item.insert(QStringLiteral("bytes"), r.bytes);
            item.insert(QStringLiteral("ms"), r.ms);
        } else {
            item.insert(QStringLiteral("error"), r.error);
        }
        items.append(item);
        if (json)
            continue;
        if (r.error.isEmpty())
            std::printf("ok    %-40s %d, %lld bytes, %lld ms\n", qPrintable(url), r.status,
                        static_cast<long long>(r.bytes), static_cast<long long>(r.ms));
        else
            std::printf("FAIL  %-40s %s\n", qPrintable(url), qPrintable(r.error));
    }

    QJsonObject summary{{QStringLiteral("results"), items},
                        {QStringLiteral("succeeded"), results.size() - failed},
                        {QStringLiteral("failed"), failed},
                        {QStringLiteral("gather_ms"), gatherMs}};
    if (server) {
        summary.insert(QStringLiteral("sequential_ms"), sequentialMs);
        summary.insert(QStringLiteral("server_requests"), server->requests());
        summary.insert(QStringLiteral("server_connections"), server->connections());
    }
    if (json) {
        std::fputs(QJsonDocument(summary).toJson().constData(), stdout);
    } else {
        std::printf("%lld ok, %d failed\n", static_cast<long long>(results.size() - failed),
                    failed);
        std::printf("one gather():        %5lld ms\n", static_cast<long long>(gatherMs));
        if (server) {
            std::printf("sequential run()s:   %5lld ms\n", static_cast<long long>(sequentialMs));
            std::printf("server: %d requests over %d TCP connections (one QNetworkAccessManager, "
                        "reused by every call)\n",
                        server->requests(), server->connections());
        }
    }
    return failed == 0 ? 0 : 1;
}
