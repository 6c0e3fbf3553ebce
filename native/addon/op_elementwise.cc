// activation(x, out, { fn }, cancel)
// add(a, b, out, cancel)
#include "addon/errors.h"
#include "addon/host_float.h"
#include "addon/op_options.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/elementwise.h"

namespace sa::addon {

namespace {

Activation activationOption(Napi::Env env, const Napi::Value& value, const char* op) {
  const std::string fn = stringOption(requireOptions(value, op), "fn", op);
  if (fn == "gelu") return Activation::Gelu;
  if (fn == "relu") return Activation::Relu;
  if (fn == "tanh") return Activation::Tanh;
  throwTypeError(env, std::string(op) + ": opts.fn must be 'gelu', 'relu' or 'tanh'");
}

void requireLike(Napi::Env env, const TensorArg& t, const TensorArg& like, const char* op, const char* name) {
  requireShape(env, t, like.shape, op, name);
  requireDevice(env, t, like.device, op, name);
  if (t.dtype != like.dtype) throwTypeError(env, std::string(op) + ": " + name + " must have the dtype of the input");
}

}  // namespace

Napi::Value activation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "activation";
  TensorArg x = tensorArg(info[0], op, "x"), out = tensorArg(info[1], op, "out");
  if (!x.isFloat()) throwTypeError(env, "activation: x must be a float tensor");
  requireLike(env, out, x, op, "out");
  requireNoOverlap(env, out, {&x}, op);
  const Activation fn = activationOption(env, info[2], op);

  return scheduleOp(env, op, x.device, {x.owner, out.owner}, info[3], [=](const ExecContext& ctx) {
    if (x.numel == 0) return;
    if (ctx.device < 0) {
      HostFloatIn xf(x);
      HostFloatOut yf(out);
      activationCpu(ctx.cpu, fn, x.numel, xf.get(), yf.get());
      yf.commit();
      return;
    }
#ifdef SA_WITH_CUDA
    activationCuda(ctx.stream, fn, x.dtype, x.numel, x.data, out.data);
#endif
  });
}

Napi::Value add(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "add";
  TensorArg a = tensorArg(info[0], op, "a"), b = tensorArg(info[1], op, "b"), out = tensorArg(info[2], op, "out");
  if (!a.isFloat()) throwTypeError(env, "add: a must be a float tensor");
  requireLike(env, b, a, op, "b");
  requireLike(env, out, a, op, "out");
  requireNoOverlap(env, out, {&a, &b}, op);

  return scheduleOp(env, op, a.device, {a.owner, b.owner, out.owner}, info[3], [=](const ExecContext& ctx) {
    if (a.numel == 0) return;
    if (ctx.device < 0) {
      HostFloatIn af(a), bf(b);
      HostFloatOut yf(out);
      addCpu(ctx.cpu, a.numel, af.get(), bf.get(), yf.get());
      yf.commit();
      return;
    }
#ifdef SA_WITH_CUDA
    addCuda(ctx.stream, a.dtype, a.numel, a.data, b.data, out.data);
#endif
  });
}

}  // namespace sa::addon
