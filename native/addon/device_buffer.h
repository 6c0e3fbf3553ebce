// A block of device memory owned by a JS object. The memory returns to the pool on release()
// or when the object is collected; ops in flight hold their own reference to the block.
#pragma once

#include <napi.h>

#include "kernels/cuda_device.h"

namespace sa::addon {

class DeviceBuffer : public Napi::ObjectWrap<DeviceBuffer> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x5a1c'a9ce'11ed'0002ULL, 0x9b3f'27d4'6e58'c202ULL};
  static void define(Napi::Env env, Napi::Object exports);
  explicit DeviceBuffer(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;

  const cuda::Block& block() const { return block_; }
  int device() const { return device_; }
  size_t bytes() const { return bytes_; }

 private:
  static Napi::Value allocate(const Napi::CallbackInfo& info);
  Napi::Value release(const Napi::CallbackInfo& info);
  void drop(Napi::Env env);

  cuda::Block block_;
  int device_ = -1;
  size_t bytes_ = 0;
};

}  // namespace sa::addon
