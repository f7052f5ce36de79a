#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fresh Debian bookworm -> the demo running: installs what is missing, builds, runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Its own build directory: turning the tests off in build/default would leave that tree (and
# `ctest --preset default`) with stale test binaries.
cmake --preset default -B build/demo -DPALITRA_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo --target demo
./build/demo/examples/demo
