// layerNorm(x, weight, bias, out, { eps }, cancel)

#include "addon/errors.h"
#include "addon/host_float.h"
#include "addon/op_options.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/layer_norm.h"

namespace sa::addon {

Napi::Value layerNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "layerNorm";
  TensorArg x = tensorArg(info[0], op, "x"), weight = tensorArg(info[1], op, "weight");
  TensorArg bias = tensorArg(info[2], op, "bias"), out = tensorArg(info[3], op, "out");
  if (x.rank() < 1 || !x.isFloat()) throwRangeError(env, "layerNorm: x must be a float tensor of rank >= 1");
  const int width = x.dim(x.rank() - 1);
  requireShape(env, weight, std::vector<int64_t>{width}, op, "weight");
  requireShape(env, bias, std::vector<int64_t>{width}, op, "bias");
  requireShape(env, out, x.shape, op, "out");
  for (const TensorArg* t : {&weight, &bias, &out}) {
    requireDevice(env, *t, x.device, op, "weight/bias/out");
    if (t->dtype != x.dtype) throwTypeError(env, "layerNorm: x, weight, bias and out must share a dtype");
  }
  requireNoOverlap(env, out, {&x, &weight, &bias}, op);
  const double eps = numberOption(requireOptions(info[4], op), "eps", op);  // its range is lib/'s to check
  const LayerNormShape s{width == 0 ? 0 : int(x.numel / width), width, float(eps)};

  return scheduleOp(env, op, x.device, {x.owner, weight.owner, bias.owner, out.owner}, info[5],
                    [=](const ExecContext& ctx) {
    if (out.numel == 0) return;
    if (ctx.device < 0) {
      HostFloatIn xf(x), wf(weight), bf(bias);
      HostFloatOut yf(out);
      layerNormCpu(ctx.cpu, s, xf.get(), wf.get(), bf.get(), yf.get());
      yf.commit();
      return;
    }
#ifdef SA_WITH_CUDA
    layerNormCuda(ctx.stream, s, x.dtype, x.data, weight.data, bias.data, out.data);
#endif
  });
}

}  // namespace sa::addon
