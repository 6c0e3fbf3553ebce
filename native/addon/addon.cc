// Module entry: registers the classes and functions of the binding (see binding.d.ts).
#include <napi.h>

#include "addon/cancel_token.h"
#include "addon/device_buffer.h"
#include "addon/device_timing.h"
#include "addon/instance_data.h"
#include "addon/ops.h"
#include "cpu/cpu_kernels.h"

namespace sa::addon {

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  // The CPU kernels' instruction set is chosen here, so that a SPARSE_ATTENTION_CPU the CPU
  // cannot honour fails the load (a JS error with the reason) rather than the first op.
  cpuKernels();
  env.SetInstanceData(new InstanceData());
  DeviceBuffer::define(env, exports);
  CancelToken::define(env, exports);
  exports.Set("backendInfo", Napi::Function::New<backendInfo>(env, "backendInfo"));
  exports.Set("memoryStats", Napi::Function::New<memoryStats>(env, "memoryStats"));
  exports.Set("emptyCache", Napi::Function::New<emptyCache>(env, "emptyCache"));
  exports.Set("copyTensor", Napi::Function::New<copyTensor>(env, "copyTensor"));
  exports.Set("axialPositionEncoding", Napi::Function::New<axialPositionEncoding>(env, "axialPositionEncoding"));
  exports.Set("denseAttention", Napi::Function::New<denseAttention>(env, "denseAttention"));
  exports.Set("localAttention", Napi::Function::New<localAttention>(env, "localAttention"));
  exports.Set("lshHash", Napi::Function::New<lshHash>(env, "lshHash"));
  exports.Set("sortByBucket", Napi::Function::New<sortByBucket>(env, "sortByBucket"));
  exports.Set("lshAttention", Napi::Function::New<lshAttention>(env, "lshAttention"));
  exports.Set("reformerLocalAttention", Napi::Function::New<reformerLocalAttention>(env, "reformerLocalAttention"));
  exports.Set("copyBlocks", Napi::Function::New<copyBlocks>(env, "copyBlocks"));
  exports.Set("linear", Napi::Function::New<linear>(env, "linear"));
  exports.Set("layerNorm", Napi::Function::New<layerNorm>(env, "layerNorm"));
  exports.Set("activation", Napi::Function::New<activation>(env, "activation"));
  exports.Set("add", Napi::Function::New<add>(env, "add"));
  exports.Set("embedding", Napi::Function::New<embedding>(env, "embedding"));
  exports.Set("takeDeviceTimings", Napi::Function::New<takeDeviceTimings>(env, "takeDeviceTimings"));
  return exports;
}

}  // namespace

}  // namespace sa::addon

static Napi::Object initModule(Napi::Env env, Napi::Object exports) { return sa::addon::init(env, exports); }

NODE_API_MODULE(sparse_attention, initModule)
