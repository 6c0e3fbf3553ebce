// Per-environment state of the addon (worker threads each load their own copy).
#pragma once

#include <napi.h>

namespace sa::addon {

struct InstanceData {
  Napi::FunctionReference deviceBufferCtor;
};

InstanceData& instanceData(Napi::Env env);

}  // namespace sa::addon
