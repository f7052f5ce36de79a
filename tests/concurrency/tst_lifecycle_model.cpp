// SPDX-License-Identifier: MIT
// Lifecycle model check (docs/SEMANTICS.md#threads, #close, #lazy-start, #global-runner): a seeded
// property test.
//
// Each step, the driver picks one to three operations — create / run / gather / gatherOutcomes /
// close / destroy on one of two explicit runner slots, run / gather / isRunnerAlive /
// shutdownGlobalRunner on the global runner — hands them to three worker threads at once, waits
// for all of them, and checks every outcome against a small reference model of the lifecycle:
//
//  - a slot is Absent, Fresh (constructed, no thread), Started or Closed; the global runner is
//    None, Unstarted (created by an empty gather), Alive or Unknown (a shutdown raced calls);
//  - a call on a Closed runner is RunnerClosedError; a call on an open runner with no close,
//    destroy or shutdown in its step ends exactly as its coroutine does (value, its exception,
//    TimeoutError); with one in its step, that or RunnerClosedError, never anything else;
//  - every value comes from its runner's one loop thread (the same thread for the runner's whole
//    life, a thread no other runner ever had): a global call after a shutdown runs on a new thread;
//  - isRunning(), isRunnerAlive(), thread() and context() match the model between steps: lazy
//    start (no thread before the first call, none for an empty gather or for a call refused
//    because its timeout passed before it was queued), nullptr after close();
//  - every capture is destroyed once all runners are closed.
//
// PALITRA_MODEL_SEED replays a sequence (the seed fixes the operations, not the interleaving);
// PALITRA_MODEL_STEPS sets its length. The seed is printed first and with any failure.
#include <palitra/palitra.h>

#include "palitratest.h"

#include <QCoro/QCoroTask>
#include <QObject>
#include <QTest>
#include <QThread>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int slotCount = 2;
constexpr int workerCount = 3;
constexpr auto stepWatchdog = 30s; // a step still running then is a hang: abort with the seed

// ---- what the coroutines do ----------------------------------------------------------------

enum class Kind {
    Trivial,    // co_return at once
    Timer,      // a 2 ms sleep, then its value
    Throw,      // throws ModelError before its first suspension
    ThrowLate,  // throws ModelError after a 1 ms sleep
    TimeoutHit, // sleeps 10 s (stops when asked); the call's timeout is 5 ms
    Long,       // sleeps until stopped; only in a step that closes its runner
};
const char *kindName(Kind k) {
    switch (k) {
    case Kind::Trivial:
        return "trivial";
    case Kind::Timer:
        return "timer";
    case Kind::Throw:
        return "throw";
    case Kind::ThrowLate:
        return "throw-late";
    case Kind::TimeoutHit:
        return "timeout-hit";
    case Kind::Long:
        return "long";
    }
    return "?";
}
bool throws(Kind k) {
    return k == Kind::Throw || k == Kind::ThrowLate;
}

struct ModelError {
    int value;
};

// A value and the loop thread that produced it.
struct Reply {
    int value = 0;
    int tid = 0;
};

// A small integer per thread, never reused (QThread addresses and thread ids are).
std::atomic<int> nextThreadNumber{0};
int threadNumber() {
    thread_local const int n = ++nextThreadNumber;
    return n;
}

// Counts live captures: all must be gone once every runner is closed.
struct Capture {
    static inline std::atomic<long> live{0};
    Capture() noexcept { ++live; }
    Capture(const Capture &) noexcept { ++live; }
    Capture(Capture &&) noexcept { ++live; }
    Capture &operator=(const Capture &) = default;
    ~Capture() { --live; }
};

// Progress of one operation, seen by a destroy in the same step: >0 once a coroutine of the call
// has started (the caller is then inside execute(), linked into the runner) or the call returned.
using Progress = std::shared_ptr<std::atomic<int>>;
void advance(const Progress &p) {
    p->fetch_add(1, std::memory_order_acq_rel);
    p->notify_all();
}

QCoro::Task<Reply> body(Kind kind, int value, Progress progress) {
    const std::stop_token stop = palitra::currentStopToken();
    const Reply reply{value, threadNumber()};
    advance(progress);
    switch (kind) {
    case Kind::Trivial:
        break;
    case Kind::Timer:
        co_await palitra::sleepFor(2ms, stop);
        break;
    case Kind::Throw:
        throw ModelError{value};
    case Kind::ThrowLate:
        co_await palitra::sleepFor(1ms, stop);
        throw ModelError{value};
    case Kind::TimeoutHit:
        co_await palitra::sleepFor(10s, stop);
        break;
    case Kind::Long:
        co_await palitra::sleepFor(24h, stop);
        break;
    }
    co_return reply;
}

