// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). onCaller() with work that needs an argument: it is
// invoked with none.
#include <palitra/palitra.h>

int use() {
    return palitra::run([]() -> QCoro::Task<int> {
        const palitra::CallContext call = palitra::currentCall();
#if defined(PALITRA_EXPECT_OK)
        const int page = co_await call.onCaller([] { return 3; });
#else
        const int page = co_await call.onCaller([](int wanted) { return wanted; });
#endif
        co_return page;
    });
}
