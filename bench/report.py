#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turns the JSON of bench/run.sh into the Markdown tables of docs/BENCHMARKS.md.

    python3 bench/report.py <results-dir> [--plot <png>] [--contention-plot <png>]

<results-dir> holds pinned.json / unpinned.json (palitra_bench --benchmark_out) and
python_pinned.json / python_unpinned.json (bench/python_reference.py --json). Every figure is
the median over repetitions; the spread is min..max over the same repetitions. Standard
library only. It checks the round-trip targets and prints them, but it asserts nothing.

When <results-dir> also holds scale.json (palitra_scale_bench --benchmark_out), and optionally
scale_before.json (the same binary built from an older tree), it adds the sleepers tables and,
if matplotlib can be imported, plots per-element cost against N to <png> (default:
<results-dir>/bench-sleepers.png). Without matplotlib the tables are still printed.

It also plots the aggregate rate of the contention rows against the number of caller threads,
pinned and unpinned side by side, to <png> of --contention-plot (default:
<results-dir>/bench-contention.png).
"""

import json
import os
import statistics
import sys

NOTES = {
    "floor_condvar": "persistent std::thread, mutex + condvar (the floor)",
    "floor_atomic": "persistent std::thread, C++20 atomic wait/notify",
    "palitra_runner": "`EventLoopThreadRunner::run`, default options (adaptive spin)",
    "palitra_runner_nospin": "`run` with `spinBeforeBlocking = 0` (never spins)",
    "palitra_submit": "`submit(fn).result()`",
    "palitra_runner_palitra_sleepFor": "`run`, awaiting `palitra::sleepFor(0ms)` instead",
    "palitra_global": "global `palitra::run`",
    "asio_co_spawn": "Boost.Asio `co_spawn(ctx, f, use_future).get()`, persistent io_context",
    "thread_per_call": "new `QThread` + `QEventLoop` per call (`asyncio.run()` analog)",
    "qcoro_waitFor": "`QCoro::waitFor`: **re-enters the caller's loop** (nested QEventLoop "
                     "on the caller's thread; for trivial it never leaves the thread)",
    "qtconcurrent_result": "`QtConcurrent::run(...).result()` (`result()` may run the task "
                           "in the caller)",
}


def load_bench(path):
    """name -> {"real": [seconds...], counters: {name: [values...]}} over the repetitions."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    rows = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"]
        row = rows.setdefault(name, {"real": [], "counters": {}})
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        row["real"].append(b["real_time"] * scale)
        for key, value in b.items():
            if key in ("per_element", "items_per_second", "bytes_per_call", "rss_growth_KiB",
                       "heap_growth_B", "new_per_call", "caller_cpu_us"):
                row["counters"].setdefault(key, []).append(value)
    return data.get("context", {}), rows


def med(values):
    return statistics.median(values)


def fmt_time(seconds):
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e9:.0f} ns"


def spread(values):
    return f"{fmt_time(min(values))} – {fmt_time(max(values))}"


def find(rows, prefix):
    for name, row in rows.items():
        if name == prefix or name.startswith(prefix + "/"):
            return row
    return None


def roundtrip_table(rows, kind, out):
    floor = find(rows, "roundtrip/trivial/floor_condvar")
    asio = find(rows, f"roundtrip/{kind}/asio_co_spawn")
    out.append(f"| row ({kind}) | median | spread (min – max) | × floor | × Asio | what it is |")
    out.append("|---|---:|---:|---:|---:|---|")
    for name, row in rows.items():
        if not name.startswith(f"roundtrip/{kind}/"):
            continue
        key = name.split("/")[2]
        m = med(row["real"])
        xf = m / med(floor["real"]) if floor else float("nan")
        xa = m / med(asio["real"]) if asio else float("nan")
        out.append(f"| `{key}` | {fmt_time(m)} | {spread(row['real'])} | {xf:.2f}× | "
                   f"{xa:.2f}× | {NOTES.get(key, '')} |")


CONTENTION = ["palitra_runner", "palitra_runner_nospin", "asio_co_spawn", "floor_condvar"]
CALLERS = (1, 2, 4, 8, 16)


def contention_series(rows):
    """row -> [(callers, median calls/s)] of contention/<row>/.../threads:<callers>."""
    series = {}
    for name, row in rows.items():
        parts = name.split("/")
        if parts[0] != "contention" or not parts[-1].startswith("threads:"):
            continue
        threads = int(parts[-1].split(":")[1])
        series.setdefault(parts[1], []).append(
            (threads, med(row["counters"]["items_per_second"])))
    return {k: sorted(v) for k, v in series.items()}


