// linear(x, weight, bias | null, out, cancel)
#include "addon/errors.h"
#include "addon/host_float.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/linear.h"

namespace sa::addon {

Napi::Value linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "linear";
  TensorArg x = tensorArg(info[0], op, "x"), w = tensorArg(info[1], op, "weight");
  TensorArg bias = optionalTensorArg(info[2], op, "bias"), out = tensorArg(info[3], op, "out");
  if (x.rank() < 1 || !x.isFloat()) throwRangeError(env, "linear: x must be a float tensor of rank >= 1");
  if (w.rank() != 2) throwRangeError(env, "linear: weight must be [out, in]");
  const int features = w.dim(0), in = w.dim(1);
  if (x.dim(x.rank() - 1) != in) throwRangeError(env, "linear: x.shape[-1] must equal weight.shape[1]");
  std::vector<int64_t> outShape(x.shape.begin(), x.shape.end());
  outShape.back() = features;
  requireShape(env, out, outShape, op, "out");
  if (bias.present) requireShape(env, bias, std::vector<int64_t>{features}, op, "bias");
  for (const TensorArg* t : {&w, &bias, &out}) {
    if (!t->present) continue;
    requireDevice(env, *t, x.device, op, "weight/bias/out");
    if (t->dtype != x.dtype) throwTypeError(env, "linear: x, weight, bias and out must share a dtype");
  }
  requireNoOverlap(env, out, {&x, &w, &bias}, op);
  int64_t rows = 1;
  for (int i = 0; i + 1 < x.rank(); ++i) rows *= x.dim(i);
  // out holds rows * features elements, which fits int32 whenever there is anything to compute.
  const LinearShape s{out.numel == 0 ? 0 : int(rows), in, features};

  return scheduleOp(env, op, x.device, {x.owner, w.owner, bias.owner, out.owner}, info[4], [=](const ExecContext& ctx) {
    if (out.numel == 0) return;
    if (ctx.device < 0) {
      HostFloatIn xf(x), wf(w), bf(bias);
      HostFloatOut yf(out);
      linearCpu(ctx.cpu, s, xf.get(), wf.get(), bias.present ? bf.get() : nullptr, yf.get());
      yf.commit();
      return;
    }
#ifdef SA_WITH_CUDA
    linearCuda(ctx.stream, s, x.dtype, x.data, w.data, bias.present ? bias.data : nullptr, out.data);
#endif
  });
}

}  // namespace sa::addon
