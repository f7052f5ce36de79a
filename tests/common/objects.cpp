// SPDX-License-Identifier: MIT
// The test support library's one translation unit: moc's code for objects.h is compiled here,
// once, instead of in every test that includes it.
#include "objects.h"