// One closure type for every call, so that gathers can take a std::vector of them.
auto makeCall(Kind kind, int value, Progress progress) {
    return [kind, value, progress = std::move(progress), capture = Capture()] {
        Q_UNUSED(capture);
        return body(kind, value, progress);
    };
}
using Call = decltype(makeCall(Kind::Trivial, 0, nullptr));

// ---- operations ----------------------------------------------------------------------------

enum class OpType {
    Create,
    Run,
    Gather,
    GatherOutcomes,
    Close,
    Destroy,
    GlobalRun,
    GlobalGather,
    GlobalAlive,
    Shutdown
};
const char *opName(OpType t) {
    switch (t) {
    case OpType::Create:
        return "create";
    case OpType::Run:
        return "run";
    case OpType::Gather:
        return "gather";
    case OpType::GatherOutcomes:
        return "gatherOutcomes";
    case OpType::Close:
        return "close";
    case OpType::Destroy:
        return "destroy";
    case OpType::GlobalRun:
        return "global run";
    case OpType::GlobalGather:
        return "global gather";
    case OpType::GlobalAlive:
        return "isRunnerAlive";
    case OpType::Shutdown:
        return "shutdownGlobalRunner";
    }
    return "?";
}
bool isCall(OpType t) {
    return t == OpType::Run || t == OpType::Gather || t == OpType::GatherOutcomes;
}
bool isGlobal(OpType t) {
    return t == OpType::GlobalRun || t == OpType::GlobalGather || t == OpType::GlobalAlive ||
           t == OpType::Shutdown;
}

struct Op {
    OpType type = OpType::Run;
    int slot = 0;
    std::vector<Kind> kinds; // one for run, 0-4 for a gather
    int value = 0;
    bool withTimeout = false; // run/gather with the 5 ms (300 ms for a global Long) timeout
    std::string describe() const {
        std::ostringstream s;
        s << opName(type);
        if (!isGlobal(type))
            s << " slot" << slot;
        if (!kinds.empty() || type == OpType::Gather || type == OpType::GatherOutcomes ||
            type == OpType::GlobalGather) {
            s << " [";
            for (std::size_t i = 0; i < kinds.size(); ++i)
                s << (i ? "," : "") << kindName(kinds[i]);
            s << "]";
        }
        if (withTimeout)
            s << " +timeout";
        s << " #" << value;
        return s.str();
    }
};

enum class Ending { None, Value, UserError, Timeout, Closed, Other };
const char *endingName(Ending e) {
    switch (e) {
    case Ending::None:
        return "none";
    case Ending::Value:
        return "value";
    case Ending::UserError:
        return "its own exception";
    case Ending::Timeout:
        return "TimeoutError";
    case Ending::Closed:
        return "RunnerClosedError";
    case Ending::Other:
        return "an unexpected exception";
    }
    return "?";
}

struct OpResult {
    Ending ending = Ending::None;
    std::vector<Reply> replies;             // run: 1, gather: n
    std::vector<std::optional<int>> errors; // gatherOutcomes: the ModelError value, per slot
    int errorValue = 0;                     // UserError
    bool alive = false;                     // isRunnerAlive
    // A TimeoutError thrown before the call was queued (its short timeout passed while the caller
    // was preempted): such a call needs no loop, so it starts no runner (lazy start).
    bool refusedBeforeQueue = false;
    std::string other; // what the unexpected exception was
};

// ---- the system under test -----------------------------------------------------------------

struct Slots {
    std::array<std::unique_ptr<palitra::EventLoopThreadRunner>, slotCount> runner;
};

palitra::RunnerOptions slotOptions(int slot) {
    palitra::RunnerOptions o;
    o.threadName = QStringLiteral("model-slot%1").arg(slot);
    o.closeGracePeriod = 500ms; // every coroutine here stops when asked: never reached
    return o;
}

