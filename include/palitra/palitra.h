// SPDX-License-Identifier: MIT
// palitra: block on QCoro coroutines from synchronous Qt code without re-entering its event loop.
#pragma once

#include <palitra/call_context.h>
#include <palitra/errors.h>
#include <palitra/global.h>
#include <palitra/loop_local.h>
#include <palitra/outcome.h>
#include <palitra/runner.h>
#include <palitra/stop.h>
#include <palitra/version.h>
