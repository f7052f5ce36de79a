// SPDX-License-Identifier: MIT
#pragma once

#include <QLoggingCategory>

namespace palitra::detail {
// "palitra": lifecycle at debug level (off by default), abandoned coroutines and misuse at
// warning level. Enable the debug output with QT_LOGGING_RULES="palitra.debug=true".
Q_DECLARE_LOGGING_CATEGORY(lcPalitra)
} // namespace palitra::detail
