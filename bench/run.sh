#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the whole suite pinned and unpinned, plus the Python reference, and writes the Markdown
# tables of docs/BENCHMARKS.md. Build first: cmake --preset bench && cmake --build --preset bench
#
#     bench/run.sh [results-dir] [repetitions]
set -eu
cd "$(dirname "$0")/.."
out=${1:-build/bench/results}
reps=${2:-9}
bin=build/bench/bench/palitra_bench
mkdir -p "$out"
lscpu > "$out/lscpu.txt"
uptime > "$out/uptime-before.txt"
set -- --benchmark_repetitions="$reps" --benchmark_min_time=0.3 \
       --benchmark_display_aggregates_only=true --benchmark_out_format=json
taskset -c 0 "$bin" "$@" --benchmark_out="$out/pinned.json"
"$bin" "$@" --benchmark_out="$out/unpinned.json"
taskset -c 0 python3 bench/python_reference.py --repetitions "$reps" --json "$out/python_pinned.json"
python3 bench/python_reference.py --repetitions "$reps" --json "$out/python_unpinned.json"
uptime > "$out/uptime-after.txt"
python3 bench/report.py "$out" > "$out/tables.md"
echo "tables: $out/tables.md"
