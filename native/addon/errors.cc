#include "addon/errors.h"

namespace sa::addon {

namespace {

const char* codeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::OutOfMemory: return "OUT_OF_MEMORY";
    case ErrorCode::CudaError: return "CUDA_ERROR";
    case ErrorCode::NoDevice: return "NO_DEVICE";
    case ErrorCode::Aborted: return "ABORTED";
    case ErrorCode::InvalidArgument:
    case ErrorCode::Internal: break;
  }
  return "INVALID_ARGUMENT";
}

}  // namespace

void throwTypeError(Napi::Env env, const std::string& message) { throw Napi::TypeError::New(env, message); }

void throwRangeError(Napi::Env env, const std::string& message) { throw Napi::RangeError::New(env, message); }

void throwCoded(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  throw error;
}

Napi::Error kernelErrorValue(Napi::Env env, ErrorCode code, const std::string& message) {
  if (code == ErrorCode::InvalidArgument) return Napi::RangeError::New(env, message);
  if (code == ErrorCode::Internal) return Napi::Error::New(env, message);
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, codeName(code)));
  return error;
}

}  // namespace sa::addon
