// axialPositionEncoding(w0, w1, positionIds | null, out, { layout }, cancel)
#include "addon/errors.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/axial.h"

namespace sa::addon {

Napi::Value axialPositionEncoding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "axialPositionEncoding";
  TensorArg w0 = tensorArg(info[0], op, "weights[0]"), w1 = tensorArg(info[1], op, "weights[1]");
  TensorArg ids = optionalTensorArg(info[2], op, "positionIds");
  TensorArg out = tensorArg(info[3], op, "out");
  if (w0.rank() != 2 || w1.rank() != 2 || !w0.isFloat() || w1.dtype != w0.dtype)
    throwRangeError(env, "axialPositionEncoding: weights must be two 2-d float tensors of one dtype");
  if (out.rank() != 3 || out.dtype != w0.dtype) throwRangeError(env, "axialPositionEncoding: out must be [B, L, d0 + d1]");
  AxialShape s{out.dim(0), out.dim(1), w0.dim(0), w0.dim(1), w1.dim(0), w1.dim(1), dtypeSize(w0.dtype), AxialLayout::Reformer};
  requireShape(env, out, {s.B, s.L, s.d0 + s.d1}, op, "out");
  if (ids.data) {
    requireShape(env, ids, {s.B, s.L}, op, "positionIds");
    if (ids.dtype != DType::Int32) throwTypeError(env, "axialPositionEncoding: positionIds must be int32");
    requireDevice(env, ids, w0.device, op, "positionIds");
  } else if (s.B != 1 || int64_t(s.L) > int64_t(s.n0) * s.n1) {
    throwRangeError(env, "axialPositionEncoding: without positionIds, B must be 1 and L <= n0 * n1");
  }
  requireDevice(env, w1, w0.device, op, "weights[1]");
  requireDevice(env, out, w0.device, op, "out");
  Napi::Object opts = info[4].IsObject() ? info[4].As<Napi::Object>() : Napi::Object::New(env);
  if (opts.Get("layout").IsString() && opts.Get("layout").As<Napi::String>().Utf8Value() == "seed")
    s.layout = AxialLayout::Seed;
  const int32_t* positionIds = static_cast<const int32_t*>(ids.data);

  return scheduleOp(env, op, w0.device, {info[0], info[1], info[2], info[3]}, info[5], [=](const ExecContext& ctx) {
    if (ctx.device < 0) return axialPositionEncodingCpu(ctx.cpu, s, w0.data, w1.data, positionIds, out.data);
#ifdef SA_WITH_CUDA
    cuda::Block flag = cuda::allocate(ctx.device, sizeof(int32_t));
    int32_t found = 0;
    cuda::copyAsync(flag.get(), &found, sizeof(found), cuda::CopyKind::HostToDevice, ctx.stream);
    axialPositionEncodingCuda(ctx.stream, s, w0.data, w1.data, positionIds, out.data, static_cast<int32_t*>(flag.get()));
    cuda::copyAsync(&found, flag.get(), sizeof(found), cuda::CopyKind::DeviceToHost, ctx.stream);
    cuda::synchronize(ctx.stream, "axialPositionEncoding");
    if (found) throw KernelError(ErrorCode::InvalidArgument, "positionIds: a position id is outside [0, n0 * n1)");
#endif
  });
}

}  // namespace sa::addon
