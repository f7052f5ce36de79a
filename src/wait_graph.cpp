// SPDX-License-Identifier: MIT
#include "wait_graph_p.h"

#include "runner_core_p.h"

#include <palitra/errors.h>

#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace palitra::detail {

namespace {

struct BlockedLoops {
    std::mutex mutex;
    // A runner whose loop thread is blocked -> the runner it is blocked on. Every runner in it
    // is alive: its loop thread is blocked in a call on it, or is the one that registered.
    std::unordered_map<RunnerCore *, RunnerCore *> blockedOn;
};

BlockedLoops &blockedLoops() {
    static auto *loops = new BlockedLoops; // never destroyed: loop threads may outlive main()
    return *loops;
}

std::string describeCycle(RunnerCore &waiter, RunnerCore &target,
                          const std::unordered_map<RunnerCore *, RunnerCore *> &blockedOn) {
    std::string path = '"' + waiter.name().toStdString() + '"';
    for (RunnerCore *each = &target; each && each != &waiter; each = blockedOn.at(each))
        path += " -> \"" + each->name().toStdString() + '"';
    return path + " -> \"" + waiter.name().toStdString() + '"';
}

} // namespace

BlockedLoopScope::BlockedLoopScope(RunnerCore &waiter, RunnerCore &target) : m_waiter(&waiter) {
    BlockedLoops &loops = blockedLoops();
    const std::lock_guard lock(loops.mutex);
    for (RunnerCore *each = &target; each;) {
        if (each == &waiter) {
            throw DeadlockError(
                "palitra: run()/gather() on runner \"" + target.name().toStdString() +
                "\" from the loop thread of runner \"" + waiter.name().toStdString() +
                "\" would never finish: their loop threads would wait for each other (" +
                describeCycle(waiter, target, loops.blockedOn) +
                "). Nothing was invoked and every runner stays usable; inside a coroutine, "
                "co_await the other runner's work instead (co_await its submit() QFuture).");
        }
        const auto found = loops.blockedOn.find(each);
        each = found == loops.blockedOn.end() ? nullptr : found->second;
    }
    auto [slot, inserted] = loops.blockedOn.try_emplace(&waiter, &target);
    m_previous = inserted ? nullptr : std::exchange(slot->second, &target);
}

BlockedLoopScope::~BlockedLoopScope() {
    BlockedLoops &loops = blockedLoops();
    const std::lock_guard lock(loops.mutex);
    if (m_previous)
        loops.blockedOn[m_waiter] = m_previous;
    else
        loops.blockedOn.erase(m_waiter);
}

} // namespace palitra::detail
