// axialPositionEncoding(w0, w1, positionIds | null, out, { layout }, cancel)
#include <memory>

#include "addon/errors.h"
#include "addon/op_options.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/axial.h"

namespace sa::addon {

namespace {

AxialLayout layoutOption(Napi::Env env, const Napi::Value& value, const char* op) {
  const std::string layout = stringOption(requireOptions(value, op), "layout", op);
  if (layout == "reformer") return AxialLayout::Reformer;
  if (layout == "seed") return AxialLayout::Seed;
  throwTypeError(env, "axialPositionEncoding: opts.layout must be 'reformer' or 'seed'");
}

}  // namespace

Napi::Value axialPositionEncoding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "axialPositionEncoding";
  TensorArg w0 = tensorArg(info[0], op, "weights[0]"), w1 = tensorArg(info[1], op, "weights[1]");
  TensorArg ids = optionalTensorArg(info[2], op, "positionIds");
  TensorArg out = tensorArg(info[3], op, "out");
  if (w0.rank() != 2 || w1.rank() != 2 || !w0.isFloat() || w1.dtype != w0.dtype)
    throwRangeError(env, "axialPositionEncoding: weights must be two 2-d float tensors of one dtype");
  if (out.rank() != 3 || out.dtype != w0.dtype) throwRangeError(env, "axialPositionEncoding: out must be [B, L, d0 + d1]");
  AxialShape s{out.dim(0), out.dim(1), w0.dim(0), w0.dim(1), w1.dim(0), w1.dim(1), dtypeSize(w0.dtype),
               layoutOption(env, info[4], op)};
  requireShape(env, out, {s.B, s.L, int64_t(s.d0) + s.d1}, op, "out");
  if (ids.present) {
    requireShape(env, ids, {s.B, s.L}, op, "positionIds");
    if (ids.dtype != DType::Int32) throwTypeError(env, "axialPositionEncoding: positionIds must be int32");
    requireDevice(env, ids, w0.device, op, "positionIds");
  } else if (s.B != 1 || int64_t(s.L) > int64_t(s.n0) * s.n1) {
    throwRangeError(env, "axialPositionEncoding: without positionIds, B must be 1 and L <= n0 * n1");
  }
  requireDevice(env, w1, w0.device, op, "weights[1]");
  requireDevice(env, out, w0.device, op, "out");
  requireNoOverlap(env, out, {&w0, &w1, &ids}, op);
  const int32_t* positionIds = ids.present ? static_cast<const int32_t*>(ids.data) : nullptr;

  return scheduleOp(env, op, w0.device, {w0.owner, w1.owner, ids.owner, out.owner}, info[5], [=](const ExecContext& ctx) {
    if (int64_t(s.B) * s.L == 0) return;
    if (ctx.device < 0) return axialPositionEncodingCpu(ctx.cpu, s, w0.data, w1.data, positionIds, out.data);
#ifdef SA_WITH_CUDA
    auto* flag = static_cast<int32_t*>(deviceScratch(ctx, sizeof(int32_t)));
    // Host side of the flag: owned by the check, which the runner keeps past its synchronisation.
    auto found = std::make_shared<int32_t>(0);
    cuda::copyAsync(flag, found.get(), sizeof(int32_t), cuda::CopyKind::HostToDevice, ctx.stream);
    *ctx.afterSync = [found] {
      if (*found) throw KernelError(ErrorCode::InvalidArgument, "positionIds: a position id is outside [0, n0 * n1)");
    };
    axialPositionEncodingCuda(ctx.stream, s, w0.data, w1.data, positionIds, out.data, flag);
    cuda::copyAsync(found.get(), flag, sizeof(int32_t), cuda::CopyKind::DeviceToHost, ctx.stream);
#endif
  });
}

}  // namespace sa::addon
