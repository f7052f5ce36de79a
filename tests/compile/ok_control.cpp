// SPDX-License-Identifier: MIT
// Must compile (see CMakeLists.txt): every accepted form of run() and gather(), so the compile
// checks are shown able to pass.
#include <palitra/palitra.h>

#include <QList>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

namespace {

QCoro::Task<int> answer() {
    co_return 42;
}

QCoro::Task<> nothing() {
    co_return;
}

QCoro::Task<int> (*const answerPointer)() = &answer;

} // namespace

int useAll(palitra::EventLoopThreadRunner &runner) {
    using namespace std::chrono_literals;
    int sum = palitra::run([] { return answer(); });
    sum += palitra::run([]() -> QCoro::Task<int> { co_return co_await answer(); }, 2s);
    sum += palitra::run(answerPointer, 1.5s);
    palitra::run(&nothing);
    static_assert(std::is_void_v<decltype(palitra::run(&nothing))>);

    std::function<QCoro::Task<int>()> fn = [] { return answer(); };
    sum += runner.run(fn);
    sum += runner.run(std::move(fn), std::chrono::hours::max());

    auto [a, b] = palitra::gather([] { return answer(); }, [] { return nothing(); });
    static_assert(std::is_same_v<decltype(b), std::monostate>);
    sum += a;
    auto [c] = runner.gather([] { return answer(); }, 100ms);
    sum += c;

    std::vector<std::function<QCoro::Task<int>()>> work{fn, fn};
    const QList<int> fromVector = palitra::gather(work);
    const QList<int> fromSpan = runner.gather(std::span(work), 1s);
    std::array<QCoro::Task<int> (*)(), 2> pointers{&answer, &answer};
    const QList<int> fromArray = runner.gather(pointers);
    const auto outcomes = palitra::gatherOutcomes(std::move(work));
    auto [o1, o2] = runner.gatherOutcomes(&answer, &nothing, 1s);
    sum += fromVector.size() + fromSpan.size() + fromArray.size() + int(outcomes.size());
    if (o1.hasValue() && o2.hasValue())
        sum += o1.value();
    return sum;
}
