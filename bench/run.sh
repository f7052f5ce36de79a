#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the whole suite pinned and unpinned, plus the Python reference and the sleepers-at-scale
# bench, and writes the Markdown tables of docs/BENCHMARKS.md, the rate-against-callers plot
# docs/bench-contention.png, and the sleepers plot into the results dir (the one in docs/ also
# needs the old tree's scale_before.json: see docs/BENCHMARKS.md).
# Build first: cmake --preset bench && cmake --build --preset bench
#
#     bench/run.sh [results-dir] [repetitions]
set -eu
cd "$(dirname "$0")/.."
out=${1:-build/bench/results}
reps=${2:-9}
bin=build/bench/bench/palitra_bench
scale=build/bench/bench/palitra_scale_bench
mkdir -p "$out"
lscpu > "$out/lscpu.txt"
uptime > "$out/uptime-before.txt"
set -- --benchmark_repetitions="$reps" --benchmark_min_time=0.3 \
       --benchmark_display_aggregates_only=true --benchmark_out_format=json
taskset -c 0 "$bin" "$@" --benchmark_out="$out/pinned.json"
"$bin" "$@" --benchmark_out="$out/unpinned.json"
taskset -c 0 python3 bench/python_reference.py --repetitions "$reps" --json "$out/python_pinned.json"
python3 bench/python_reference.py --repetitions "$reps" --json "$out/python_unpinned.json"
# Seconds per row (10^5 sleepers): a few repetitions say enough.
"$scale" --benchmark_repetitions=3 --benchmark_display_aggregates_only=true \
    --benchmark_out_format=json --benchmark_out="$out/scale.json"
uptime > "$out/uptime-after.txt"
# Debian's python3-matplotlib serves /usr/bin/python3 (a pyenv python may lack it).
py=python3
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    py=/usr/bin/python3
fi
"$py" bench/report.py "$out" --contention-plot docs/bench-contention.png > "$out/tables.md"
echo "tables: $out/tables.md"
