# SPDX-License-Identifier: MIT
# Warnings and Qt hygiene for palitra's own targets (never forced on consumers). -Werror only in
# PALITRA_DEVELOPER_MODE.
function(palitra_set_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(PALITRA_DEVELOPER_MODE)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
    target_compile_definitions(${target} PRIVATE
        QT_NO_CAST_FROM_ASCII QT_NO_CAST_TO_ASCII QT_NO_KEYWORDS QT_NO_FOREACH
        QT_NO_URL_CAST_FROM_STRING QT_NO_NARROWING_CONVERSIONS_IN_CONNECT)
endfunction()
