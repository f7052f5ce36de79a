// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). A callable that can be neither moved nor copied: palitra
// must keep it until the coroutine ends.
#include <palitra/palitra.h>

#include <memory>
#include <mutex>

int use() {
#if defined(PALITRA_EXPECT_OK)
    auto fn = [m = std::make_shared<std::mutex>()]() -> QCoro::Task<int> { co_return 42; };
#else
    auto fn = [m = std::mutex{}]() -> QCoro::Task<int> { co_return 42; };
#endif
    return palitra::run(fn);
}
