# SPDX-License-Identifier: MIT
# CPack: `cpack -G DEB` in a build directory makes two Debian packages, named as a distribution
# would name them: libpalitra<soversion> (the shared object) and libpalitra-dev (headers, CMake
# package, palitra.pc). The runtime package's Depends come from dpkg-shlibdeps (dpkg-dev);
# the -dev package depends on the headers palitra's own headers include.
include(GNUInstallDirs)
set(CPACK_PACKAGE_NAME palitra)
set(CPACK_PACKAGE_VENDOR "palitra")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_RESOURCE_FILE_README ${PROJECT_SOURCE_DIR}/README.md)
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(PALITRA_PACKAGE_CONTACT "palitra maintainers <palitra@localhost>"
    CACHE STRING "Maintainer field of the packages CPack makes")
set(CPACK_PACKAGE_CONTACT "${PALITRA_PACKAGE_CONTACT}")

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL Runtime Development)
set(CPACK_COMPONENT_DEVELOPMENT_DEPENDS Runtime)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libpalitra${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
# A shlibs control file, so that dpkg-shlibdeps of a package built against libpalitra<N> finds
# the package its libpalitra.so.<N> comes from. "=": the soname stays <N> through every 0.x
# release, which promise no ABI, so a program is tied to the exact version it was built against.
# (CPackDeb reads only the package-wide variable; the -dev package ships no shared object, only
# the libpalitra.so link, so it gets no shlibs file.)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY "=")
# Debian policy wants a package with a shared object in the dynamic linker's directories to
# activate libc's ldconfig trigger. CPackDeb only writes a postinst and a postrm that run
# ldconfig directly (kept: harmless, and what CPack does for every library package), so the
# trigger comes from a control file of our own.
set(_palitra_deb_control ${PROJECT_BINARY_DIR}/cpack-deb-runtime)
file(MAKE_DIRECTORY ${_palitra_deb_control})
file(WRITE ${_palitra_deb_control}/triggers "activate-noawait ldconfig\n")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${_palitra_deb_control}/triggers)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "palitra's shared library: a persistent Qt event loop thread on which QCoro coroutines run while synchronous code waits.")
# Built on Qt's private API, only the exact Qt version it was built against will do: Debian's
# libqt6core6 provides qt6-base-abi (= <upstream version>), and its symbols file makes
# dpkg-shlibdeps add that dependency for every private symbol palitra uses
# (scripts/check-deb.sh checks that it is there).

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libpalitra-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "qt6-base-dev (>= ${PALITRA_QT_MIN_VERSION}), qcoro-qt6-dev (>= ${PALITRA_QCORO_MIN_VERSION})")
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION
    "palitra's headers, CMake package (find_package(Palitra)) and pkg-config file.")

# Debian wants each package's licence in /usr/share/doc/<package>/copyright. Only for the
# components' own installs (CPack's): a plain `cmake --install` into a prefix gets no
# Debian-named directories.
foreach(_palitra_component IN ITEMS Runtime Development)
    string(TOUPPER ${_palitra_component} _palitra_upper)
    install(FILES ${PROJECT_SOURCE_DIR}/LICENSE
            DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${CPACK_DEBIAN_${_palitra_upper}_PACKAGE_NAME}
            RENAME copyright COMPONENT ${_palitra_component} EXCLUDE_FROM_ALL)
endforeach()

include(CPack)
