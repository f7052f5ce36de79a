# SPDX-License-Identifier: MIT
# PALITRA_USE_QT_PRIVATE: build the loop thread on Qt's private API (QDaemonThread, and on Linux
# a futex-sleeping event dispatcher). It is what lets palitra work without a QCoreApplication,
# and it halves a round trip; the price is that the library is tied to the exact Qt version it
# was built against (rebuild palitra for every Qt patch release). The private headers are linked
# privately: users of palitra never need them. Sets PALITRA_USES_QT_PRIVATE (ON/OFF) and the
# 1/0 form for palitra/version.h.
set(_palitra_private_found OFF)
if(TARGET Qt6::CorePrivate)
    get_target_property(_palitra_private_dirs Qt6::CorePrivate INTERFACE_INCLUDE_DIRECTORIES)
    find_file(_palitra_qthread_p NAMES QtCore/private/qthread_p.h PATHS ${_palitra_private_dirs}
              NO_DEFAULT_PATH NO_CACHE)
    if(_palitra_qthread_p)
        set(_palitra_private_found ON)
    endif()
endif()

option(PALITRA_USE_QT_PRIVATE
       "Use Qt's private headers (QDaemonThread): works without a QCoreApplication, but must be rebuilt for every Qt patch release"
       ${_palitra_private_found})

if(PALITRA_USE_QT_PRIVATE AND NOT _palitra_private_found)
    message(FATAL_ERROR
        "palitra: PALITRA_USE_QT_PRIVATE is ON but Qt's private headers were not found "
        "(QtCore/private/qthread_p.h; Debian: qt6-base-private-dev). Install them, or configure "
        "with -DPALITRA_USE_QT_PRIVATE=OFF (then run() without a QCoreApplication throws "
        "palitra::Error).")
endif()

set(PALITRA_USES_QT_PRIVATE ${PALITRA_USE_QT_PRIVATE})
if(PALITRA_USES_QT_PRIVATE)
    set(PALITRA_USES_QT_PRIVATE_01 1)
    message(STATUS "palitra: using Qt's private headers (Qt ${Qt6Core_VERSION} exactly; "
                   "works without a QCoreApplication)")
else()
    set(PALITRA_USES_QT_PRIVATE_01 0)
    message(STATUS "palitra: not using Qt's private headers; without a QCoreApplication "
                   "run() throws palitra::Error")
endif()
