// SPDX-License-Identifier: MIT
#include <palitra/palitra.h>

#include <QCoreApplication>

#include <cstdio>
#include <optional>

int useEveryTemplate(); // every_template.cpp: the number of failed checks

int main(int argc, char **argv) {
    // Built without Qt's private headers, palitra needs an application object (without one,
    // run() throws palitra::Error).
    std::optional<QCoreApplication> app;
    if (!PALITRA_USES_QT_PRIVATE)
        app.emplace(argc, argv);
    static_assert(PALITRA_VERSION_MAJOR >= 0);
    static_assert(PALITRA_USES_QT_PRIVATE == 0 || PALITRA_USES_QT_PRIVATE == 1);
    const int answer = palitra::run([]() -> QCoro::Task<int> { co_return 42; });
    palitra::EventLoopThreadRunner runner;
    const auto [a, b] = runner.gather([]() -> QCoro::Task<int> { co_return 40; },
                                      []() -> QCoro::Task<int> { co_return 2; });
    std::printf("consumer: %d %s\n", answer, a + b == answer ? "ok" : "MISMATCH");
    const int failures = useEveryTemplate();
    std::printf("consumer: every template: %s\n", failures == 0 ? "ok" : "FAILED");
    return a + b == answer && failures == 0 ? 0 : 1;
}