// Runs a call op on \a runner (null: the global runner) and records how it ended.
template<typename Target>
void runCall(Target &&target, const Op &op, const Progress &progress, OpResult &r) {
    const bool global = isGlobal(op.type);
    const auto timeout = (global && op.kinds.size() == 1 && op.kinds[0] == Kind::Long)
                             ? std::chrono::milliseconds(300)
                             : std::chrono::milliseconds(5);
    std::vector<Call> calls;
    for (std::size_t i = 0; i < op.kinds.size(); ++i)
        calls.push_back(makeCall(op.kinds[i],
                                 op.type == OpType::Run || op.type == OpType::GlobalRun
                                     ? op.value
                                     : op.value * 10 + int(i),
                                 progress));
    try {
        if (op.type == OpType::Run || op.type == OpType::GlobalRun) {
            Reply reply = op.withTimeout ? target.run(calls[0], timeout) : target.run(calls[0]);
            r.replies.push_back(reply);
        } else if (op.type == OpType::GatherOutcomes) {
            auto outs = op.withTimeout ? target.gatherOutcomes(calls, timeout)
                                       : target.gatherOutcomes(calls);
            for (const auto &o : outs) {
                if (o.hasValue()) {
                    r.replies.push_back(o.value());
                    r.errors.emplace_back();
                } else {
                    r.replies.push_back(Reply{});
                    try {
                        std::rethrow_exception(o.exception());
                    } catch (const ModelError &e) {
                        r.errors.emplace_back(e.value);
                    } catch (...) {
                        r.errors.emplace_back(-1);
                    }
                }
            }
        } else {
            auto values = op.withTimeout ? target.gather(calls, timeout) : target.gather(calls);
            for (const Reply &v : values)
                r.replies.push_back(v);
        }
        r.ending = Ending::Value;
    } catch (const ModelError &e) {
        r.ending = Ending::UserError;
        r.errorValue = e.value;
    } catch (const palitra::TimeoutError &e) {
        r.ending = Ending::Timeout;
        r.refusedBeforeQueue = palitra::test::refusedBeforeQueueing(e);
    } catch (const palitra::RunnerClosedError &) {
        r.ending = Ending::Closed;
    } catch (const std::exception &e) {
        r.ending = Ending::Other;
        r.other = e.what();
    } catch (...) {
        r.ending = Ending::Other;
        r.other = "a non-std exception";
    }
}

// ---- three workers, one op each per step ---------------------------------------------------

class Workers {
public:
    explicit Workers(Slots &slots) : m_slots(slots) {
        for (int i = 0; i < workerCount; ++i)
            m_threads.emplace_back([this, i] { work(i); });
    }
    ~Workers() {
        {
            const std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_cv.notify_all();
        for (auto &t : m_threads)
            t.join();
    }
    Workers(const Workers &) = delete;
    Workers &operator=(const Workers &) = delete;

    // Runs \a ops concurrently (op i on worker i); false if they did not all end in time.
    // The step's state is owned here and changed only under the lock: a worker that wakes late
    // for a step it had no part in sees the current step, never a half-built one.
    bool step(const std::vector<Op> &ops, std::vector<OpResult> &results) {
        std::unique_lock lock(m_mutex);
        m_ops = ops;
        m_results.assign(ops.size(), OpResult{});
        m_progress.clear();
        for (std::size_t i = 0; i < ops.size(); ++i)
            m_progress.push_back(std::make_shared<std::atomic<int>>(0));
        m_pending = int(ops.size());
        ++m_generation;
        m_cv.notify_all();
        if (!m_done.wait_for(lock, stepWatchdog, [this] { return m_pending == 0; }))
            return false;
        results = m_results;
        return true;
    }

private:
    void work(int index) {
        std::uint64_t seen = 0;
        for (;;) {
            const Op *op = nullptr;
            OpResult *result = nullptr;
            {
                std::unique_lock lock(m_mutex);
                m_cv.wait(lock, [&] { return m_stop || m_generation != seen; });
                if (m_stop)
                    return;
                seen = m_generation;
                if (index >= int(m_ops.size()))
                    continue;
                op = &m_ops[std::size_t(index)];
                result = &m_results[std::size_t(index)];
            }
            perform(*op, std::size_t(index), *result);
            advance(m_progress[std::size_t(index)]);
            {
                const std::lock_guard lock(m_mutex);
                --m_pending;
            }
            m_done.notify_all();
        }
    }

    void perform(const Op &op, std::size_t index, OpResult &r) {
        const Progress &progress = m_progress[index];
        palitra::EventLoopThreadRunner *runner =
            isGlobal(op.type) ? nullptr : m_slots.runner[std::size_t(op.slot)].get();
        switch (op.type) {
        case OpType::Create:
            m_slots.runner[std::size_t(op.slot)] =
                std::make_unique<palitra::EventLoopThreadRunner>(slotOptions(op.slot));
            break;
        case OpType::Run:
        case OpType::Gather:
        case OpType::GatherOutcomes:
            runCall(*runner, op, progress, r);
            break;
        case OpType::Close:
            runner->close();
            break;
        case OpType::Destroy:
            // Only once every other call of this step on this runner is inside it (its coroutine
            // started) or done: destroying a runner that a thread is about to enter is the
            // user's bug, destroying one a thread is blocked in is palitra's business.
            for (std::size_t i = 0; i < m_ops.size(); ++i) {
                const Op &other = m_ops[i];
                if (i != index && isCall(other.type) && other.slot == op.slot)
                    m_progress[i]->wait(0, std::memory_order_acquire);
            }
            m_slots.runner[std::size_t(op.slot)].reset();
            break;
        case OpType::GlobalRun:
        case OpType::GlobalGather: {
            palitra::test::GlobalApi global;
            runCall(global, op, progress, r);
            break;
        }
        case OpType::GlobalAlive:
            r.alive = palitra::isRunnerAlive();
            break;
        case OpType::Shutdown:
            palitra::shutdownGlobalRunner();
            break;
        }
    }

    Slots &m_slots;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::condition_variable m_done;
    bool m_stop = false;
    std::uint64_t m_generation = 0;
    int m_pending = 0;
    std::vector<Op> m_ops;
    std::vector<OpResult> m_results;
    std::vector<Progress> m_progress;
    std::vector<std::thread> m_threads;
};

// ---- the reference model -------------------------------------------------------------------

enum class SlotState { Absent, Fresh, Started, Closed };
enum class GlobalState { None, Unstarted, Alive, Unknown };

const char *slotStateName(SlotState s) {
    switch (s) {
    case SlotState::Absent:
        return "absent";
    case SlotState::Fresh:
        return "fresh";
    case SlotState::Started:
        return "started";
    case SlotState::Closed:
        return "closed";
    }
    return "?";
}

struct Model {
    std::array<SlotState, slotCount> slot{SlotState::Absent, SlotState::Absent};
    std::array<int, slotCount> slotTid{0, 0};
    GlobalState global = GlobalState::None;
    int globalTid = 0;
    std::map<int, std::string> owner; // every loop thread seen, and whose it was
    std::set<int> retired;            // threads of runners that are closed
};

class Checker {
public:
    Checker(unsigned seed, long steps) : m_seed(seed), m_steps(steps), m_rng(seed) {}

