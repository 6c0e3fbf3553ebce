// Module entry of the testing addon (see hooks.h; its types: test/helpers/testing_addon.ts).
#include <napi.h>

#include "addon/errors.h"
#include "addon/instance_data.h"
#include "kernels/byte_count.h"
#include "hooks.h"

namespace sa::addon {

namespace {

// _parseByteCount(text) -> bytes, or null when `text` is not a byte count (the parser of
// SPARSE_ATTENTION_CUDA_MEMORY_LIMIT and SPARSE_ATTENTION_EMU_MEMORY).
Napi::Value parseByteCountHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throwTypeError(env, "_parseByteCount: text must be a string");
  uint64_t bytes = 0;
  if (!parseByteCount(info[0].As<Napi::String>().Utf8Value().c_str(), &bytes)) return env.Null();
  return Napi::Number::New(env, double(bytes));
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new InstanceData());
  exports.Set("_poolSimulation", Napi::Function::New<poolSimulation>(env, "_poolSimulation"));
  exports.Set("_opRunnerSimulation", Napi::Function::New<opRunnerSimulation>(env, "_opRunnerSimulation"));
  exports.Set("_internalFailure", Napi::Function::New<internalFailure>(env, "_internalFailure"));
  exports.Set("_parseByteCount", Napi::Function::New<parseByteCountHook>(env, "_parseByteCount"));
  return exports;
}

}  // namespace

}  // namespace sa::addon

static Napi::Object initModule(Napi::Env env, Napi::Object exports) { return sa::addon::init(env, exports); }

NODE_API_MODULE(sparse_attention_testing, initModule)
