// SPDX-License-Identifier: MIT
//
// Which call this thread is invoking right now (currentCall(), currentStopToken()), the handle
// that outlives that moment (CallContext), and the diagnostics of code that asks at the wrong
// moment or resumes on the wrong thread.
#include <palitra/call_context.h>
#include <palitra/detail/call.h>
#include <palitra/errors.h>
#include <palitra/stop.h>

#include "logging_p.h"
#include "runner_core_p.h"

#include <QByteArray>
#include <QThread>

#include <cstdlib>
#include <cxxabi.h>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace palitra {

namespace {

// The call whose callable is being invoked on this thread right now.
thread_local detail::CallBase *tlsCurrentCall = nullptr;

std::string typeName(const std::type_info &type) {
    int status = 0;
    const std::unique_ptr<char, void (*)(void *)> demangled(
        abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), &std::free);
    return status == 0 && demangled ? std::string(demangled.get()) : std::string(type.name());
}

// The Qt name of this thread, or its OS name when it has none (the main thread, a plain
// QThread), and its tid: what a reader can find it by in a debugger or in top -H.
QByteArray currentThreadName() {
    QByteArray name = QThread::currentThread()->objectName().toUtf8();
    if (name.isEmpty())
        name = detail::osThreadName(pthread_self());
    return '"' + name + "\" (tid " + QByteArray::number(qint64(detail::currentThreadId())) + ')';
}

// Each mistake is reported once per place in the code that makes it: a loop that asks a
// thousand times says so once, two different helpers each say it once.
bool isFirstReport(const void *key) {
    static std::mutex mutex;
    static std::set<const void *> reported;
    const std::lock_guard lock(mutex);
    return reported.insert(key).second;
}

// The question was asked on a runner's loop thread, but not while a callable runs there: the
// answer is "no call", which is never what the code wanted.
void reportAskedTooLate(const char *function, const void *site) noexcept {
    try {
        const detail::RunnerCore *core = detail::RunnerCore::current();
        if (!core || !isFirstReport(site))
            return;
        qCWarning(detail::lcPalitra,
                  "%s was called on the loop thread of runner \"%s\" after the callable's first "
                  "suspension (or outside any callable), where it belongs to no call: read it at "
                  "the top of the callable, before the first co_await, and pass it down to "
                  "helpers (see palitra::CallContext).",
                  function, qUtf8Printable(core->name()));
    } catch (...) { // a diagnostic must never fail the caller
    }
}

} // namespace

std::stop_token currentStopToken() noexcept {
    if (tlsCurrentCall)
        return tlsCurrentCall->stopToken();
    reportAskedTooLate("palitra::currentStopToken()", __builtin_return_address(0));
    return {};
}

CallContext currentCall() noexcept {
    if (tlsCurrentCall)
        return CallContext(tlsCurrentCall);
    reportAskedTooLate("palitra::currentCall()", __builtin_return_address(0));
    return {};
}

CallContext::CallContext(detail::CallBase *call) noexcept : m_call(call) {
    if (m_call)
        m_call->retain();
}

CallContext::CallContext(const CallContext &other) noexcept : CallContext(other.m_call) {}

CallContext &CallContext::operator=(const CallContext &other) noexcept {
    CallContext copy(other);
    std::swap(m_call, copy.m_call);
    return *this;
}

CallContext &CallContext::operator=(CallContext &&other) noexcept {
    CallContext taken(std::move(other));
    std::swap(m_call, taken.m_call);
    return *this;
}

CallContext::~CallContext() {
    if (m_call)
        m_call->release();
}

std::stop_token CallContext::stopToken() const noexcept {
    return m_call ? m_call->stopToken() : std::stop_token{};
}

namespace detail {

CurrentCallScope::CurrentCallScope(CallBase &call) noexcept
    : m_previous(std::exchange(tlsCurrentCall, &call)) {}

CurrentCallScope::CurrentCallScope(std::nullptr_t) noexcept
    : m_previous(std::exchange(tlsCurrentCall, nullptr)) {}

CurrentCallScope::~CurrentCallScope() {
    tlsCurrentCall = m_previous;
}

Completion *blockedCallerOf(CallBase *call) noexcept {
    return call && call->hasBlockedCaller() ? &call->completion() : nullptr;
}

std::exception_ptr onCallerFailure(CallStatus status) noexcept {
    try {
        switch (status) {
        case CallStatus::TimedOut:
            throw TimeoutError("palitra: onCaller(): the caller's timeout passed and it no longer "
                               "waits; the function was not run.");
        case CallStatus::Closed:
            throw RunnerClosedError("palitra: onCaller(): the runner was closed and released the "
                                    "caller; the function was not run.");
        case CallStatus::Pending:
        case CallStatus::Parked:
        case CallStatus::Finished:
        case CallStatus::Cancelled:
            break;
        }
        throw Error("palitra: onCaller(): the call has already ended for its caller (it "
                    "returned, or another coroutine of its gather failed), so nobody waits to "
                    "run the function; it was not run.");
    } catch (...) {
        return std::current_exception();
    }
}

std::exception_ptr onCallerWithoutCaller(const CallBase *call) noexcept {
    try {
        if (!call) {
            throw Error("palitra: onCaller() on a CallContext that belongs to no call: take it "
                        "with palitra::currentCall() at the top of the callable, before its "
                        "first co_await.");
        }
        throw Error("palitra: onCaller() needs a thread blocked in run() or gather(), and this "
                    "call was submit()ted: no thread waits for it. Reach the submitting thread "
                    "through the QFuture instead (then(context, ...)).");
    } catch (...) {
        return std::current_exception();
    }
}

void checkEndedOnLoopThread(const CallBase &owner, const std::type_info &callable) noexcept {
    if (RunnerCore::current() == owner.core())
        return;
    try {
        if (!isFirstReport(&callable))
            return;
        qCWarning(lcPalitra,
                  "a coroutine that palitra started on a runner's loop thread (callable %s) "
                  "ended on thread %s instead: an awaitable resumed it there (QCoro 0.8's "
                  "qCoro(object, &Class::signal) resumes in the object's thread). The call "
                  "completes, but the coroutine's code ran on the wrong thread; await signals "
                  "with palitra::awaitSignal(), which resumes on the awaiting thread.",
                  typeName(callable).c_str(), currentThreadName().constData());
    } catch (...) { // a diagnostic must never fail the call
    }
}

} // namespace detail

} // namespace palitra