    void runAll() {
        Slots slots;
        {
            Workers workers(slots);
            for (long step = 0; step < m_steps; ++step) {
                m_step = step;
                std::vector<Op> ops = generate();
                std::vector<OpResult> results;
                remember(ops);
                if (!workers.step(ops, results)) {
                    std::fprintf(stderr, "WATCHDOG: step %ld hung. %s\n", step, context().c_str());
                    std::fflush(stderr);
                    std::abort();
                }
                ++m_counts["steps"];
                rememberEndings(ops, results);
                check(ops, results);
                if (!m_failure.empty())
                    return;
                between(slots);
                if (!m_failure.empty())
                    return;
            }
        }
        for (auto &r : slots.runner)
            r.reset();
        palitra::shutdownGlobalRunner();
        if (palitra::isRunnerAlive())
            fail("isRunnerAlive() after the final shutdownGlobalRunner()");
        if (Capture::live.load() != 0)
            fail("captures still alive after every runner was closed: " +
                 std::to_string(Capture::live.load()));
    }

    const std::string &failure() const { return m_failure; }
    const std::map<std::string, long> &counts() const { return m_counts; }

private:
    int pick(int n) { return int(m_rng() % unsigned(n)); }
    bool chance(int percent) { return pick(100) < percent; }

    Kind randomKind(bool allowTimeoutHit) {
        const int r = pick(100);
        if (r < 35)
            return Kind::Trivial;
        if (r < 55)
            return Kind::Timer;
        if (r < 67)
            return Kind::Throw;
        if (r < 77)
            return Kind::ThrowLate;
        if (r < 87 && allowTimeoutHit)
            return Kind::TimeoutHit;
        return Kind::Long; // fixed up below when nothing closes its runner
    }

