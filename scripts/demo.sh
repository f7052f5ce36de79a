#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fresh Debian bookworm -> the demo running: installs what is missing, builds, runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset default -DPALITRA_BUILD_TESTS=OFF >/dev/null
cmake --build --preset default --target demo
./build/default/examples/demo
