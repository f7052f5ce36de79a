#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes docs/desktop.png: the desktop example's real window, at work, grabbed with
# QWidget::grab() on Qt's offscreen platform (no display needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh demo
cmake --preset default -B build/demo -DPALITRA_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo --target desktop
QT_QPA_PLATFORM=offscreen ./build/demo/examples/desktop --screenshot docs/desktop.png
echo "wrote docs/desktop.png"