    std::vector<Op> generate() {
        const int count = 1 + pick(workerCount);
        std::vector<Op> ops;
        std::array<bool, slotCount> created{}, closing{}, destroying{}, touched{};
        bool shutdown = false;
        for (int attempt = 0; int(ops.size()) < count && attempt < 50; ++attempt) {
            Op op;
            op.value = ++m_nextValue;
            op.slot = pick(slotCount);
            const auto s = std::size_t(op.slot);
            const SlotState st = m_model.slot[s];
            const bool open = st == SlotState::Fresh || st == SlotState::Started;
            const int r = pick(100);
            if (r < 8)
                op.type = OpType::Create;
            else if (r < 30)
                op.type = OpType::Run;
            else if (r < 38)
                op.type = OpType::Gather;
            else if (r < 44)
                op.type = OpType::GatherOutcomes;
            else if (r < 51)
                op.type = OpType::Close;
            else if (r < 56)
                op.type = OpType::Destroy;
            else if (r < 76)
                op.type = OpType::GlobalRun;
            else if (r < 84)
                op.type = OpType::GlobalGather;
            else if (r < 89)
                op.type = OpType::GlobalAlive;
            else
                op.type = OpType::Shutdown;
            // Keep the slots busy: an absent slot is mostly created, a closed one mostly
            // destroyed (calls on it are RunnerClosedError, worth checking but not all the time).
            if (!isGlobal(op.type) && st == SlotState::Absent && chance(70))
                op.type = OpType::Create;
            else if (isCall(op.type) && st == SlotState::Closed && chance(60))
                op.type = OpType::Destroy;
            else if (op.type == OpType::Shutdown && chance(50))
                op.type = OpType::GlobalRun;

            switch (op.type) {
            case OpType::Create:
                if (st != SlotState::Absent || touched[s])
                    continue;
                created[s] = true;
                break;
            case OpType::Run:
            case OpType::Gather:
            case OpType::GatherOutcomes:
                if (st == SlotState::Absent || created[s] || (destroying[s] && !open))
                    continue;
                break;
            case OpType::Close:
                if (st == SlotState::Absent || created[s] || destroying[s])
                    continue;
                closing[s] = true;
                break;
            case OpType::Destroy:
                if (st == SlotState::Absent || created[s] || destroying[s] || closing[s])
                    continue;
                if (!open && touched[s])
                    continue; // calls on a closed runner return at once: nothing to wait for
                destroying[s] = true;
                break;
            case OpType::Shutdown:
                if (shutdown)
                    continue;
                shutdown = true;
                break;
            default:
                break;
            }
            if (!isGlobal(op.type))
                touched[s] = true;

            if (op.type == OpType::Run || op.type == OpType::GlobalRun) {
                op.kinds.push_back(randomKind(true));
                op.withTimeout = op.kinds[0] == Kind::TimeoutHit || chance(20);
            } else if (op.type == OpType::Gather || op.type == OpType::GatherOutcomes ||
                       op.type == OpType::GlobalGather) {
                const int n = pick(5);
                for (int i = 0; i < n; ++i)
                    op.kinds.push_back(randomKind(true));
                op.withTimeout = chance(20);
            }
            ops.push_back(std::move(op));
        }
        // Fix-ups: a coroutine that waits for its stop only where something will stop it; a
        // timeout wherever a coroutine waits for the timeout.
        for (Op &op : ops) {
            const auto s = std::size_t(op.slot);
            const bool stops = isGlobal(op.type) ? shutdown : (closing[s] || destroying[s]);
            for (Kind &k : op.kinds) {
                if (k == Kind::Long && (!stops || op.type == OpType::GlobalGather ||
                                        (isGlobal(op.type) && op.kinds.size() > 1)))
                    k = Kind::Timer;
                if (k == Kind::TimeoutHit)
                    op.withTimeout = true;
            }
            // A global call that waits for its stop may land on the runner created after the
            // shutdown: its 300 ms timeout ends it then.
            if (op.type == OpType::GlobalRun && op.kinds[0] == Kind::Long)
                op.withTimeout = true;
            if (op.type == OpType::Run && op.kinds[0] == Kind::Long)
                op.withTimeout = false; // the close or destroy of this step ends it
        }
        return ops;
    }

    void remember(const std::vector<Op> &ops) {
        std::string line = "step " + std::to_string(m_step) + ":";
        for (const Op &op : ops)
            line += "  {" + op.describe() + "}";
        m_history.push_back(line);
        if (m_history.size() > 8)
            m_history.pop_front();
    }

    // How each call of the step ended, on its history line: a failure then shows it.
    void rememberEndings(const std::vector<Op> &ops, const std::vector<OpResult> &results) {
        std::string &line = m_history.back();
        line += "  ->";
        for (std::size_t i = 0; i < ops.size(); ++i) {
            if (!isCall(ops[i].type) && ops[i].type != OpType::GlobalRun &&
                ops[i].type != OpType::GlobalGather)
                continue;
            line += " #" + std::to_string(ops[i].value) + " " + endingName(results[i].ending);
            if (results[i].refusedBeforeQueue)
                line += " (before queuing)";
        }
    }

    std::string context() const {
        std::string s = "Reproduce with PALITRA_MODEL_SEED=" + std::to_string(m_seed) +
                        " PALITRA_MODEL_STEPS=" + std::to_string(m_steps) + "\nrecent steps:\n";
        for (const std::string &line : m_history)
            s += "  " + line + "\n";
        s += "model before the last step: slot0 " + std::string(slotStateName(m_pre.slot[0])) +
             ", slot1 " + slotStateName(m_pre.slot[1]) + ", global " +
             std::to_string(int(m_pre.global)) + " (0 none, 1 unstarted, 2 alive, 3 unknown)\n";
        return s;
    }

    void fail(const std::string &what) {
        if (m_failure.empty())
            m_failure = what + "\n" + context();
    }

