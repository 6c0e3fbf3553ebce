// The addon's per-environment state (instance_data.h), set by the module entry.
#include "addon/instance_data.h"

namespace sa::addon {

InstanceData& instanceData(Napi::Env env) { return *env.GetInstanceData<InstanceData>(); }

}  // namespace sa::addon
