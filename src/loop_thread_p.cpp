// SPDX-License-Identifier: MIT
#include "loop_thread_p.h"

namespace palitra::detail {

LoopThread::LoopThread(std::function<void(LoopThread &)> body) : m_body(std::move(body)) {}

LoopThread::~LoopThread() = default;

int LoopThread::runEventLoop() {
    return exec();
}

void LoopThread::run() {
    m_body(*this);
}

} // namespace palitra::detail
