// SPDX-License-Identifier: MIT
//
// The global runner and its exit hooks.
//
// Exit order matters: a QThread destroyed while it runs is a qFatal (exit code 134). The
// runner is therefore closed, and its thread joined, by a std::atexit hook registered right
// after the function-local state is constructed (atexit hooks and static destructors run in
// reverse order of registration, so the hook runs first), and earlier, at the start of
// ~QCoreApplication, by a post routine: events are still delivered then, the moment for a
// graceful drain.
#include <palitra/global.h>

#include "logging_p.h"

#include <QCoreApplication>

#include <pthread.h>

#include <cstdlib>
#include <mutex>

namespace palitra {

namespace {

struct GlobalRunnerState {
    std::mutex mutex;
    std::shared_ptr<EventLoopThreadRunner> runner;
    // The application our post routine is registered with (Qt runs and clears post routines
    // once per application).
    QCoreApplication *postRoutineApp = nullptr;
};

void shutdownAtExit() {
    shutdownGlobalRunner();
}

GlobalRunnerState &globalState();

// Held across fork(), so that the child never inherits it locked by a thread that does not exist
// there (the child must be able to call shutdownGlobalRunner() and then use a new runner). Every
// holder keeps it briefly and never forks under it.
void lockForFork() {
    globalState().mutex.lock();
}

void unlockAfterFork() {
    globalState().mutex.unlock();
}

GlobalRunnerState &globalState() {
    static GlobalRunnerState state;
    static const bool hooksRegistered =
        std::atexit(shutdownAtExit) == 0 &&
        pthread_atfork(lockForFork, unlockAfterFork, unlockAfterFork) == 0;
    Q_UNUSED(hooksRegistered);
    return state;
}

void shutdownFromPostRoutine() {
    {
        const std::lock_guard lock(globalState().mutex);
        globalState().postRoutineApp = nullptr; // already taken off Qt's list
    }
    qCDebug(detail::lcPalitra) << "application is being destroyed: shutting the global runner down";
    shutdownGlobalRunner();
}

} // namespace

namespace detail {

std::shared_ptr<EventLoopThreadRunner> globalRunner() {
    GlobalRunnerState &state = globalState();
    const std::lock_guard lock(state.mutex);
    if (!state.runner) {
        RunnerOptions options;
        options.threadName = QStringLiteral("palitra-global");
        state.runner = std::make_shared<EventLoopThreadRunner>(std::move(options));
    }
    if (QCoreApplication *app = QCoreApplication::instance(); app && app != state.postRoutineApp) {
        qAddPostRoutine(shutdownFromPostRoutine);
        state.postRoutineApp = app;
    }
    return state.runner;
}

} // namespace detail

bool isRunnerAlive() noexcept {
    GlobalRunnerState &state = globalState();
    const std::lock_guard lock(state.mutex);
    return state.runner && state.runner->isRunning();
}

void shutdownGlobalRunner() {
    GlobalRunnerState &state = globalState();
    std::shared_ptr<EventLoopThreadRunner> runner;
    {
        const std::lock_guard lock(state.mutex);
        runner = std::move(state.runner);
        if (state.postRoutineApp) {
            qRemovePostRoutine(shutdownFromPostRoutine);
            state.postRoutineApp = nullptr;
        }
    }
    if (runner)
        runner->close();
}

} // namespace palitra
