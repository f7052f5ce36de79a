#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian packages CPack makes (libpalitra<N> and libpalitra-dev), checked as a packager
# would: built with the `package` preset (Release, no tests, no developer mode), their Depends
# shown and checked, resolvable against the archive (apt-get --simulate), then unpacked into an
# empty root and used from there by tests/consumer (CMake and pkg-config). With
# PALITRA_DEB_INSTALL=1 (CI sets it; it needs root), they are also installed for real with
# apt-get on this machine, the consumer is built against the installed packages alone, and they
# are removed again.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${PALITRA_JOBS:-$(nproc)}

cmake --preset package >/dev/null
cmake --build --preset package -j "$jobs"
rm -f build/package/*.deb
(cd build/package && cpack -G DEB >/dev/null)

runtime=$(ls build/package/libpalitra[0-9]*_*.deb)
dev=$(ls build/package/libpalitra-dev_*.deb)
for deb in "$runtime" "$dev"; do
    echo "--- $(basename "$deb")"
    dpkg-deb -f "$deb" Package Version Architecture Depends
    dpkg-deb -c "$deb" | awk '{print "    " $6 ($7 ? " " $7 " " $8 : "")}'
done

fail() {
    echo "check-deb: $*" >&2
    exit 1
}
# The package that ships a file; with merged /usr, dpkg may know it under /lib or /usr/lib.
package_of() {
    local real candidate
    real=$(readlink -f "$1")
    for candidate in "$1" "$real" "${real#/usr}" "/usr${real#/usr}"; do
        if dpkg -S "$candidate" >/dev/null 2>&1; then
            dpkg -S "$candidate" | awk -F: 'NR == 1 {print $1}'
            return 0
        fi
    done
    return 1
}
runtime_depends=$(dpkg-deb -f "$runtime" Depends)
dev_depends=$(dpkg-deb -f "$dev" Depends)
# Every library the shared object needs (its DT_NEEDED entries) is in its Depends, through the
# package that ships it (dpkg-shlibdeps' work) ...
sofile=$(ls build/package/src/libpalitra.so.*.*.*)
needed_list=$(readelf -d "$sofile" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
resolved=$(ldd "$sofile")
for needed in $needed_list; do
    # "libfoo.so.1 => /path/libfoo.so.1 (0x...)", or "/path/ld-linux-....so.2 (0x...)"
    path=$(awk -v lib="$needed" '$1 == lib && $2 == "=>" {print $3} index($1, "/") && $1 ~ ("/" lib "$") {print $1}' <<<"$resolved")
    [[ -n $path ]] || fail "cannot find $needed, which $sofile needs"
    owner=$(package_of "$path") || fail "no package ships $path ($needed)"
    [[ $runtime_depends == *"$owner "* || $runtime_depends == *"$owner," || $runtime_depends == "$owner" ]] ||
        fail "$runtime does not depend on $owner, which ships $needed: $runtime_depends"
    echo "needs $needed: from $owner, in Depends"
done
# ... and, when built on Qt's private API, exactly the Qt it was built against.
if grep -q '#define PALITRA_USES_QT_PRIVATE 1' build/package/src/include/palitra/version.h; then
    [[ $runtime_depends == *"qt6-base-abi (= "* ]] ||
        fail "$runtime uses Qt's private API but does not pin qt6-base-abi: $runtime_depends"
fi
# The -dev package: the library itself, and the headers palitra's headers include.
version=$(dpkg-deb -f "$runtime" Version)
runtime_name=$(dpkg-deb -f "$runtime" Package)
for p in "$runtime_name (= $version)" "qt6-base-dev (>= " "qcoro-qt6-dev (>= "; do
    [[ $dev_depends == *"$p"* ]] || fail "$dev does not depend on $p: $dev_depends"
done

# Every dependency can be met from the archive (simulation: installs nothing, needs no root).
apt-get install --simulate -q "./$runtime" "./$dev" >build/package/apt-simulate.log ||
    { cat build/package/apt-simulate.log; fail "the packages' Depends cannot be met"; }
echo "apt-get --simulate: the Depends of both packages can be met"

# Unpacked into an empty root: the CMake package and palitra.pc find everything there.
root=$PWD/build/deb-root
rm -rf "$root"
mkdir -p "$root"
dpkg-deb -x "$runtime" "$root"
dpkg-deb -x "$dev" "$root"
libdir=$(dirname "$(find "$root" -name 'libpalitra.so.*' -print -quit)")
rm -rf build/consumer-deb
cmake -S tests/consumer -B build/consumer-deb -G Ninja -DCMAKE_PREFIX_PATH="$root/usr" >/dev/null
cmake --build build/consumer-deb -j "$jobs"
# Built against the unpacked root, not the build tree.
grep -q "$root/usr/lib" build/consumer-deb/CMakeCache.txt || fail "consumer did not use $root"
LD_LIBRARY_PATH=$libdir ctest --test-dir build/consumer-deb --output-on-failure

flags=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs palitra)
first=${flags%% *}
[[ $(realpath "${first#-I}") == "$root/usr/include" ]] ||
    fail "palitra.pc does not point into $root: $flags"
# shellcheck disable=SC2086 # the flags are a word list
g++ -std=c++20 -O1 -Wall -Wextra -Wpedantic -Werror -o build/deb-root-consumer \
    tests/consumer/main.cpp tests/consumer/every_template.cpp $flags
LD_LIBRARY_PATH=$libdir ./build/deb-root-consumer | grep -q "consumer: every template: ok"

if [[ ${PALITRA_DEB_INSTALL:-0} == 1 ]]; then
    [[ $(id -u) == 0 ]] || fail "PALITRA_DEB_INSTALL=1 needs root (apt-get install)"
    dpkg -s libpalitra-dev >/dev/null 2>&1 && fail "a libpalitra-dev is installed already"
    remove_packages() { apt-get purge -y -q "$(dpkg-deb -f "$dev" Package)" "$runtime_name" >/dev/null; }
    trap remove_packages EXIT
    apt-get install -y -q --no-install-recommends "./$runtime" "./$dev" >build/package/apt-install.log ||
        { cat build/package/apt-install.log; fail "apt-get could not install the packages"; }
    echo "apt-get install: both packages installed, their Depends met"
    rm -rf build/consumer-deb-installed
    cmake -S tests/consumer -B build/consumer-deb-installed -G Ninja >/dev/null
    grep -q "Palitra_DIR:PATH=/usr/lib/" build/consumer-deb-installed/CMakeCache.txt ||
        fail "the consumer did not find the installed package under /usr/lib"
    cmake --build build/consumer-deb-installed -j "$jobs"
    ctest --test-dir build/consumer-deb-installed --output-on-failure
    # shellcheck disable=SC2046 # the flags are a word list
    g++ -std=c++20 -O2 -Wall -Wextra -Wpedantic -Werror -o build/deb-installed-consumer \
        tests/consumer/main.cpp tests/consumer/every_template.cpp $(pkg-config --cflags --libs palitra)
    ./build/deb-installed-consumer | grep -q "consumer: every template: ok"
    remove_packages
    trap - EXIT
    echo "check-deb: installed, used by the consumer (CMake and pkg-config) and removed again"
fi
echo "check-deb: both packages are right"
