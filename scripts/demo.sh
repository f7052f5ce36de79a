#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fresh Debian bookworm -> fetch-cli running against its embedded server: installs only what
# building the examples needs, builds the one program, runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh demo
# Its own build directory: turning the tests off in build/default would leave that tree (and
# `ctest --preset default`) with stale test binaries.
cmake --preset default -B build/demo -DPALITRA_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo --target fetch-cli
status=0
./build/demo/examples/fetch-cli || status=$?
# Exit code 1 is the expected one: /fail and /missing answer 500 and 404 on purpose.
if ((status != 1)); then
    echo "fetch-cli exited with $status" >&2
    exit 1
fi