    // The thread \a tid served runner \a who: it must be that runner's one thread.
    void learnTid(const std::string &who, int tid, int &known) {
        if (known != 0) {
            if (tid != known)
                fail(who + ": a value came from loop thread " + std::to_string(tid) +
                     " but the runner's thread is " + std::to_string(known));
            return;
        }
        const auto it = m_model.owner.find(tid);
        if (it != m_model.owner.end() && it->second != who)
            fail(who + ": its loop thread " + std::to_string(tid) + " was " + it->second + "'s");
        m_model.owner[tid] = who;
        known = tid;
    }

    std::string slotName(int slot) const {
        return "slot" + std::to_string(slot) + "#" + std::to_string(m_slotGeneration[slot]);
    }
    std::string globalName() const { return "global#" + std::to_string(m_globalGeneration); }

    // The value(s) of a call op, against what its coroutines return.
    bool valuesRight(const Op &op, const OpResult &r, std::string &why) const {
        const bool single = op.type == OpType::Run || op.type == OpType::GlobalRun;
        if (r.replies.size() != op.kinds.size()) {
            why = "got " + std::to_string(r.replies.size()) + " results for " +
                  std::to_string(op.kinds.size()) + " coroutines";
            return false;
        }
        for (std::size_t i = 0; i < op.kinds.size(); ++i) {
            const int expected = single ? op.value : op.value * 10 + int(i);
            if (op.type == OpType::GatherOutcomes) {
                if (throws(op.kinds[i]) != r.errors[i].has_value() ||
                    (r.errors[i] && *r.errors[i] != expected) ||
                    (!r.errors[i] && r.replies[i].value != expected)) {
                    why = "slot " + std::to_string(i) + " of gatherOutcomes is wrong";
                    return false;
                }
            } else if (r.replies[i].value != expected) {
                why = "result " + std::to_string(i) + " is " + std::to_string(r.replies[i].value) +
                      " instead of " + std::to_string(expected);
                return false;
            }
        }
        return true;
    }

    // The endings a call op may have when nothing stops its runner during the step.
    std::set<Ending> undisturbed(const Op &op) const {
        bool anyThrow = false, anyTimeoutHit = false, anyLong = false;
        for (Kind k : op.kinds) {
            anyThrow |= throws(k);
            anyTimeoutHit |= k == Kind::TimeoutHit;
            anyLong |= k == Kind::Long;
        }
        const bool outcomes = op.type == OpType::GatherOutcomes;
        std::set<Ending> allowed;
        if (anyLong) {
            // Only the step's close/destroy/shutdown (added by the caller) or the timeout ends
            // it; in default mode a sibling's exception ends it first.
            if (op.withTimeout)
                allowed.insert(Ending::Timeout);
            if (anyThrow && !outcomes)
                allowed.insert(Ending::UserError);
            return allowed;
        }
        if (anyTimeoutHit) {
            allowed.insert(Ending::Timeout);
            // In default mode the first failure is thrown at once; a late throw races the 5 ms.
            if (anyThrow && !outcomes)
                allowed.insert(Ending::UserError);
            return allowed;
        }
        if (op.withTimeout) // 5 ms for coroutines of at most 2 ms: a loaded machine may miss it
            allowed.insert(Ending::Timeout);
        allowed.insert(anyThrow && !outcomes ? Ending::UserError : Ending::Value);
        return allowed;
    }

