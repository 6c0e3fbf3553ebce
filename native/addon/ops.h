// The functions the addon exports; each lives in its own op_*.cc file.
#pragma once

#include <napi.h>

namespace sa::addon {

Napi::Value backendInfo(const Napi::CallbackInfo& info);
Napi::Value memoryStats(const Napi::CallbackInfo& info);
Napi::Value emptyCache(const Napi::CallbackInfo& info);
Napi::Value copyTensor(const Napi::CallbackInfo& info);
Napi::Value axialPositionEncoding(const Napi::CallbackInfo& info);
Napi::Value denseAttention(const Napi::CallbackInfo& info);
Napi::Value localAttention(const Napi::CallbackInfo& info);
Napi::Value lshHash(const Napi::CallbackInfo& info);
Napi::Value sortByBucket(const Napi::CallbackInfo& info);
Napi::Value lshAttention(const Napi::CallbackInfo& info);
Napi::Value reformerLocalAttention(const Napi::CallbackInfo& info);
Napi::Value copyBlocks(const Napi::CallbackInfo& info);
Napi::Value linear(const Napi::CallbackInfo& info);
Napi::Value layerNorm(const Napi::CallbackInfo& info);
Napi::Value activation(const Napi::CallbackInfo& info);
Napi::Value add(const Napi::CallbackInfo& info);
Napi::Value embedding(const Napi::CallbackInfo& info);

}  // namespace sa::addon
