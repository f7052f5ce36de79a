// SPDX-License-Identifier: MIT
// palitra's test support library: every helper the suites share, once, in namespace
// palitra::test. Include this header; the concept headers beside it can be included alone.
#pragma once

#include "calls.h"
#include "counted.h"
#include "environment.h"
#include "messagelog.h"
#include "objects.h"
#include "threads.h"
#include "watchdog.h"