def plot_contention(runs, path):
    """Aggregate rate against callers, one panel per run. False when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, len(runs), figsize=(6.0 * len(runs), 4.0), dpi=100,
                             squeeze=False)
    styles = {"palitra_runner": "o-", "palitra_runner_nospin": "o:", "asio_co_spawn": "s--",
              "floor_condvar": "^-."}
    labels = {"palitra_runner": "palitra run() (default: adaptive spin)",
              "palitra_runner_nospin": "palitra run(), spin off",
              "asio_co_spawn": "Boost.Asio co_spawn + future",
              "floor_condvar": "mutex + condvar floor"}
    for ax, (title, rows) in zip(axes[0], runs):
        series = contention_series(rows)
        for name in CONTENTION:
            if series.get(name):
                ax.plot([t for t, _ in series[name]], [v / 1e3 for _, v in series[name]],
                        styles[name], label=labels[name])
        ax.set_xscale("log", base=2)
        ax.set_xticks(CALLERS)
        ax.set_xticklabels([str(c) for c in CALLERS])
        ax.set_ylim(bottom=0)
        ax.set_xlabel("caller threads on one runner")
        ax.set_ylabel("aggregate rate (k calls/s)")
        ax.set_title(f"trivial round trips, {title}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def python_rows(path):
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)["rows"]


def section(rows, py, title, out, targets):
    out.append(f"### {title}")
    out.append("")
    out.append("Round trips, trivial coroutine (`co_return 42`):")
    out.append("")
    roundtrip_table(rows, "trivial", out)
    out.append("")
    out.append("Round trips, coroutine awaiting a zero-delay timer (`QCoro::sleepFor(0ms)`; Asio: "
               "a zero-delay `steady_timer`; the floor has no timer, its column is the trivial "
               "floor):")
    out.append("")
    roundtrip_table(rows, "timer0", out)
    out.append("")

    out.append("`gather` of N trivial coroutines (one posted call for the batch), time per element:")
    out.append("")
    out.append("| N | per element (median) | spread | whole gather (median) |")
    out.append("|---:|---:|---:|---:|")
    for name, row in rows.items():
        if name.startswith("gather/palitra/"):
            n = name.split("/")[2]
            pe = row["counters"]["per_element"]
            out.append(f"| {n} | {fmt_time(med(pe))} | {spread(pe)} | {fmt_time(med(row['real']))} |")
    out.append("")

    out.append("1000 coroutines each awaiting a 10 ms timer, one `gather`, wall time:")
    out.append("")
    out.append("| timer | median | spread | × 10 ms |")
    out.append("|---|---:|---:|---:|")
    for name, row in rows.items():
        if name.startswith("timers/"):
            key = name.split("/")[2]
            m = med(row["real"])
            out.append(f"| `{key}` | {fmt_time(m)} | {spread(row['real'])} | {m / 0.010:.3f}× |")
    out.append("")

    out.append("Contention: caller threads on one runner (one io_context, one floor thread), "
               "aggregate calls/s (median):")
    out.append("")
    out.append("| callers | " + " | ".join(f"`{n}`" for n in CONTENTION) +
               " | palitra ÷ floor | palitra ÷ Asio |")
    out.append("|---:|" + "---:|" * (len(CONTENTION) + 2))
    series = contention_series(rows)
    for threads in CALLERS:
        values = {n: dict(series.get(n, [])).get(threads) for n in CONTENTION}
        cells = [f"{v / 1e3:.0f} k/s" if v else "–" for v in values.values()]
        p, f, a = values["palitra_runner"], values["floor_condvar"], values["asio_co_spawn"]
        out.append(f"| {threads} | " + " | ".join(cells) +
                   f" | {p / f if p and f else float('nan'):.2f} |"
                   f" {p / a if p and a else float('nan'):.2f} |")
    out.append("")

    out.append("Calls that take 1 ms (`palitra::sleepFor(1ms)`): the caller's CPU time per call "
               "(`CLOCK_THREAD_CPUTIME_ID`), median:")
    out.append("")
    out.append("| row | wall per call | caller CPU per call | × never spinning |")
    out.append("|---|---:|---:|---:|")
    slow = {name.split("/")[2]: row for name, row in rows.items() if name.startswith("slowcall/")}
    base = slow.get("palitra_nospin")
    for key, row in slow.items():
        cpu = med(row["counters"]["caller_cpu_us"])
        ratio = cpu / med(base["counters"]["caller_cpu_us"]) if base else float("nan")
        out.append(f"| `{key}` | {fmt_time(med(row['real']))} | {cpu:.2f} µs | {ratio:.2f}× |")
    out.append("")

    out.append("Memory and allocations (one measurement each, not repeated):")
    out.append("")
    out.append("| measurement | figure |")
    out.append("|---|---:|")
    for name, row in rows.items():
        if name.startswith("memory/") or name.startswith("allocs/"):
            for key, values in row["counters"].items():
                out.append(f"| `{name.split('/iterations')[0]}` {key} | {med(values):,.1f} |")
    out.append("")

    if py:
        out.append("Python reference (`bench/python_reference.py`, same machine, same pinning):")
        out.append("")
        out.append("| Python row | median | spread |")
        out.append("|---|---:|---:|")
        for name, row in py.items():
            out.append(f"| `{name}` | {fmt_time(row['median'])} | "
                       f"{fmt_time(row['min'])} – {fmt_time(row['max'])} |")
        out.append("")

    # Targets (docs/BENCHMARKS.md#targets): medians of this run.
    def m(prefix, counter=None):
        row = find(rows, prefix)
        if row is None:
            return float("nan")
        return med(row["counters"][counter]) if counter else med(row["real"])

    run = m("roundtrip/trivial/palitra_runner")
    asio = m("roundtrip/trivial/asio_co_spawn")
    tpc = m("roundtrip/trivial/thread_per_call")
    floor = m("roundtrip/trivial/floor_condvar")
    g1000 = m("gather/palitra/1000", "per_element")
    timers = m("timers/1000x10ms/palitra_sleepFor")
    mem = m("memory/in_flight_gather_10000x3s", "bytes_per_call")
    mem_run = m("memory/in_flight_run_200_threads_x3s", "bytes_per_call")
    rss = m("memory/rss_over_1e6_runs", "rss_growth_KiB")
    py_run = py.get("roundtrip/trivial/run_coroutine_threadsafe", {}).get("median", float("nan"))
    py_gather = py.get("gather/1000/per_element", {}).get("median", float("nan"))

    def check(label, figure, ok):
        targets.append((title, label, figure, "met" if ok else "**missed**"))

    check("`run` trivial ≤ 1.1× Asio", f"{run / asio:.2f}× Asio ({run / floor:.2f}× floor)",
          run / asio <= 1.1)
    check("`run` ≥ 6× faster than thread-per-call", f"{tpc / run:.1f}× faster", tpc / run >= 6)
    check("`run` ≥ 5× faster than Python's pattern", f"{py_run / run:.1f}× faster",
          py_run / run >= 5)
    check("`gather` 1000: ≤ 100 ns per element", fmt_time(g1000), g1000 <= 100e-9)
    check("`gather` 1000: ≥ 20× less than Python's", f"{py_gather / g1000:.1f}× less",
          py_gather / g1000 >= 20)
    check("1000 × 10 ms timers ≤ 1.25× 10 ms", f"{timers / 0.010:.3f}×", timers <= 0.0125)
    check("≤ 1.5 KB per in-flight call (gather element)", f"{mem:,.0f} B", mem <= 1536)
    check("≤ 1.5 KB per in-flight call (separate `run` calls)", f"{mem_run:,.0f} B",
          mem_run <= 1536)
    check("RSS growth over 10^6 `run` ≤ 64 KB", f"{rss:,.0f} KiB", rss <= 64)

    series = contention_series(rows)
    at8 = {n: dict(series.get(n, [])).get(8, float("nan")) for n in CONTENTION}
    at1 = {n: dict(series.get(n, [])).get(1, float("nan")) for n in CONTENTION}
    nospin = m("roundtrip/trivial/palitra_runner_nospin")
    cpu = {k: float("nan") for k in ("palitra_adaptive", "palitra_nospin")}
    for k in cpu:
        row = find(rows, f"slowcall/1ms/{k}")
        if row:
            cpu[k] = med(row["counters"]["caller_cpu_us"])
    if title.startswith("Pinned"):
        ratio = at8["palitra_runner"] / at8["floor_condvar"]
        check("8 callers: aggregate rate ≥ the floor's", f"{ratio:.2f}× floor", ratio >= 1)
        check("default (adaptive spin) round trip no slower than spin off",
              f"{run / nospin:.2f}× spin off", run / nospin <= 1.05)
    else:
        ratio = at8["palitra_runner"] / at8["asio_co_spawn"]
        check("8 callers: aggregate rate ≥ 1.2× Asio's", f"{ratio:.2f}× Asio", ratio >= 1.2)
        check("default options: trivial round trip ≤ 0.3× the floor", f"{run / floor:.2f}× floor",
              run / floor <= 0.3)
    check("1 caller: no regression (contention row, default ÷ spin off)",
          f"{at1['palitra_runner'] / at1['palitra_runner_nospin']:.2f}×",
          at1["palitra_runner"] >= 0.95 * at1["palitra_runner_nospin"])
    check("1 ms calls: caller CPU per call ≤ 1.1× never spinning",
          f"{cpu['palitra_adaptive'] / cpu['palitra_nospin']:.2f}×",
          cpu["palitra_adaptive"] <= 1.1 * cpu["palitra_nospin"])


def load_scale(path):
    """row name (without the iterations suffix) -> {"real": [...], counters: {name: [...]}}."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    rows = {}
    skip = {"name", "run_name", "run_type", "iterations", "real_time", "cpu_time", "time_unit",
            "family_index", "per_family_instance_index", "repetitions", "repetition_index",
            "threads", "aggregate_name", "aggregate_unit", "error_occurred", "error_message"}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"].split("/iterations:")[0]
        row = rows.setdefault(name, {"real": [], "counters": {}})
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        row["real"].append(b["real_time"] * scale)
        for key, value in b.items():
            if key not in skip and isinstance(value, (int, float)):
                row["counters"].setdefault(key, []).append(value)
    return rows


