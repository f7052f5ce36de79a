// SPDX-License-Identifier: MIT
// The out-of-line part of detail::CallBase: what the call templates need from the runner.
#include <palitra/detail/call.h>

#include "runner_core_p.h"

namespace palitra::detail {

CallBase::~CallBase() = default;

void CallBase::coroutineStarted() noexcept {
    m_links.core->coroutineStarted();
}

void CallBase::coroutineEnded() noexcept {
    if (!m_links.isAbandoned.load(std::memory_order_acquire))
        m_links.core->coroutineEnded();
}

void CallBase::retire() noexcept {
    if (!m_links.isAbandoned.load(std::memory_order_acquire))
        m_links.core->retire(this);
}

} // namespace palitra::detail
