# SPDX-License-Identifier: MIT
# CPack: `cpack -G DEB` in a build directory makes two Debian packages, named as a distribution
# would name them: libpalitra<soversion> (the shared object) and libpalitra-dev (headers, CMake
# package, palitra.pc). The runtime package's Depends come from dpkg-shlibdeps (dpkg-dev);
# the -dev package depends on the headers palitra's own headers include.
set(CPACK_PACKAGE_NAME palitra)
set(CPACK_PACKAGE_VENDOR "palitra")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_RESOURCE_FILE_README ${PROJECT_SOURCE_DIR}/README.md)
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

include(CPack)
