#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fresh Debian bookworm -> every test: installs what is missing, then runs these stages:
#   default    Debug build, developer mode (warnings as errors), the whole suite;
#   consumer   install the package, build tests/consumer against it with find_package(Palitra)
#              with g++ 12 and clang 14 (-O2 -Wall -Wextra -Wpedantic -Werror, plain and with
#              ASan+UBSan), run it; then the same program through `pkg-config palitra` (the
#              same compilers and flags);
#   static     palitra as a static library (BUILD_SHARED_LIBS=OFF), and the consumer against it
#              (CMake and pkg-config, both compilers, plain and sanitized);
#   noprivate  clang 14, without Qt's private headers (PALITRA_USE_QT_PRIVATE=OFF): the whole
#              suite, compile checks included (tests that need the headers skip and say why);
#   clang      clang 14 with Qt's private headers: the library and tests built, the suite run;
#   deb        CPack's .deb packages: their Depends, copyright, shlibs and ldconfig trigger,
#              then the consumer (the same builds) against the packages unpacked in an empty root;
#   asan, tsan the whole suite under ASan+UBSan, then under TSan;
#   docs       the API reference (Doxygen); an undocumented public entity fails it.
# PALITRA_TEST_STAGES="default consumer" selects stages (all, in this order, by default).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh test

stages=${PALITRA_TEST_STAGES:-"default consumer static noprivate clang deb asan tsan docs"}
jobs=${PALITRA_JOBS:-$(nproc)}
consumer_src=$PWD/tests/consumer
# What tests/consumer/CMakeLists.txt compiles, links and runs its two programs with, for the
# builds through pkg-config.
consumer_flags="-O2 -Wall -Wextra -Wpedantic -Werror"
consumer_sanitizers="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
consumer_env=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)

stage_start() {
    echo "=== palitra: $1 ==="
    SECONDS=0
}
stage_end() {
    echo "=== palitra: $1 passed in ${SECONDS} s ==="
}

run_preset() {
    cmake --preset "$1" >/dev/null
    cmake --build --preset "$1" -j "$jobs"
    ctest --preset "$1" -j "$jobs"
}

# consumer_cmake <name> <prefix path> <compiler> [cmake args...]: tests/consumer built against
# an installed palitra and run.
consumer_cmake() {
    local name=$1 prefix=$2 cxx=$3
    shift 3
    rm -rf "build/$name"
    cmake -S "$consumer_src" -B "build/$name" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
        -DCMAKE_PREFIX_PATH="$prefix" "$@" >/dev/null
    cmake --build "build/$name" -j "$jobs"
    ctest --test-dir "build/$name" --output-on-failure
}

# consumer_pkgconfig <dir of palitra.pc> [extra flags...]: the same program built with nothing
# but the flags `pkg-config --cflags --libs palitra` gives, with the CMake consumer's flags
# (tests/consumer/CMakeLists.txt), by g++ and by clang 14, plain and with ASan+UBSan; each run.
consumer_pkgconfig() {
    local pcdir=$1 out flags cxx sanitize
    shift
    out=$(mktemp -d)
    flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs palitra)
    echo "pkg-config --cflags --libs palitra: $flags"
    for cxx in g++ clang++-14; do
        for sanitize in "" "$consumer_sanitizers"; do
            echo "pkg-config consumer: $cxx -O2 ${sanitize:-(no sanitizer)}"
            # shellcheck disable=SC2086 # the flags are word lists
            "$cxx" -std=c++20 $consumer_flags $sanitize -o "$out/consumer" \
                "$consumer_src/main.cpp" "$consumer_src/every_template.cpp" $flags "$@"
            env "${consumer_env[@]}" "$out/consumer" | tee "$out/log"
            grep -q "consumer: every template: ok" "$out/log"
        done
    done
    rm -rf "$out"
}

for stage in $stages; do
    stage_start "$stage"
    case $stage in
    default | asan | tsan | noprivate | clang) run_preset "$stage" ;;
    docs)
        cmake --preset default >/dev/null
        cmake --build build/default --target docs
        test -f build/default/docs/html/index.html
        # The free functions are listed only on the page of a documented namespace
        # (docs/reference_namespace.dox): without it they would silently vanish.
        grep -q "submit" build/default/docs/html/namespacepalitra.html ||
            { echo "docs: namespace palitra's page lists no submit()" >&2; exit 1; }
        grep -q "PALITRA_VERSION_MAJOR" build/default/docs/html/version_8h.html ||
            { echo "docs: palitra/version.h's page lists no version macros" >&2; exit 1; }
        ;;
    consumer)
        cmake --preset default >/dev/null
        cmake --build --preset default -j "$jobs" --target palitra
        prefix=$PWD/build/install
        rm -rf "$prefix"
        cmake --install build/default --prefix "$prefix" >/dev/null
        consumer_cmake consumer "$prefix" g++
        consumer_cmake consumer-clang "$prefix" clang++-14
        consumer_pkgconfig "$(dirname "$(find "$prefix" -name palitra.pc)")" \
            -Wl,-rpath,"$(dirname "$(find "$prefix" -name 'libpalitra.so' -print -quit)")"
        ;;
    static)
        cmake --preset static >/dev/null
        cmake --build --preset static -j "$jobs"
        prefix=$PWD/build/install-static
        rm -rf "$prefix"
        cmake --install build/static --prefix "$prefix" >/dev/null
        test -n "$(find "$prefix" -name libpalitra.a)"
        grep -q '#define PALITRA_STATIC_DEFINE' "$prefix/include/palitra/palitra_export.h"
        consumer_cmake consumer-static "$prefix" g++
        consumer_cmake consumer-static-clang "$prefix" clang++-14
        consumer_pkgconfig "$(dirname "$(find "$prefix" -name palitra.pc)")"
        ;;
    deb) bash scripts/check-deb.sh ;;
    *)
        echo "unknown stage $stage" >&2
        exit 2
        ;;
    esac
    stage_end "$stage"
done
echo "=== palitra: all stages passed ($stages) ==="
