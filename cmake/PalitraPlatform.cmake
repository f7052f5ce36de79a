# SPDX-License-Identifier: MIT
# Which platforms palitra supports. Linux is the one it is built and tested on (Debian bookworm,
# g++ 12 and clang 14). Other Unix-like systems should build (no futex dispatcher there: the loop
# thread uses Qt's own poll()-based dispatcher) but nobody tests them. Windows is not supported:
# palitra relies on POSIX threads (pthread_atfork for fork() safety).
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    message(STATUS "palitra: building for Linux (the supported platform)")
elseif(WIN32)
    message(FATAL_ERROR
        "palitra: Windows is not supported. palitra needs POSIX threads (pthread_atfork); it is "
        "built and tested on Linux.")
elseif(UNIX)
    message(WARNING
        "palitra: ${CMAKE_SYSTEM_NAME} is not a supported platform. palitra is built and tested on "
        "Linux only; on other Unix-like systems it should build (without the futex-sleeping loop "
        "dispatcher) but is untested. Please report what you find.")
else()
    message(FATAL_ERROR "palitra: ${CMAKE_SYSTEM_NAME} is not supported (Linux is).")
endif()
