// backendInfo, memoryStats, emptyCache: what the process has compiled in (the CUDA devices, the
// CPU kernel levels compiled in, supported here and chosen) and what it holds.
#include "addon/errors.h"
#include "addon/ops.h"
#include "cpu/cpu_kernels.h"
#include "kernels/cuda_device.h"

namespace sa::addon {

namespace {

Napi::Array stringArray(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array array = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) array.Set(uint32_t(i), items[i]);
  return array;
}

}  // namespace

Napi::Value backendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  Napi::Array devices = Napi::Array::New(env);
#ifdef SA_WITH_CUDA
  result.Set("compiledWithCuda", true);
  result.Set("cudaRuntimeVersion", cuda::runtimeVersion());
  for (int d = 0; d < cuda::deviceCount(); ++d) {
    cuda::DeviceInfo di = cuda::deviceInfo(d);
    Napi::Object device = Napi::Object::New(env);
    device.Set("index", d);
    device.Set("name", di.name);
    device.Set("totalMemory", double(di.totalMemory));
    devices.Set(uint32_t(d), device);
  }
#else
  result.Set("compiledWithCuda", false);
#endif
  result.Set("devices", devices);
  result.Set("cpuKernels", cpuKernels().level);
  const CpuLevels levels = cpuLevels();
  Napi::Object cpuLevelsObject = Napi::Object::New(env);
  cpuLevelsObject.Set("compiled", stringArray(env, levels.compiled));
  cpuLevelsObject.Set("supported", stringArray(env, levels.supported));
  result.Set("cpuKernelLevels", cpuLevelsObject);
  return result;
}


Napi::Value memoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double live = 0, cached = 0;
#ifdef SA_WITH_CUDA
  for (int d = 0; d < cuda::deviceCount(); ++d) {
    PoolStats s = cuda::poolStats(d);
    live += double(s.liveBytes);
    cached += double(s.cachedBytes);
  }
#endif
  Napi::Object result = Napi::Object::New(env);
  result.Set("cudaLiveBytes", live);
  result.Set("cudaCachedBytes", cached);
  return result;
}

Napi::Value emptyCache(const Napi::CallbackInfo& info) {
#ifdef SA_WITH_CUDA
  for (int d = 0; d < cuda::deviceCount(); ++d) cuda::emptyCache(d);
#endif
  return info.Env().Undefined();
}

}  // namespace sa::addon
