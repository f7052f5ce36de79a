// SPDX-License-Identifier: MIT
#include "process_exit_p.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

#if defined(__GLIBC__)
#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace palitra::detail {

namespace {

std::atomic<bool> processExiting{false};
std::once_flag firstHook;

void onProcessExit() {
    markProcessExiting();
}

// Set on the thread whose exit() is to be noticed first; its destructor is the first thing
// exit() runs there (unless the thread ends on its own, which says so before).
struct ExitWatch {
    bool threadEnds = false;
    ~ExitWatch() {
        if (!threadEnds)
            markProcessExiting();
    }
};
thread_local ExitWatch *exitWatch = nullptr;

void watchThisThread() noexcept {
    // A function-local thread_local: constructed (and its destructor registered) on first use.
    thread_local ExitWatch watch;
    exitWatch = &watch;
}

bool isMainThread() noexcept {
#if defined(__GLIBC__)
    return static_cast<pid_t>(syscall(SYS_gettid)) == getpid();
#else
    return false;
#endif
}

} // namespace

bool isInStaticStorage(const void *address) noexcept {
#if defined(__GLIBC__)
    Dl_info info{};
    return dladdr(address, &info) != 0;
#else
    (void)address;
    return false;
#endif
}

void markProcessExiting() noexcept {
    processExiting.store(true, std::memory_order_release);
}

bool isProcessExiting() noexcept {
    return processExiting.load(std::memory_order_acquire);
}

void watchProcessExitFromMainThread() noexcept {
    if (!exitWatch && isMainThread())
        watchThisThread();
}

void watchProcessExitForRunner(bool runnerIsStatic) noexcept {
    bool registered = false;
    std::call_once(firstHook, [&] { registered = std::atexit(onProcessExit) == 0; });
    // One more registration per static runner, never per heap or stack one: a process that makes
    // runners over and over must not grow the atexit list.
    if (!registered && runnerIsStatic)
        std::atexit(onProcessExit);
    watchProcessExitFromMainThread();
}

void watchProcessExitOnLoopThread() noexcept {
    watchThisThread();
}

void loopThreadEnds() noexcept {
    if (exitWatch)
        exitWatch->threadEnds = true;
}

} // namespace palitra::detail
