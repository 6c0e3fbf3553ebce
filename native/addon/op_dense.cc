// denseAttention(q, k, v, out, { scale, causal }, cancel)
#include "addon/errors.h"
#include "addon/host_float.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/dense.h"

namespace sa::addon {

Napi::Value denseAttention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "denseAttention";
  TensorArg q = tensorArg(info[0], op, "q"), k = tensorArg(info[1], op, "k"), v = tensorArg(info[2], op, "v"),
            out = tensorArg(info[3], op, "out");
  if (q.rank() != 4 || !q.isFloat()) throwRangeError(env, "denseAttention: q must be a 4-d float tensor");
  const int B = q.dim(0), H = q.dim(1), Lq = q.dim(2), D = q.dim(3);
  if (k.rank() != 4) throwRangeError(env, "denseAttention: k must be a 4-d tensor");
  const int Lk = k.dim(2);
  requireShape(env, k, {B, H, Lk, D}, op, "k");
  requireShape(env, v, {B, H, Lk, D}, op, "v");
  requireShape(env, out, q.shape, op, "out");
  for (const TensorArg* t : {&k, &v, &out}) {
    requireDevice(env, *t, q.device, op, "k/v/out");
    if (t->dtype != q.dtype) throwTypeError(env, "denseAttention: q, k, v and out must share a dtype");
  }
  if (Lk == 0 && Lq > 0) throwRangeError(env, "denseAttention: k must have at least one key");
  Napi::Object opts = info[4].IsObject() ? info[4].As<Napi::Object>() : Napi::Object::New(env);
  DenseShape s{B, H, Lq, Lk, D, 1.0f, opts.Get("causal").ToBoolean().Value()};
  s.scale = opts.Get("scale").IsNumber() ? opts.Get("scale").As<Napi::Number>().FloatValue() : 1.0f;

  return scheduleOp(env, op, q.device, {info[0], info[1], info[2], info[3]}, info[5],
                    [=](const ExecContext& ctx) {
                      if (q.numel == 0) return;
                      if (ctx.device < 0) {
                        HostFloatIn qf(q), kf(k), vf(v);
                        HostFloatOut of(out);
                        denseAttentionCpu(ctx.cpu, s, qf.get(), kf.get(), vf.get(), of.get());
                        of.commit();
                        return;
                      }
#ifdef SA_WITH_CUDA
                      denseAttentionCuda(ctx.stream, s, q.dtype, q.data, k.data, v.data, out.data);
#endif
                    });
}

}  // namespace sa::addon
