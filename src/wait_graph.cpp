// SPDX-License-Identifier: MIT
#include "wait_graph_p.h"

#include "runner_core_p.h"

#include <palitra/errors.h>

#include <palitra/detail/call.h>

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace palitra::detail {

namespace {

//! One wait of a blocked loop thread: on \a target's loop, in \a call.
struct BlockedWait {
    RunnerCore *target;
    const CallBase *call;
};

struct BlockedLoops {
    std::mutex mutex;
    // A runner whose loop thread is blocked -> its waits, the innermost last. A loop thread
    // blocked in a call may run routed work (onCaller()) that blocks again, on another runner:
    // it then waits on both, since the outer call still needs its runner's loop. Every runner
    // in it is alive: its loop thread is blocked in a call on it, or is the one that registered.
    std::unordered_map<RunnerCore *, std::vector<BlockedWait>> waitsOf;
};

BlockedLoops &blockedLoops() {
    static auto *loops = new BlockedLoops; // never destroyed: loop threads may outlive main()
    return *loops;
}

// A wait whose call has ended is over, though its thread has not woken to leave the graph
// yet: its runner's loop is about to be free, and counting it would refuse a call that works.
bool stillWaits(const BlockedWait &wait) {
    return !wait.call->hasEnded();
}

//! The runners from \a target to \a waiter whose loops wait, each on the next: \a target
//! first, \a waiter last. Nothing if \a target's loop does not wait for \a waiter's.
std::optional<std::vector<RunnerCore *>> cycleThrough(RunnerCore &waiter, RunnerCore &target,
                                                      const BlockedLoops &loops) {
    // Depth first over the few blocked loops there are, each seen once.
    std::unordered_map<RunnerCore *, RunnerCore *> reachedFrom{{&target, nullptr}};
    std::vector<RunnerCore *> toVisit{&target};
    while (!toVisit.empty()) {
        RunnerCore *each = toVisit.back();
        toVisit.pop_back();
        if (each == &waiter) {
            std::vector<RunnerCore *> chain;
            for (RunnerCore *link = each; link; link = reachedFrom.at(link))
                chain.insert(chain.begin(), link);
            return chain;
        }
        const auto found = loops.waitsOf.find(each);
        if (found == loops.waitsOf.end())
            continue;
        for (const BlockedWait &wait : found->second) {
            if (stillWaits(wait) && reachedFrom.try_emplace(wait.target, each).second)
                toVisit.push_back(wait.target);
        }
    }
    return std::nullopt;
}

std::string quoted(const RunnerCore &runner) {
    return '"' + runner.name().toStdString() + '"';
}

} // namespace

BlockedLoopScope::BlockedLoopScope(RunnerCore &waiter, RunnerCore &target, const CallBase &call)
    : m_waiter(&waiter) {
    BlockedLoops &loops = blockedLoops();
    const std::lock_guard lock(loops.mutex);
    if (const auto chain = cycleThrough(waiter, target, loops)) {
        std::string path = quoted(waiter);
        for (const RunnerCore *each : *chain)
            path += " -> " + quoted(*each);
        throw DeadlockError(
            "palitra: run()/gather() on runner " + quoted(target) +
            " from the loop thread of runner " + quoted(waiter) +
            " would never finish: their loop threads would wait for each other (" + path +
            "). Nothing was invoked and every runner stays usable; inside a coroutine, "
            "co_await the other runner's work instead (co_await its submit() QFuture).");
    }
    // Throws (bad_alloc) before anything is registered, or registers.
    loops.waitsOf[&waiter].push_back({&target, &call});
}

BlockedLoopScope::~BlockedLoopScope() {
    BlockedLoops &loops = blockedLoops();
    const std::lock_guard lock(loops.mutex);
    const auto found = loops.waitsOf.find(m_waiter);
    // A loop thread's waits nest, so its scopes end innermost first.
    found->second.pop_back();
    if (found->second.empty())
        loops.waitsOf.erase(found);
}

} // namespace palitra::detail
