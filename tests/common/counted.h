// SPDX-License-Identifier: MIT
// Types that count what happens to them: "moved, never copied" and "nothing leaked" as numbers.
// Test code only.
#pragma once

#include <QCoro/QCoroTask>

#include <atomic>
#include <memory>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#define PALITRA_TEST_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PALITRA_TEST_LSAN 1
#endif
#endif
#if defined(PALITRA_TEST_LSAN)
#include <sanitizer/lsan_interface.h>
#endif

namespace palitra::test {

/*!
 * Counts every construction (default, copy, move), destruction, copy and move of all its
 * instances. After every coroutine has ended, live() must be 0 whatever way the call ended;
 * copies must stay 0 where palitra promises to move.
 */
struct Counted {
    static inline std::atomic<long> constructed{0};
    static inline std::atomic<long> destroyed{0};
    static inline std::atomic<int> copies{0};
    static inline std::atomic<int> moves{0};
    static long live() { return constructed.load() - destroyed.load(); }
    static void reset() {
        constructed = 0;
        destroyed = 0;
        copies = 0;
        moves = 0;
    }

    int value = 0;
    explicit Counted(int v = 0) noexcept : value(v) { ++constructed; }
    Counted(const Counted &o) noexcept : value(o.value) {
        ++constructed;
        ++copies;
    }
    Counted(Counted &&o) noexcept : value(o.value) {
        ++constructed;
        ++moves;
    }
    Counted &operator=(const Counted &o) noexcept {
        value = o.value;
        ++copies;
        return *this;
    }
    Counted &operator=(Counted &&o) noexcept {
        value = o.value;
        ++moves;
        return *this;
    }
    ~Counted() { ++destroyed; }
};

//! What a CountingCallable and its copies have seen.
struct CopyCounts {
    std::atomic<int> copies{0};
    std::atomic<int> moves{0};
    std::atomic<int> invoked{0};
};

//! A callable returning `QCoro::Task<int>` (its value) that counts its copies, moves and calls.
class CountingCallable {
public:
    CountingCallable(std::shared_ptr<CopyCounts> counts, int value)
        : m_counts(std::move(counts)), m_value(value) {}
    CountingCallable(const CountingCallable &o) : m_counts(o.m_counts), m_value(o.m_value) {
        ++m_counts->copies;
    }
    CountingCallable(CountingCallable &&o) noexcept : m_counts(o.m_counts), m_value(o.m_value) {
        ++m_counts->moves;
        o.m_value = -1; // a moved-from callable is visible
    }
    CountingCallable &operator=(const CountingCallable &o) {
        m_counts = o.m_counts;
        m_value = o.m_value;
        ++m_counts->copies;
        return *this;
    }
    CountingCallable &operator=(CountingCallable &&o) noexcept {
        m_counts = o.m_counts;
        m_value = o.m_value;
        ++m_counts->moves;
        o.m_value = -1;
        return *this;
    }
    ~CountingCallable() = default;

    QCoro::Task<int> operator()() const {
        ++m_counts->invoked;
        return answer(m_value);
    }
    int value() const { return m_value; }

private:
    static QCoro::Task<int> answer(int value) { co_return value; }

    std::shared_ptr<CopyCounts> m_counts;
    int m_value;
};

/*!
 * While it lives, allocations made by this thread are not reported as leaks by LeakSanitizer.
 * For coroutines that a test abandons on purpose: close() leaks their frames rather than destroy
 * a suspended coroutine (docs/SEMANTICS.md#close).
 */
struct LeakOnPurpose {
#if defined(PALITRA_TEST_LSAN)
    LeakOnPurpose() {
        __lsan_disable();
    }
    ~LeakOnPurpose() {
        __lsan_enable();
    }
#else
    LeakOnPurpose() {}  // NOLINT: user-provided, so that a guard variable is never "unused"
    ~LeakOnPurpose() {} // NOLINT
#endif
    LeakOnPurpose(const LeakOnPurpose &) = delete;
    LeakOnPurpose &operator=(const LeakOnPurpose &) = delete;
};

} // namespace palitra::test
