// SPDX-License-Identifier: MIT
// Not public API: palitra::detail may change in any release.
#pragma once

#include <palitra/palitra_export.h>

#include <coroutine>

namespace palitra::detail {

//! A suspended coroutine handle that, when resumed, calls \a onResume(\a context) and then
//! frees itself; destroy() it if it is not needed. Frames are recycled per thread, so making
//! one costs no malloc in the steady state. Defined in the library: a coroutine written in a
//! header would have its frame type instantiated in the user's translation unit, and GCC warns
//! (-Wsubobject-linkage, on by default) when that frame holds user types from an anonymous
//! namespace.
PALITRA_EXPORT std::coroutine_handle<> makeResumer(void (*onResume)(void *), void *context);

} // namespace palitra::detail
