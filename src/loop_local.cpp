// SPDX-License-Identifier: MIT
#include <palitra/loop_local.h>

#include "loop_local_registry_p.h"
#include "runner_core_p.h"

#include <QString>
#include <QThread>

#include <atomic>
#include <string>

namespace palitra::detail {

void LoopLocalRegistry::insert(std::size_t key, void *value, Destroy destroy) {
    if (key >= m_byKey.size())
        m_byKey.resize(key + 1, nullptr);
    m_inCreationOrder.reserve(m_inCreationOrder.size() + 1); // nothing to undo past this point
    m_byKey[key] = value;
    m_inCreationOrder.push_back({key, value, destroy});
}

void LoopLocalRegistry::destroyAll() noexcept {
    m_isClosed = true;
    // One at a time, so that a destructor that looks up another value finds it still there.
    while (!m_inCreationOrder.empty()) {
        const Entry entry = m_inCreationOrder.back();
        m_inCreationOrder.pop_back();
        m_byKey[entry.key] = nullptr; // first: a destructor asking for its own value is refused
        entry.destroy(entry.value);
    }
}

namespace {

std::atomic<std::size_t> lastLoopLocalKey{0};

LoopLocalRegistry &registryHere() {
    RunnerCore *core = RunnerCore::current();
    if (!core) {
        const QString name = QThread::currentThread()->objectName();
        const std::string thread =
            name.isEmpty() ? std::string("a thread") : "thread \"" + name.toStdString() + '"';
        throw Error("palitra: LoopLocal::get() was called on " + thread +
                    ", which is not a runner's loop thread. Call it inside a coroutine started "
                    "by run(), gather() or submit(), or in code running on the loop thread (a "
                    "functor posted to runner.context()).");
    }
    return core->loopLocals();
}

[[noreturn]] void throwLoopEnding() {
    throw Error("palitra: LoopLocal::get() was called while its runner's loop was ending, for a "
                "value that was never made or is destroyed already; none is made any more.");
}

} // namespace

std::size_t newLoopLocalKey() noexcept {
    return lastLoopLocalKey.fetch_add(1, std::memory_order_relaxed);
}

void *findLoopLocal(std::size_t key) {
    const LoopLocalRegistry &registry = registryHere();
    void *value = registry.find(key);
    // While the values are destroyed, the newest first, a destructor may still use an older
    // value (a pool using a logger); only making a new one is refused.
    if (!value && registry.isClosed())
        throwLoopEnding();
    return value;
}

void storeLoopLocal(std::size_t key, void *value, void (*destroy)(void *) noexcept) {
    try {
        LoopLocalRegistry &registry = registryHere();
        if (registry.isClosed())
            throwLoopEnding();
        registry.insert(key, value, destroy);
    } catch (...) {
        destroy(value);
        throw;
    }
}

} // namespace palitra::detail
