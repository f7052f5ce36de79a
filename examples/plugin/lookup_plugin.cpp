// SPDX-License-Identifier: MIT
// A plugin that implements the host's synchronous interface with asynchronous code: every
// lookup() blocks on a coroutine running on the plugin's own palitra runner. Unloading the
// plugin deletes this object, whose destructor closes the runner: no thread is left behind.
#include "lookup_interface.h"

#include <palitra/palitra.h>

#include <QHash>
#include <QtPlugin>

#include <condition_variable>
#include <mutex>

using namespace std::chrono_literals;

class LookupPlugin : public QObject, public LookupInterface {
    Q_OBJECT
    Q_PLUGIN_METADATA(IID LookupInterface_iid)
    Q_INTERFACES(LookupInterface)

public:
    ~LookupPlugin() override {
        // Releases a lookup() blocked on another thread at once (RunnerClosedError) and stops
        // its coroutine; then waits until that thread has left the runner, which is about to
        // be destroyed.
        m_runner.close();
        std::unique_lock lock(m_mutex);
        m_idle.wait(lock, [this] { return m_inFlight == 0; });
    }

    QString lookup(const QString &key) override {
        const InFlight inFlight(this);
        // No answer in time and an unload racing the call both mean "no answer" to the host.
        // Any other failure (palitra's DeadlockError, or its Error when the host has no
        // QCoreApplication and palitra needs one) is a bug of the host or of this plugin, and
        // reaches the host as an exception rather than passing for an unknown key.
        try {
            return m_runner.run([key] { return directoryLookup(key); }, 10s);
        } catch (const palitra::TimeoutError &) {
            return {};
        } catch (const palitra::RunnerClosedError &) {
            return {};
        }
    }

    int callsInFlight() const override {
        std::lock_guard lock(m_mutex);
        return m_inFlight;
    }

private:
    //! Stands for a real asynchronous service: answers after a delay on the loop thread. The
    //! key "slow" never answers; it ends when the call is asked to stop.
    static QCoro::Task<QString> directoryLookup(QString key) {
        const std::stop_token stop = palitra::currentStopToken();
        static const QHash<QString, QString> directory = {
            {QStringLiteral("alice"), QStringLiteral("alice@example.org")},
            {QStringLiteral("bob"), QStringLiteral("bob@example.org")},
        };
        if (!co_await palitra::sleepFor(key == QLatin1String("slow") ? 1h : 20ms, stop))
            co_return QString();
        co_return directory.value(key);
    }

    struct InFlight {
        explicit InFlight(LookupPlugin *plugin) : m_plugin(plugin) {
            std::lock_guard lock(m_plugin->m_mutex);
            ++m_plugin->m_inFlight;
        }
        ~InFlight() {
            std::lock_guard lock(m_plugin->m_mutex);
            if (--m_plugin->m_inFlight == 0)
                m_plugin->m_idle.notify_all();
        }
        LookupPlugin *m_plugin;
    };

    palitra::EventLoopThreadRunner m_runner{{.threadName = QStringLiteral("lookup-loop")}};
    mutable std::mutex m_mutex;
    std::condition_variable m_idle;
    int m_inFlight = 0;
};

#include "lookup_plugin.moc"