    void check(const std::vector<Op> &ops, const std::vector<OpResult> &results) {
        m_pre = m_model;
        std::array<bool, slotCount> stopped{}, destroyed{}, created{}, dispatched{};
        bool shutdown = false, globalCalled = false, globalDispatched = false;
        for (const Op &op : ops) {
            const auto s = std::size_t(op.slot);
            if (op.type == OpType::Close)
                stopped[s] = true;
            if (op.type == OpType::Destroy)
                stopped[s] = destroyed[s] = true;
            if (op.type == OpType::Create)
                created[s] = true;
            if (op.type == OpType::Shutdown)
                shutdown = true;
        }

        std::vector<int> shutdownStepTids;
        for (std::size_t i = 0; i < ops.size(); ++i) {
            const Op &op = ops[i];
            const OpResult &r = results[i];
            const std::string where = "step " + std::to_string(m_step) + " {" + op.describe() + "}";
            if (op.type == OpType::GlobalAlive) {
                // Determinate only when nothing in the step can change the global runner.
                bool racing = shutdown;
                for (const Op &o : ops)
                    racing |= o.type == OpType::GlobalRun || o.type == OpType::GlobalGather;
                if (!racing && m_pre.global != GlobalState::Unknown &&
                    r.alive != (m_pre.global == GlobalState::Alive))
                    fail(where + ": isRunnerAlive() is " + (r.alive ? "true" : "false") +
                         " against the model");
                continue;
            }
            if (!isCall(op.type) && op.type != OpType::GlobalRun && op.type != OpType::GlobalGather)
                continue;

            std::set<Ending> allowed;
            const bool global = isGlobal(op.type);
            const auto s = std::size_t(op.slot);
            if (!global && m_pre.slot[s] == SlotState::Closed) {
                allowed.insert(Ending::Closed);
            } else {
                allowed = undisturbed(op);
                if (global ? shutdown : stopped[s])
                    allowed.insert(Ending::Closed);
            }
            ++m_counts[std::string(opName(op.type)) + " -> " + endingName(r.ending)];
            if (!allowed.count(r.ending)) {
                std::string list;
                for (Ending e : allowed)
                    list += std::string(list.empty() ? "" : " or ") + endingName(e);
                fail(where + " ended with " + endingName(r.ending) +
                     (r.other.empty() ? "" : " (" + r.other + ")") + "; the model allows " + list);
                continue;
            }
            if (r.refusedBeforeQueue)
                ++m_counts["timeouts passed before queuing"];
            const bool queued = !op.kinds.empty() && !r.refusedBeforeQueue;
            if (global) {
                globalCalled = true;
                globalDispatched |= queued;
            } else if (queued && m_pre.slot[s] != SlotState::Closed) {
                dispatched[s] = true;
            }
            std::string why;
            if (r.ending == Ending::Value && !valuesRight(op, r, why))
                fail(where + ": " + why);
            if (r.ending == Ending::UserError) {
                bool known = false;
                for (std::size_t k = 0; k < op.kinds.size(); ++k)
                    known |= throws(op.kinds[k]) &&
                             r.errorValue == (op.type == OpType::GlobalRun || op.type == OpType::Run
                                                  ? op.value
                                                  : op.value * 10 + int(k));
                if (!known)
                    fail(where + ": the exception carries " + std::to_string(r.errorValue) +
                         ", thrown by none of its coroutines");
            }
            if (r.ending != Ending::Value)
                continue;
            for (std::size_t k = 0; k < r.replies.size(); ++k) {
                if (op.type == OpType::GatherOutcomes && r.errors[k])
                    continue;
                const int tid = r.replies[k].tid;
                if (m_model.retired.count(tid))
                    fail(where + ": a value came from loop thread " + std::to_string(tid) +
                         ", whose runner (" + m_model.owner[tid] + ") was closed earlier");
                if (!global) {
                    learnTid(slotName(op.slot), tid, m_model.slotTid[s]);
                } else if (!shutdown) {
                    learnTid(globalName(), tid, m_model.globalTid);
                } else {
                    // Either the runner the shutdown closed, or one created around it.
                    const auto it = m_model.owner.find(tid);
                    if (tid != m_pre.globalTid && it != m_model.owner.end() &&
                        it->second.rfind("global", 0) != 0)
                        fail(where + ": a value came from " + it->second + "'s loop thread");
                    shutdownStepTids.push_back(tid);
                }
            }
        }
        if (!m_failure.empty())
            return;

        // The model after the step.
        for (int s = 0; s < slotCount; ++s) {
            const auto i = std::size_t(s);
            if (created[i]) {
                ++m_slotGeneration[i];
                m_model.slot[i] = SlotState::Fresh;
                m_model.slotTid[i] = 0;
            } else if (destroyed[i] || stopped[i]) {
                if (m_model.slotTid[i] != 0)
                    m_model.retired.insert(m_model.slotTid[i]);
                m_model.slot[i] = destroyed[i] ? SlotState::Absent : SlotState::Closed;
                m_model.slotTid[i] = 0;
                ++m_counts[destroyed[i] ? "runners destroyed" : "runners closed"];
            } else if (dispatched[i] && m_model.slot[i] == SlotState::Fresh) {
                m_model.slot[i] = SlotState::Started;
            }
        }
        if (shutdown) {
            ++m_counts["global shutdowns"];
            if (m_pre.globalTid != 0)
                m_model.retired.insert(m_pre.globalTid);
            m_model.globalTid = 0;
            ++m_globalGeneration;
            if (!globalCalled) {
                m_model.global = GlobalState::None;
            } else {
                m_model.global = GlobalState::Unknown;
                m_unresolved = shutdownStepTids;
            }
        } else if (globalDispatched) {
            if (m_model.global != GlobalState::Alive)
                ++m_counts["global runners started"];
            m_model.global = GlobalState::Alive;
        } else if (globalCalled && m_model.global == GlobalState::None) {
            m_model.global = GlobalState::Unstarted; // an empty gather creates, starts nothing
        }
    }

