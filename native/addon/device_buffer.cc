#include "addon/device_buffer.h"

#include "addon/errors.h"
#include "addon/instance_data.h"
#include "addon/type_tag.h"

namespace sa::addon {

void DeviceBuffer::define(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "DeviceBuffer",
                                    {InstanceMethod<&DeviceBuffer::release>("release"),
                                     StaticMethod<&DeviceBuffer::allocate>("allocate")});
  instanceData(env).deviceBufferCtor = Napi::Persistent(ctor);
  exports.Set("DeviceBuffer", ctor);
}

// DeviceBuffer.allocate(device, bytes) makes the buffers lib/ uses; `new DeviceBuffer()` from JS
// gives an empty one, which the glue treats like a released buffer.
DeviceBuffer::DeviceBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceBuffer>(info) {
  tagInstance<DeviceBuffer>(info);
}

Napi::Value DeviceBuffer::allocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
    throwTypeError(env, "DeviceBuffer.allocate(device, bytes): expected two numbers");
  const double ordinal = info[0].As<Napi::Number>().DoubleValue();
  const double bytes = info[1].As<Napi::Number>().DoubleValue();
  if (!(ordinal >= 0 && ordinal <= 1023) || ordinal != double(int(ordinal)))
    throwRangeError(env, "DeviceBuffer.allocate: bad device ordinal");
  if (!(bytes >= 0) || bytes > 9.0e15 || bytes != double(int64_t(bytes)))
    throwRangeError(env, "DeviceBuffer.allocate: bad byte count");
  const int device = int(ordinal);
#ifdef SA_WITH_CUDA
  if (device < 0 || device >= cuda::deviceCount())
    throwCoded(env, "NO_DEVICE", "no CUDA device cuda:" + std::to_string(device) + " (found " +
                                     std::to_string(cuda::deviceCount()) + ")");
  cuda::Block block;
  try {
    block = cuda::allocate(device, size_t(bytes));
  } catch (const KernelError& e) {
    throw kernelErrorValue(env, e.code(), e.what());
  }
  Napi::Object object = instanceData(env).deviceBufferCtor.New({});
  DeviceBuffer* self = Unwrap(object);
  self->block_ = std::move(block);
  self->device_ = device;
  self->bytes_ = size_t(bytes);
  Napi::MemoryManagement::AdjustExternalMemory(env, int64_t(self->bytes_));
  return object;
#else
  (void)device;
  throwCoded(env, "NO_DEVICE", "this build of sparse-attention has no CUDA support (no CUDA compiler at install)");
#endif
}

void DeviceBuffer::drop(Napi::Env env) {
  if (!block_) return;
  block_.reset();
  Napi::MemoryManagement::AdjustExternalMemory(env, -int64_t(bytes_));
}

Napi::Value DeviceBuffer::release(const Napi::CallbackInfo& info) {
  drop(info.Env());
  return info.Env().Undefined();
}

void DeviceBuffer::Finalize(Napi::Env env) { drop(env); }

}  // namespace sa::addon
