// SPDX-License-Identifier: MIT
#pragma once

#include <palitra/palitra_export.h>

#include <stdexcept>
#include <string>

namespace palitra {

//! Base of every error palitra itself raises. Catch it to handle all of them at once.
/*!
 * Errors thrown by your coroutines are never wrapped: they reach the caller with their own
 * dynamic type. Only failures of the bridge itself are a palitra::Error.
 */
class PALITRA_EXPORT Error : public std::runtime_error {
public:
    //! Constructs the error with a message a person can act on.
    explicit Error(const std::string &message);
    ~Error() override;
};

//! The caller's deadline passed before the coroutine finished.
/*!
 * The coroutine has been asked to stop (see palitra::currentStopToken()); its late result or
 * exception is dropped. The callable and its captures live on until the coroutine ends.
 */
class PALITRA_EXPORT TimeoutError : public Error {
public:
    //! Constructs the error with a message a person can act on.
    explicit TimeoutError(const std::string &message);
    ~TimeoutError() override;
};

//! The runner was closed (or its loop thread ended) before the call could finish.
class PALITRA_EXPORT RunnerClosedError : public Error {
public:
    //! Constructs the error with a message a person can act on.
    explicit RunnerClosedError(const std::string &message);
    ~RunnerClosedError() override;
};

//! run()/gather() was called where waiting would hang forever: on the runner's own loop thread,
//! or on a loop thread that would close a cycle of loops blocked in each other's runners.
/*!
 * The callable was not invoked and every runner stays usable. Inside a coroutine on a loop
 * thread, `co_await` the work instead of blocking on it.
 */
class PALITRA_EXPORT DeadlockError : public Error {
public:
    //! Constructs the error with a message a person can act on.
    explicit DeadlockError(const std::string &message);
    ~DeadlockError() override;
};

} // namespace palitra
