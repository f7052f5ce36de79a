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
        entry.destroy(entry.value);
        m_byKey[entry.key] = nullptr;
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
    if (core->loopLocals().isClosed()) {
        throw Error("palitra: LoopLocal::get() was called while its runner's loop was ending; "
                    "its values have been destroyed.");
    }
    return core->loopLocals();
}

} // namespace

std::size_t newLoopLocalKey() noexcept {
    return lastLoopLocalKey.fetch_add(1, std::memory_order_relaxed);
}

void *findLoopLocal(std::size_t key) {
    return registryHere().find(key);
}

void storeLoopLocal(std::size_t key, void *value, void (*destroy)(void *) noexcept) {
    try {
        registryHere().insert(key, value, destroy);
    } catch (...) {
        destroy(value);
        throw;
    }
}

} // namespace palitra::detail
