// copyTensor(src, dst, cancel): moves bytes between host and device (or device and device).
// copyBlocks(src, dst, { blocks, length, srcOffset, srcStride, dstOffset, dstStride }, cancel):
//   strided copies between two tensors of one device and dtype (kernels/copy_blocks.h).
#include <cstring>
#include <limits>

#include "addon/errors.h"
#include "addon/op_options.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/copy_blocks.h"

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

Napi::Value copyBlocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "copyBlocks";
  TensorArg src = tensorArg(info[0], op, "src"), dst = tensorArg(info[1], op, "dst");
  if (src.dtype != dst.dtype) throwTypeError(env, "copyBlocks: src and dst must share a dtype");
  requireDevice(env, dst, src.device, op, "dst");
  requireNoOverlap(env, dst, {&src}, op);
  Napi::Object opts = requireOptions(info[2], op);
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  const BlockCopy c{integerOption(opts, "blocks", op, 0, kMax),    integerOption(opts, "length", op, 0, kMax),
                    integerOption(opts, "srcOffset", op, 0, kMax), integerOption(opts, "srcStride", op, 0, kMax),
                    integerOption(opts, "dstOffset", op, 0, kMax), integerOption(opts, "dstStride", op, 0, kMax),
                    dtypeSize(src.dtype)};
  if (blockCopySrcEnd(c) > src.numel || blockCopyDstEnd(c) > dst.numel)
    throwRangeError(env, "copyBlocks: the blocks reach outside src or dst");

  return scheduleOp(env, op, src.device, {src.owner, dst.owner}, info[3], [=](const ExecContext& ctx) {
    if (ctx.device < 0) return copyBlocksCpu(ctx.cpu, c, src.data, dst.data);
#ifdef SA_WITH_CUDA
    copyBlocksCuda(ctx.stream, c, src.data, dst.data);
#endif
  });
}

}  // namespace sa::addon
