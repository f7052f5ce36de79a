# SPDX-License-Identifier: MIT
# cmake -DCXX=<compiler> -DSOURCE=<file.cpp> -DINCLUDES=<a|b> -DDEFINES=<a|b> -DOWN_DIRS=<a|b>
#       -DIMPLICIT_DIRS=<a|b> -DEXPECT=<text> [-DMAX_ERRORS=<n>] [-DCHECK_FIXED=OFF]
#       -P expect_compile_error.cmake
#
# With EXPECT empty, SOURCE must compile (warnings as errors). Otherwise SOURCE must fail to
# compile, the FIRST error the compiler prints must be a static_assert carrying EXPECT (a user
# reads the first error; a sentence buried under template errors helps nobody), and SOURCE
# compiled with -DPALITRA_EXPECT_OK (the bad line replaced by the right one) must compile
# cleanly (CHECK_FIXED=OFF skips that, for a second compiler: the fix is the same C++ for
# both, and ok_control.cpp shows each compiler accepts the valid forms). The number of error
# lines is reported; with MAX_ERRORS it may not exceed that, so
# that cascades after the sentence cannot creep back.
cmake_minimum_required(VERSION 3.21)

foreach(var CXX SOURCE INCLUDES)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "expect_compile_error.cmake: -D${var}=... is required")
    endif()
endforeach()

string(REPLACE "|" ";" include_list "${INCLUDES}")
string(REPLACE "|" ";" define_list "${DEFINES}")
string(REPLACE "|" ";" own_list "${OWN_DIRS}")
string(REPLACE "|" ";" implicit_list "${IMPLICIT_DIRS}")

# palitra's own headers get -I (their warnings count); Qt's and QCoro's get -isystem, as in a
# normal CMake build of a consumer.
set(flags -std=c++20 -fsyntax-only -fPIC -Wall -Wextra -Wpedantic -Werror)
foreach(dir IN LISTS include_list)
    if(dir STREQUAL "" OR dir IN_LIST implicit_list)
        continue()
    endif()
    set(own FALSE)
    foreach(prefix IN LISTS own_list)
        string(FIND "${dir}" "${prefix}" where)
        if(NOT prefix STREQUAL "" AND where EQUAL 0)
            set(own TRUE)
        endif()
    endforeach()
    if(own)
        list(APPEND flags "-I${dir}")
    else()
        list(APPEND flags -isystem "${dir}")
    endif()
endforeach()
foreach(def IN LISTS define_list)
    if(NOT def STREQUAL "")
        list(APPEND flags "-D${def}")
    endif()
endforeach()

function(compile out_rc out_text)
    execute_process(COMMAND "${CXX}" ${flags} ${ARGN} "${SOURCE}"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    set(${out_rc} "${rc}" PARENT_SCOPE)
    set(${out_text} "${out}${err}" PARENT_SCOPE)
endfunction()

get_filename_component(name "${SOURCE}" NAME)

if("${EXPECT}" STREQUAL "")
    compile(rc text)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${name} must compile, but the compiler said:\n${text}")
    endif()
    message(STATUS "${name} compiles, as it must")
    return()
endif()

if(NOT DEFINED CHECK_FIXED OR CHECK_FIXED)
    compile(rc text -DPALITRA_EXPECT_OK)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${name} with its bad line fixed (-DPALITRA_EXPECT_OK) must "
                            "compile, but the compiler said:\n${text}")
    endif()
endif()

compile(rc text)
if(rc EQUAL 0)
    message(FATAL_ERROR "${name} compiled, but palitra must reject it at compile time")
endif()
# Lines such as "file:12:3: error: ..." or "file:1:10: fatal error: ..." (GCC and Clang alike).
string(REGEX MATCH "[^\n]*: (fatal )?error: [^\n]*" first_error "${text}")
string(REGEX MATCHALL ": (fatal )?error: " error_hits "${text}")
list(LENGTH error_hits error_count)
string(FIND "${first_error}" "${EXPECT}" at)
if(at EQUAL -1)
    message(FATAL_ERROR "${name} failed to compile, but its first error is not the expected "
                        "sentence\n  \"${EXPECT}\"\nFirst error:\n  ${first_error}\n"
                        "The compiler said:\n${text}")
endif()
# GCC says "static assertion failed", Clang 14 "static_assert failed".
if(NOT first_error MATCHES "static assertion failed|static_assert failed")
    message(FATAL_ERROR "${name}: the sentence was found, but not in a static_assert "
                        "diagnostic:\n  ${first_error}")
endif()
if(DEFINED MAX_ERRORS AND NOT "${MAX_ERRORS}" STREQUAL "" AND error_count GREATER MAX_ERRORS)
    message(FATAL_ERROR "${name}: the sentence comes first, but the compiler printed "
                        "${error_count} error lines where at most ${MAX_ERRORS} are expected: "
                        "something after the failed check is instantiated again. The compiler "
                        "said:\n${text}")
endif()
message(STATUS "${name} is rejected first with: ...${EXPECT}... (${error_count} error lines)")
