// SPDX-License-Identifier: MIT
#include <palitra/errors.h>

namespace palitra {

Error::Error(const std::string &message) : std::runtime_error(message) {}
Error::~Error() = default;
TimeoutError::TimeoutError(const std::string &message) : Error(message) {}
TimeoutError::~TimeoutError() = default;
RunnerClosedError::RunnerClosedError(const std::string &message) : Error(message) {}
RunnerClosedError::~RunnerClosedError() = default;
DeadlockError::DeadlockError(const std::string &message) : Error(message) {}
DeadlockError::~DeadlockError() = default;

} // namespace palitra
