// SPDX-License-Identifier: MIT
// The one-word mutex that guards a runner's queue and each call's hand-off
// (palitra/detail/compact_mutex.h): mutual exclusion under contention, a sleeper woken by
// unlock(), try_lock(), and std::condition_variable_any on top of it. Under TSan the plain
// counter below is also a data race check.
#include <palitra/detail/compact_mutex.h>

#include <QTest>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using palitra::detail::CompactMutex;

class TestCompactMutex : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void excludesUnderContention() {
        CompactMutex mutex;
        long counter = 0; // only ever touched under the mutex
        std::atomic<int> inside{0};
        std::atomic<bool> overlapped{false};
        constexpr int threadCount = 4;
        constexpr int rounds = 20000;
        std::vector<std::thread> threads;
        for (int t = 0; t < threadCount; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < rounds; ++i) {
                    const std::lock_guard lock(mutex);
                    if (inside.fetch_add(1) != 0)
                        overlapped = true;
                    ++counter;
                    inside.fetch_sub(1);
                    if (i % 64 == 0)
                        std::this_thread::yield(); // let others find it held and sleep
                }
            });
        }
        for (auto &thread : threads)
            thread.join();
        QVERIFY(!overlapped);
        QCOMPARE(counter, long(threadCount) * rounds);
    }

    void unlockWakesASleeper() {
        CompactMutex mutex;
        mutex.lock();
        std::atomic<bool> acquired{false};
        std::thread waiter([&] {
            mutex.lock();
            acquired = true;
            mutex.unlock();
        });
        // The waiter cannot get in while this thread holds the mutex, however long it tries.
        QVERIFY(!mutex.try_lock());
        QVERIFY(!acquired);
        mutex.unlock();
        waiter.join(); // hangs (and the suite times out) if unlock() did not wake it
        QVERIFY(acquired);
        QVERIFY(mutex.try_lock());
        mutex.unlock();
    }

    void tryLockRefusesWhileHeldElsewhere() {
        CompactMutex mutex;
        std::atomic<bool> held{false};
        std::atomic<bool> release{false};
        std::thread holder([&] {
            const std::lock_guard lock(mutex);
            held = true;
            while (!release)
                std::this_thread::yield();
        });
        QTRY_VERIFY(held.load());
        QVERIFY(!mutex.try_lock());
        release = true;
        holder.join();
        QVERIFY(mutex.try_lock());
        mutex.unlock();
    }

    void conditionVariableAnyWaitsOnIt() {
        CompactMutex mutex;
        std::condition_variable_any changed;
        int stage = 0; // under the mutex
        std::thread other([&] {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return stage == 1; });
            stage = 2;
            changed.notify_all();
        });
        {
            const std::lock_guard lock(mutex);
            stage = 1;
        }
        changed.notify_all();
        {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return stage == 2; });
            QCOMPARE(stage, 2);
        }
        other.join();
    }
};

QTEST_GUILESS_MAIN(TestCompactMutex)
#include "tst_compact_mutex.moc"
