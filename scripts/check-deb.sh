#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian packages CPack makes (libpalitra<N> and libpalitra-dev), checked as a packager
# would: built with the `package` preset (Release, no tests, no developer mode), their Depends
# shown and checked, resolvable against the archive (apt-get --simulate), their copyright files,
# the runtime package's shlibs file and ldconfig trigger checked, then unpacked into an empty
# root and used from there by tests/consumer (CMake and pkg-config, g++ and clang 14, plain and
# with ASan+UBSan). With
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
# consumer_cmake <build dir> <compiler> [cmake args...]: tests/consumer configured, built (its
# plain and its ASan+UBSan program) and run.
consumer_cmake() {
    local dir=$1 cxx=$2
    shift 2
    rm -rf "$dir"
    cmake -S tests/consumer -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    ctest --test-dir "$dir" --output-on-failure
}
# consumer_pkgconfig <output> <flags>: the same program built with nothing but the flags
# `pkg-config --cflags --libs palitra` gave, with the CMake consumer's flags, by g++ and clang 14,
# plain and with ASan+UBSan (as tests/consumer/CMakeLists.txt builds and runs it), each run.
consumer_pkgconfig() {
    local out=$1 flags=$2 cxx sanitize log
    local sanitizers="-fsanitize=address,undefined -fno-omit-frame-pointer"
    sanitizers+=" -fno-sanitize-recover=undefined"
    for cxx in g++ clang++-14; do
        for sanitize in "" "$sanitizers"; do
            echo "pkg-config consumer: $cxx -O2 ${sanitize:-(no sanitizer)}"
            # shellcheck disable=SC2086 # the flags are word lists
            "$cxx" -std=c++20 -O2 -Wall -Wextra -Wpedantic -Werror $sanitize -o "$out" \
                tests/consumer/main.cpp tests/consumer/every_template.cpp $flags
            if ! log=$(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$out" 2>&1) ||
                ! grep -q "consumer: every template: ok" <<<"$log"; then
                fail "$out, built by $cxx ${sanitize:-(no sanitizer)}, failed: $log"
            fi
            echo "$log"
        done
    done
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

# Each package ships the licence as Debian wants it, in /usr/share/doc/<package>/copyright.
for deb in "$runtime" "$dev"; do
    name=$(dpkg-deb -f "$deb" Package)
    contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
    grep -qx "./usr/share/doc/$name/copyright" <<<"$contents" ||
        fail "$deb has no /usr/share/doc/$name/copyright"
    dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./usr/share/doc/$name/copyright" |
        cmp -s - LICENSE || fail "/usr/share/doc/$name/copyright in $deb is not LICENSE"
done
# The runtime package tells dpkg-shlibdeps of the packages built against it which package
# their libpalitra.so.<N> comes from (shlibs), and activates libc's ldconfig trigger.
control=$(dpkg-deb --ctrl-tarfile "$runtime" | tar -tf -)
for f in shlibs triggers; do
    grep -qx "./$f" <<<"$control" || fail "$runtime has no $f control file: $control"
done
soname=$(readelf -d "$sofile" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
shlibs_line="${soname%%.so.*} ${soname##*.so.} $runtime_name (= $version)"
[[ $(dpkg-deb -I "$runtime" shlibs) == "$shlibs_line" ]] ||
    fail "$runtime's shlibs is not \"$shlibs_line\": $(dpkg-deb -I "$runtime" shlibs)"
triggers=$(dpkg-deb -I "$runtime" triggers)
grep -qx "activate-noawait ldconfig" <<<"$triggers" ||
    fail "$runtime does not activate the ldconfig trigger: $triggers"
# The -dev package ships only the libpalitra.so link: a shlibs file there would claim the
# library for a second package.
dev_control=$(dpkg-deb --ctrl-tarfile "$dev" | tar -tf -)
if grep -qx "./shlibs" <<<"$dev_control"; then fail "$dev has a shlibs file"; fi
echo "copyright in both packages; $runtime_name: shlibs \"$shlibs_line\", ldconfig trigger"

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
# Until the packages are installed, the programs find libpalitra.so.<N> only in the root.
export LD_LIBRARY_PATH=$libdir
consumer_cmake build/consumer-deb g++ -DCMAKE_PREFIX_PATH="$root/usr"
consumer_cmake build/consumer-deb-clang clang++-14 -DCMAKE_PREFIX_PATH="$root/usr"
# Built against the unpacked root, not the build tree.
for dir in build/consumer-deb build/consumer-deb-clang; do
    grep -q "$root/usr/lib" "$dir/CMakeCache.txt" || fail "$dir did not use $root"
done

flags=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs palitra)
first=${flags%% *}
[[ $(realpath "${first#-I}") == "$root/usr/include" ]] ||
    fail "palitra.pc does not point into $root: $flags"
consumer_pkgconfig build/deb-root-consumer "$flags"
unset LD_LIBRARY_PATH

if [[ ${PALITRA_DEB_INSTALL:-0} == 1 ]]; then
    [[ $(id -u) == 0 ]] || fail "PALITRA_DEB_INSTALL=1 needs root (apt-get install)"
    dpkg -s libpalitra-dev >/dev/null 2>&1 && fail "a libpalitra-dev is installed already"
    remove_packages() { apt-get purge -y -q "$(dpkg-deb -f "$dev" Package)" "$runtime_name" >/dev/null; }
    trap remove_packages EXIT
    apt-get install -y -q --no-install-recommends "./$runtime" "./$dev" >build/package/apt-install.log ||
        { cat build/package/apt-install.log; fail "apt-get could not install the packages"; }
    echo "apt-get install: both packages installed, their Depends met"
    consumer_cmake build/consumer-deb-installed g++
    consumer_cmake build/consumer-deb-installed-clang clang++-14
    for dir in build/consumer-deb-installed build/consumer-deb-installed-clang; do
        grep -q "Palitra_DIR:PATH=/usr/lib/" "$dir/CMakeCache.txt" ||
            fail "$dir did not find the installed package under /usr/lib"
    done
    consumer_pkgconfig build/deb-installed-consumer "$(pkg-config --cflags --libs palitra)"
    remove_packages
    trap - EXIT
    echo "check-deb: installed, used by the consumer (CMake and pkg-config) and removed again"
fi
echo "check-deb: both packages are right"
