// copyTensor(src, dst, cancel): moves bytes between host and device (or device and device).
#include <cstring>

#include "addon/errors.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"

namespace sa::addon {

Napi::Value copyTensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TensorArg src = tensorArg(info[0], "copy", "src"), dst = tensorArg(info[1], "copy", "dst");
  if (src.bytes() != dst.bytes() || src.dtype != dst.dtype) throwRangeError(env, "copy: src and dst differ in size");
  requireNoOverlap(env, dst, {&src}, "copy");
  const int device = dst.device >= 0 ? dst.device : src.device;
  return scheduleOp(env, "copy", device, {src.owner, dst.owner}, info[2], [src, dst](const ExecContext& ctx) {
    if (src.bytes() == 0) return;
    if (ctx.device < 0) {
      std::memcpy(dst.data, src.data, src.bytes());
      return;
    }
#ifdef SA_WITH_CUDA
    const cuda::CopyKind kind = src.device < 0   ? cuda::CopyKind::HostToDevice
                                : dst.device < 0 ? cuda::CopyKind::DeviceToHost
                                                 : cuda::CopyKind::DeviceToDevice;
    cuda::copyAsync(dst.data, src.data, src.bytes(), kind, ctx.stream);
#endif
  });
}

}  // namespace sa::addon
