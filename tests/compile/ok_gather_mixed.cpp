// SPDX-License-Identifier: MIT
// Must compile without warnings (see CMakeLists.txt): gather() of a lambda beside a function
// pointer. GCC 12 warns by default (-Wsubobject-linkage) when a no-linkage type ends up in a
// coroutine frame whose type has linkage.
#include <palitra/palitra.h>

#include <tuple>
#include <variant>

namespace {

QCoro::Task<> nothing() {
    co_return;
}

} // namespace

int useMixed(palitra::EventLoopThreadRunner &runner) {
    auto [a, b] = runner.gather([]() -> QCoro::Task<int> { co_return 42; }, &nothing);
    auto [c, d] = palitra::gatherOutcomes(&nothing, []() -> QCoro::Task<int> { co_return 1; });
    static_assert(std::is_same_v<decltype(b), std::monostate>);
    return a + (c.hasValue() ? d.value() : 0);
}
