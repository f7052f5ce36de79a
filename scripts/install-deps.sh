#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what palitra needs on Debian bookworm, only what is missing. Safe to re-run.
#   scripts/install-deps.sh demo   building palitra and building and running the examples
#   scripts/install-deps.sh test   (the default) also everything scripts/test.sh runs: clang 14
#                                  and its sanitizer runtimes, clang-format, Doxygen, pkg-config,
#                                  and the Debian packaging tools the .deb check uses
#   scripts/install-deps.sh bench  also the benchmarks' baselines (Google Benchmark, Boost.Asio)
#                                  and valgrind (docs/BENCHMARKS.md, docs/RELIABILITY.md)
set -euo pipefail

set_name=${1:-test}

# Building palitra and the examples. qt6-base-private-dev: the loop thread uses Qt's private
# QDaemonThread (PALITRA_USE_QT_PRIVATE). libgl-dev: Qt6Gui's CMake package requires OpenGL
# even when nothing draws (its Vulkan headers are optional). ca-certificates: without it Qt's
# TLS backend trusts no server, and the README's next step after the demo is fetch-cli on an
# https:// URL.
demo=(
    cmake ninja-build g++
    qt6-base-dev qt6-base-private-dev qcoro-qt6-dev
    libgl-dev ca-certificates
)
test=(
    "${demo[@]}"
    libvulkan-dev
    clang-14 libclang-rt-14-dev clang-format-14
    doxygen pkg-config dpkg-dev file
)
bench=(
    "${test[@]}"
    libbenchmark-dev libboost-dev valgrind python3-matplotlib
)

case $set_name in
demo) packages=("${demo[@]}") ;;
test) packages=("${test[@]}") ;;
bench) packages=("${bench[@]}") ;;
*)
    echo "usage: $0 [demo|test|bench]" >&2
    exit 2
    ;;
esac

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    sudo=(sudo)
fi
echo "palitra: installing ${missing[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