def sleeper_series(rows, kind):
    """[(N, median per-element seconds)] of sleepers/<kind>/N, sorted by N."""
    series = []
    for name, row in rows.items():
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == "sleepers" and parts[1] == kind:
            series.append((int(parts[2]), med(row["counters"]["per_element"])))
    return sorted(series)


def sleepers_section(after, before, out):
    out.append("### Sleepers at scale (`palitra_scale_bench`)")
    out.append("")
    out.append("One `gather` of N coroutines each awaiting a 10 ms sleep; per element = wall time "
               "÷ N (the 10 ms themselves dominate at small N):")
    out.append("")
    head = "| N | `palitra::sleepFor` |"
    rule = "|---:|---:|"
    if before:
        head += " before |"
        rule += "---:|"
    head += " `QCoro::sleepFor` |"
    rule += "---:|"
    out.append(head)
    out.append(rule)
    now = dict(sleeper_series(after, "gather"))
    old = dict(sleeper_series(before, "gather")) if before else {}
    qcoro = dict(sleeper_series(after, "gather_qcoro"))
    for n in sorted(set(now) | set(old) | set(qcoro)):
        cells = [fmt_time(now[n]) if n in now else "–"]
        if before:
            cells.append(fmt_time(old[n]) if n in old else "–")
        cells.append(fmt_time(qcoro[n]) if n in qcoro else "–")
        out.append(f"| {n:,} | " + " | ".join(cells) + " |")
    out.append("")

    def whole(series, n):
        value = dict(series).get(n)
        return value * n if value is not None else float("nan")

    for label, rows in (("after", after), ("before", before)):
        if not rows:
            continue
        ratio = whole(sleeper_series(rows, "gather"), 100000) / \
            whole(sleeper_series(rows, "gather"), 1000)
        out.append(f"- gather of 10^5 ÷ gather of 10^3 ({label}): **{ratio:.1f}×**")
    out.append("")
    out.append("Timeout at scale: N stop-aware sleepers (30 s each), 500 ms timeout:")
    out.append("")
    out.append("| tree | N | TimeoutError at | loop answers `run()` after | "
               "last sleeper ended after | per sleeper |")
    out.append("|---|---:|---:|---:|---:|---:|")
    timeouts = {}  # N -> counters of this run
    for label, rows in (("after", after), ("before", before)):
        if not rows:
            continue
        for name, row in sorted(rows.items(), key=lambda item: item[0]):
            if name.startswith("sleepers/timeout/"):
                n = int(name.split("/")[2])
                c = row["counters"]
                if label == "after":
                    timeouts[n] = c
                per = c.get("all_woken_per_element")
                out.append(f"| {label} | {n:,} | {med(c['timeout_ratio']):.3f}× the timeout | "
                           f"{med(c['loop_back_ms']):,.1f} ms | {med(c['all_woken_ms']):,.1f} ms | "
                           f"{fmt_time(med(per)) if per else '–'} |")
    out.append("")

    # The sleeper targets (docs/BENCHMARKS.md#targets), medians of this run.
    gather_ratio = whole(sleeper_series(after, "gather"), 100000) / \
        whole(sleeper_series(after, "gather"), 1000)
    nan = float("nan")
    timeout_ratio = med(timeouts[100000]["timeout_ratio"]) if 100000 in timeouts else nan

    def per_sleeper(n):
        c = timeouts.get(n, {})
        return med(c["all_woken_per_element"]) if "all_woken_per_element" in c else nan

    wake_ratio = per_sleeper(100000) / per_sleeper(1000)
    out.append("| sleeper target | figure | |")
    out.append("|---|---:|---|")
    for label, figure, ok in (
            ("gather of 10^5 sleepers ≤ 40× the wall time of 10^3", f"{gather_ratio:.1f}×",
             gather_ratio <= 40),
            ("10^5 stop-aware sleepers: `TimeoutError` within 1.2× the timeout",
             f"{timeout_ratio:.4f}×", timeout_ratio <= 1.2),
            ("stop wakes them in linear time: per sleeper at 10^5 ≤ 2× at 10^3",
             f"{wake_ratio:.2f}×", wake_ratio <= 2)):
        out.append(f"| {label} | {figure} | {'met' if ok else '**missed**'} |")
    out.append("")


