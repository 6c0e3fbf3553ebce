// Errors thrown or rejected by the addon. Argument errors are TypeError / RangeError; other
// failures are Errors with a `code` that lib/ turns into AttentionError.
#pragma once

#include <napi.h>

#include <string>

#include "kernels/common.h"

namespace sa::addon {

[[noreturn]] void throwTypeError(Napi::Env env, const std::string& message);
[[noreturn]] void throwRangeError(Napi::Env env, const std::string& message);
[[noreturn]] void throwCoded(Napi::Env env, const char* code, const std::string& message);

// The JS error for a KernelError raised on a worker thread.
Napi::Error kernelErrorValue(Napi::Env env, ErrorCode code, const std::string& message);

}  // namespace sa::addon
