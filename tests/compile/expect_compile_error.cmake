# SPDX-License-Identifier: MIT
# cmake -DCXX=<compiler> -DSOURCE=<file.cpp> -DINCLUDES=<a|b> -DDEFINES=<a|b> -DOWN_DIRS=<a|b>
#       -DIMPLICIT_DIRS=<a|b> -DEXPECT=<text> -P expect_compile_error.cmake
#
# With EXPECT empty, SOURCE must compile (warnings as errors). Otherwise SOURCE must fail to
# compile with a diagnostic containing EXPECT, and SOURCE compiled with -DPALITRA_EXPECT_OK (the
# bad line replaced by the right one) must compile cleanly.
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

compile(rc text -DPALITRA_EXPECT_OK)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name} with its bad line fixed (-DPALITRA_EXPECT_OK) must compile, "
                        "but the compiler said:\n${text}")
endif()

compile(rc text)
if(rc EQUAL 0)
    message(FATAL_ERROR "${name} compiled, but palitra must reject it at compile time")
endif()
string(FIND "${text}" "${EXPECT}" at)
if(at EQUAL -1)
    message(FATAL_ERROR "${name} failed to compile, but without the expected sentence\n"
                        "  \"${EXPECT}\"\nThe compiler said:\n${text}")
endif()
string(FIND "${text}" "static assertion failed" at)
if(at EQUAL -1)
    message(FATAL_ERROR "${name}: the sentence was found, but not in a static_assert "
                        "diagnostic:\n${text}")
endif()
message(STATUS "${name} is rejected with: ...${EXPECT}...")
