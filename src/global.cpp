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
//
// Both hooks close in CloseMode::ParkWaiters: while the process exits, callers blocked on other
// threads must neither wake nor throw (an uncaught RunnerClosedError there would end the process
// in std::terminate instead of with its exit code). A ~QCoreApplication is usually part of the
// exit (return app.exec() from main), but it need not be: if the program goes on, the callers it
// parked are released with RunnerClosedError by the next shutdownGlobalRunner() or the next use
// of the global runner.
#include <palitra/global.h>

#include "logging_p.h"
#include "runner_core_p.h"

#include <QCoreApplication>

#include <pthread.h>

#include <cstdlib>
#include <mutex>

namespace palitra {

namespace {

RunnerOptions defaultOptions() {
    RunnerOptions options;
    options.threadName = QStringLiteral("palitra-global");
    return options;
}

struct GlobalRunnerState {
    std::mutex mutex;
    std::shared_ptr<EventLoopThreadRunner> runner;
    // Closed by a hook with its blocked callers parked; released when the program goes on.
    std::shared_ptr<EventLoopThreadRunner> parked;
    RunnerOptions options = defaultOptions();
    // The application our post routine is registered with (Qt runs and clears post routines
    // once per application).
    QCoreApplication *postRoutineApp = nullptr;
};

GlobalRunnerState &globalState();
void shutdownFromPostRoutine();

//! Takes the global runner (and any parked one) out of the state, under its lock.
struct TakenRunners {
    std::shared_ptr<EventLoopThreadRunner> current;
    std::shared_ptr<EventLoopThreadRunner> parked;
};

TakenRunners takeRunners(GlobalRunnerState &state) {
    const std::lock_guard lock(state.mutex);
    if (state.postRoutineApp) {
        qRemovePostRoutine(shutdownFromPostRoutine);
        state.postRoutineApp = nullptr;
    }
    return {std::move(state.runner), std::move(state.parked)};
}

void shutdownAtExit() {
    detail::markProcessExiting();
    // Parked callers stay blocked until the process ends; each keeps its runner alive.
    const TakenRunners runners = takeRunners(globalState());
    if (runners.current)
        detail::RunnerInternals::core(*runners.current).close(detail::CloseMode::ParkWaiters);
}

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
    GlobalRunnerState &state = globalState();
    std::shared_ptr<EventLoopThreadRunner> runner;
    std::shared_ptr<EventLoopThreadRunner> parkedBefore;
    {
        const std::lock_guard lock(state.mutex);
        state.postRoutineApp = nullptr; // already taken off Qt's list
        runner = std::move(state.runner);
        parkedBefore = std::exchange(state.parked, runner);
    }
    qCDebug(detail::lcPalitra) << "application is being destroyed: shutting the global runner down";
    if (parkedBefore)
        detail::RunnerInternals::core(*parkedBefore).releaseParked();
    if (runner)
        detail::RunnerInternals::core(*runner).close(detail::CloseMode::ParkWaiters);
}

} // namespace

namespace detail {

std::shared_ptr<EventLoopThreadRunner> globalRunner() {
    GlobalRunnerState &state = globalState();
    std::shared_ptr<EventLoopThreadRunner> parked;
    std::shared_ptr<EventLoopThreadRunner> runner;
    {
        const std::lock_guard lock(state.mutex);
        if (!state.runner) {
            state.runner = std::make_shared<EventLoopThreadRunner>(state.options);
            parked = std::move(state.parked); // the program went on: release them below
        }
        if (QCoreApplication *app = QCoreApplication::instance();
            app && app != state.postRoutineApp) {
            qAddPostRoutine(shutdownFromPostRoutine);
            state.postRoutineApp = app;
        }
        runner = state.runner;
    }
    if (parked)
        RunnerInternals::core(*parked).releaseParked();
    return runner;
}

} // namespace detail

void setGlobalRunnerOptions(RunnerOptions options) {
    // Options that only set a hook or a grace period keep the global runner's own thread name.
    if (options.threadName == RunnerOptions().threadName)
        options.threadName = defaultOptions().threadName;
    GlobalRunnerState &state = globalState();
    const std::lock_guard lock(state.mutex);
    state.options = std::move(options);
}

bool isRunnerAlive() noexcept {
    GlobalRunnerState &state = globalState();
    const std::lock_guard lock(state.mutex);
    return state.runner && state.runner->isRunning();
}

RunnerStats globalStats() noexcept {
    std::shared_ptr<EventLoopThreadRunner> runner;
    {
        GlobalRunnerState &state = globalState();
        const std::lock_guard lock(state.mutex);
        runner = state.runner;
    }
    return runner ? runner->stats() : RunnerStats{};
}

void shutdownGlobalRunner() {
    TakenRunners runners = takeRunners(globalState());
    if (runners.parked)
        detail::RunnerInternals::core(*runners.parked).releaseParked();
    if (runners.current)
        runners.current->close();
}

} // namespace palitra
