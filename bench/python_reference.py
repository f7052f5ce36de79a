#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python's palitra pattern on this machine, for the ratios in docs/BENCHMARKS.md.

Standard library only. The pattern: one persistent asyncio loop running in a thread, and
synchronous callers blocking on ``asyncio.run_coroutine_threadsafe(coro, loop).result()``.
It cannot run in the C++ benchmark binary, so it is measured here, with the same shape of
repetitions (median, min, max over repetitions of a timed batch).

    python3 bench/python_reference.py [--repetitions 9] [--min-time 0.3] [--json out.json]

Not a test: it asserts nothing.
"""

import argparse
import asyncio
import json
import platform
import statistics
import sys
import threading
import time


async def trivial():
    return 42


async def yield_once():
    # asyncio.sleep(0) is special-cased to one bare yield to the loop (no timer heap).
    await asyncio.sleep(0)
    return 42


async def timer_min():
    # The smallest positive delay: goes through call_later and the loop's timer heap.
    await asyncio.sleep(1e-9)
    return 42


async def gather_trivial(n):
    return await asyncio.gather(*(trivial() for _ in range(n)))


async def gather_sleep(n, seconds):
    return await asyncio.gather(*(asyncio.sleep(seconds) for _ in range(n)))


class LoopThread:
    """A persistent event loop in a daemon thread (what palitra's Python runner does)."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def body():
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(started.set)
            self.loop.run_forever()

        self.thread = threading.Thread(target=body, name="python-reference-loop", daemon=True)
        self.thread.start()
        started.wait()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def measure(call, min_time, repetitions, per_call_items=1):
    """Seconds per item: the median, min and max over repetitions of a batch of >= min_time."""
    # Calibrate the batch size so that one repetition takes about min_time.
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            call()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time / 4 or batch >= 1 << 22:
            break
        batch *= 2
    batch = max(1, int(batch * min_time / max(elapsed, 1e-9)))
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(batch):
            call()
        samples.append((time.perf_counter() - start) / (batch * per_call_items))
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "repetitions": repetitions,
        "batch": batch,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=9)
    parser.add_argument("--min-time", type=float, default=0.3, help="seconds per repetition")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    runner = LoopThread()
    reps, min_time = args.repetitions, args.min_time
    rows = {}
    try:
        rows["roundtrip/trivial/run_coroutine_threadsafe"] = measure(
            lambda: runner.run(trivial()), min_time, reps)
        rows["roundtrip/yield/run_coroutine_threadsafe"] = measure(
            lambda: runner.run(yield_once()), min_time, reps)
        rows["roundtrip/timer_min/run_coroutine_threadsafe"] = measure(
            lambda: runner.run(timer_min()), min_time, reps)
        rows["roundtrip/trivial/asyncio_run_per_call"] = measure(
            lambda: asyncio.run(trivial()), min_time, reps)
        rows["gather/1000/per_element"] = measure(
            lambda: runner.run(gather_trivial(1000)), min_time, reps, per_call_items=1000)
        rows["timers/1000x10ms/wall"] = measure(
            lambda: runner.run(gather_sleep(1000, 0.010)), min_time, reps)
    finally:
        runner.close()

    print(f"python {platform.python_version()} ({platform.python_implementation()}), "
          f"{reps} repetitions of >= {min_time} s")
    print(f"{'row':48} {'median':>12} {'min':>12} {'max':>12}")
    for name, row in rows.items():
        def fmt(seconds):
            if seconds >= 1e-3:
                return f"{seconds * 1e3:9.3f} ms"
            if seconds >= 1e-6:
                return f"{seconds * 1e6:9.3f} us"
            return f"{seconds * 1e9:9.1f} ns"
        print(f"{name:48} {fmt(row['median']):>12} {fmt(row['min']):>12} {fmt(row['max']):>12}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"python": platform.python_version(), "rows": rows}, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
