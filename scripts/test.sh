#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fresh Debian bookworm -> every test: installs what is missing, then
#   1. Debug build, warnings as errors, the whole suite (ctest --preset default);
#   2. the consumer check: install the package, build tests/consumer against it with
#      find_package(Palitra CONFIG), run it;
#   3. ASan+UBSan build and suite;
#   4. TSan build and suite.
# PALITRA_TEST_STAGES="default consumer asan tsan" selects stages (all by default).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

stages=${PALITRA_TEST_STAGES:-"default consumer asan tsan"}
jobs=${PALITRA_JOBS:-$(nproc)}

run_preset() {
    echo "=== palitra: $1 build and tests ==="
    cmake --preset "$1" >/dev/null
    cmake --build --preset "$1" -j "$jobs"
    ctest --preset "$1" -j "$jobs"
}

for stage in $stages; do
    case $stage in
    default | asan | tsan) run_preset "$stage" ;;
    consumer)
        echo "=== palitra: consumer of the installed package ==="
        cmake --preset default >/dev/null
        cmake --build --preset default -j "$jobs"
        prefix=$PWD/build/install
        rm -rf "$prefix" build/consumer
        cmake --install build/default --prefix "$prefix" >/dev/null
        cmake -S tests/consumer -B build/consumer -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
        cmake --build build/consumer
        ctest --test-dir build/consumer --output-on-failure
        ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
    esac
done
echo "=== palitra: all stages passed ($stages) ==="