    // Between steps nothing runs: compare the observable state with the model, then learn the
    // threads the step left unknown with a probe call.
    void between(Slots &slots) {
        for (int s = 0; s < slotCount; ++s) {
            const auto i = std::size_t(s);
            palitra::EventLoopThreadRunner *runner = slots.runner[i].get();
            const SlotState st = m_model.slot[i];
            const std::string who =
                "between steps, " + slotName(s) + " (" + slotStateName(st) + ")";
            if ((runner != nullptr) != (st != SlotState::Absent)) {
                fail(who + ": the runner object does not match the model");
                return;
            }
            if (!runner)
                continue;
            if (runner->isRunning() != (st == SlotState::Started))
                fail(who + ": isRunning() is " + (runner->isRunning() ? "true" : "false"));
            if (st == SlotState::Closed) {
                if (runner->thread() != nullptr || runner->context() != nullptr)
                    fail(who + ": thread()/context() are not nullptr after close()");
            } else if (st == SlotState::Started && m_model.slotTid[i] == 0) {
                probe(*runner, who, m_model.slotTid[i], slotName(s));
            }
        }
        const GlobalState g = m_model.global;
        if (g != GlobalState::Unknown && palitra::isRunnerAlive() != (g == GlobalState::Alive))
            fail("between steps: isRunnerAlive() does not match the model (" +
                 std::to_string(int(g)) + ")");
        if (g == GlobalState::Unknown || (g == GlobalState::Alive && m_model.globalTid == 0)) {
            // After a shutdown that raced calls: the runner now in place is the one created
            // after the shutdown (or a new one now); either way never the one shut down.
            palitra::test::GlobalApi global;
            int tid = 0;
            const bool unknown = g == GlobalState::Unknown;
            probe(global, "between steps, the global runner", tid, globalName());
            if (unknown) {
                for (int t : m_unresolved)
                    if (t != tid)
                        m_model.retired.insert(t);
                m_unresolved.clear();
                if (m_model.retired.count(tid))
                    fail("between steps: the global runner after a shutdown runs on retired "
                         "thread " +
                         std::to_string(tid));
            }
            m_model.globalTid = tid;
            m_model.owner[tid] = globalName();
            m_model.global = GlobalState::Alive;
        }
    }

    template<typename Target>
    void probe(Target &target, const std::string &who, int &tid, const std::string &name) {
        try {
            const Reply r =
                target.run(makeCall(Kind::Trivial, -1, std::make_shared<std::atomic<int>>()));
            const auto it = m_model.owner.find(r.tid);
            if (it != m_model.owner.end() && it->second != name)
                fail(who + ": runs on loop thread " + std::to_string(r.tid) + ", which was " +
                     it->second + "'s");
            tid = r.tid;
            m_model.owner[r.tid] = name;
            ++m_counts["probes"];
        } catch (...) {
            fail(who + ": a probe call on an open runner threw");
        }
    }

    unsigned m_seed;
    long m_steps;
    std::mt19937 m_rng;
    long m_step = 0;
    int m_nextValue = 0;
    Model m_model, m_pre;
    std::array<int, slotCount> m_slotGeneration{};
    int m_globalGeneration = 0;
    std::vector<int> m_unresolved;
    std::deque<std::string> m_history;
    std::string m_failure;
    std::map<std::string, long> m_counts;
};

long long envNumber(const char *name, long long fallback) {
    bool ok = false;
    const long long v = qEnvironmentVariable(name).toLongLong(&ok);
    return ok ? v : fallback;
}

} // namespace

class tst_LifecycleModel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void randomSequences();
};

void tst_LifecycleModel::randomSequences() {
    const unsigned seed = unsigned(envNumber("PALITRA_MODEL_SEED", std::random_device{}()));
    const long steps = long(envNumber("PALITRA_MODEL_STEPS", PALITRA_MODEL_DEFAULT_STEPS));
    qInfo("lifecycle model: PALITRA_MODEL_SEED=%u PALITRA_MODEL_STEPS=%ld", seed, steps);

    const auto start = Clock::now();
    Checker checker(seed, steps);
    checker.runAll();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    std::string summary;
    for (const auto &[what, n] : checker.counts())
        summary += "  " + what + ": " + std::to_string(n) + "\n";
    qInfo("lifecycle model: %lld ms\n%s", static_cast<long long>(ms), summary.c_str());
    if (!checker.failure().empty()) {
        // In full: QTest shortens long messages.
        std::fprintf(stderr, "LIFECYCLE MODEL FAILURE: %s\n", checker.failure().c_str());
        std::fflush(stderr);
    }
    QVERIFY2(checker.failure().empty(), checker.failure().c_str());
}

QTEST_GUILESS_MAIN(tst_LifecycleModel)

#include "tst_lifecycle_model.moc"
