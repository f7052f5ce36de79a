// SPDX-License-Identifier: MIT
#include <palitra/palitra.h>

#include <cstdio>

int main() {
    static_assert(PALITRA_VERSION_MAJOR >= 0);
    const int answer = palitra::run([]() -> QCoro::Task<int> { co_return 42; });
    palitra::EventLoopThreadRunner runner;
    const auto [a, b] = runner.gather([]() -> QCoro::Task<int> { co_return 40; },
                                      []() -> QCoro::Task<int> { co_return 2; });
    std::printf("consumer: %d %s\n", answer, a + b == answer ? "ok" : "MISMATCH");
    return a + b == answer ? 0 : 1;
}
