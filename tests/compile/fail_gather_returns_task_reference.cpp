// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). gather() of a callable that returns a Task reference.
#include <palitra/palitra.h>

QCoro::Task<int> answer();
QCoro::Task<int> &pendingAnswer();

std::tuple<int, int> use() {
#if defined(PALITRA_EXPECT_OK)
    return palitra::gather([] { return answer(); }, [] { return answer(); });
#else
    return palitra::gather([] { return answer(); },
                           []() -> QCoro::Task<int> & { return pendingAnswer(); });
#endif
}
