// SPDX-License-Identifier: MIT
// Must NOT compile (see CMakeLists.txt). A callable that returns a reference to a Task made
// elsewhere: that Task started on another thread and is not palitra's to own.
#include <palitra/palitra.h>

QCoro::Task<int> answer();
QCoro::Task<int> &pendingAnswer();

int use() {
#if defined(PALITRA_EXPECT_OK)
    return palitra::run([] { return answer(); });
#else
    return palitra::run([]() -> QCoro::Task<int> & { return pendingAnswer(); });
#endif
}
