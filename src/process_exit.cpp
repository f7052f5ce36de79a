// SPDX-License-Identifier: MIT
#include "process_exit_p.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <vector>

#if defined(__GLIBC__)
#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace palitra::detail {

namespace {

std::atomic<bool> processExiting{false};

void onProcessExit() {
    markProcessExiting();
}

// main()'s thread only: its destructor is the first thing exit() runs there. (A main() that ends
// with pthread_exit() runs it too, and the process then counts as exiting.)
struct MainThreadExitWatch {
    ~MainThreadExitWatch() { markProcessExiting(); }
};

// Set once a thread has been looked at, so that the look (a system call) is made once per thread.
thread_local bool threadLookedAt = false;

bool isMainThread() noexcept {
#if defined(__GLIBC__)
    return static_cast<pid_t>(syscall(SYS_gettid)) == getpid();
#else
    return false;
#endif
}

// Whether \a address lies in a loaded module's image (its data and bss included): an object there
// has static storage duration, and exit() (or dlclose()) destroys it.
bool isInStaticStorage(const void *address) noexcept {
#if defined(__GLIBC__)
    Dl_info info{};
    return dladdr(address, &info) != 0;
#else
    (void)address;
    return false;
#endif
}

// The hook once for the process, then once more for each address of a static runner: a runner
// made again at the same address (a static std::optional emplaced anew) was destroyed by its
// owner, whose own destructor is still registered before that hook. Bounded by the number of
// such addresses, so a program that makes runners over and over does not grow the atexit list.
std::mutex hooksMutex;
bool firstHookRegistered = false;
std::vector<const void *> *staticRunnersHooked = nullptr; // never freed: no destruction order

void registerHookFor(const void *runnerObject) noexcept {
    // Before the lock: dladdr() takes the dynamic loader's, which dlopen() holds while it runs a
    // library's constructors, and such a constructor may make this runner's first call.
    const bool isStatic = isInStaticStorage(runnerObject);
    const std::lock_guard lock(hooksMutex);
    if (!firstHookRegistered) {
        firstHookRegistered = std::atexit(onProcessExit) == 0;
        return;
    }
    if (!isStatic)
        return;
    try {
        if (!staticRunnersHooked)
            staticRunnersHooked = new std::vector<const void *>;
        if (std::find(staticRunnersHooked->begin(), staticRunnersHooked->end(), runnerObject) !=
            staticRunnersHooked->end())
            return;
        staticRunnersHooked->push_back(runnerObject);
    } catch (...) {
        // Out of memory: register the hook anyway, once more than needed rather than too few.
    }
    if (std::atexit(onProcessExit) != 0 && staticRunnersHooked && !staticRunnersHooked->empty() &&
        staticRunnersHooked->back() == runnerObject)
        staticRunnersHooked->pop_back(); // not hooked after all: a runner made here again retries
}

} // namespace

void markProcessExiting() noexcept {
    processExiting.store(true, std::memory_order_release);
}

bool isProcessExiting() noexcept {
    return processExiting.load(std::memory_order_acquire);
}

void ProcessExitWatch::armSlow() noexcept {
    // Threads racing through a runner's first calls may both get here: the address is hooked once.
    registerHookFor(m_runnerObject);
    m_armed.store(true, std::memory_order_release);
}

void ProcessExitWatch::armForThisThread() noexcept {
    if (threadLookedAt) [[likely]]
        return;
    threadLookedAt = true;
    if (isMainThread()) {
        // A function-local thread_local: made, and its destructor registered, on first use.
        thread_local MainThreadExitWatch watch;
        (void)watch;
    }
}

} // namespace palitra::detail