def plot_sleepers(after, before, path):
    """Per-element cost against N, log-log. Returns False when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    lines = [("palitra::sleepFor", sleeper_series(after, "gather"), "o-")]
    if before:
        lines.append(("palitra::sleepFor, before (a Qt timer each)",
                      sleeper_series(before, "gather"), "s--"))
    lines.append(("QCoro::sleepFor (a QTimer each)", sleeper_series(after, "gather_qcoro"), "^:"))
    for label, series, style in lines:
        if series:
            ax.plot([n for n, _ in series], [v * 1e6 for _, v in series], style, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("coroutines in one gather, each sleeping 10 ms (N)")
    ax.set_ylabel("wall time per coroutine (µs)")
    ax.set_title("gather of N sleepers: cost per element")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def main():
    args = sys.argv[1:]
    plot_path = None
    contention_plot = None
    if "--contention-plot" in args:
        i = args.index("--contention-plot")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        contention_plot = args[i + 1]
        del args[i:i + 2]
    if "--plot" in args:
        i = args.index("--plot")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        plot_path = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    d = args[0]
    out, targets, runs = [], [], []
    for mode in ("pinned", "unpinned"):
        path = os.path.join(d, f"{mode}.json")
        if not os.path.exists(path):
            continue
        context, rows = load_bench(path)
        py = python_rows(os.path.join(d, f"python_{mode}.json"))
        title = "Pinned (`taskset -c 0`)" if mode == "pinned" else "Unpinned (2 cores)"
        section(rows, py, title, out, targets)
        runs.append(("pinned to one CPU" if mode == "pinned" else "unpinned (2 cores)", rows))
        out.insert(len(out) - 0, f"<sub>{mode}: {context.get('date', '')}, load average "
                                 f"{context.get('load_avg', '')}</sub>")
        out.append("")
    if targets:
        out.append("### Targets")
        out.append("")
        out.append("| run | target | figure | |")
        out.append("|---|---|---:|---|")
        for title, label, figure, verdict in targets:
            out.append(f"| {title.split(' ')[0]} | {label} | {figure} | {verdict} |")
    if runs:
        path = contention_plot or os.path.join(d, "bench-contention.png")
        out.append("")
        if plot_contention(runs, path):
            out.append(f"![aggregate rate against caller threads]({path})")
        else:
            out.append("(matplotlib could not be imported by this Python: no contention plot)")
    scale = load_scale(os.path.join(d, "scale.json"))
    if scale:
        before = load_scale(os.path.join(d, "scale_before.json"))
        out.append("")
        sleepers_section(scale, before, out)
        path = plot_path or os.path.join(d, "bench-sleepers.png")
        if plot_sleepers(scale, before, path):
            out.append(f"![per-element cost of a gather of N sleepers]({path})")
        else:
            out.append("(matplotlib could not be imported by this Python: no plot; Debian's "
                       "python3-matplotlib serves /usr/bin/python3)")
        out.append("")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
