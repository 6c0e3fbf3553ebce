// denseAttention(q, k, v, out, { scale, causal }, cancel)
#include <cmath>

#include "addon/errors.h"
#include "addon/host_float.h"
#include "addon/op_options.h"
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
  requireShape(env, out, {B, H, Lq, D}, op, "out");
  for (const TensorArg* t : {&k, &v, &out}) {
    requireDevice(env, *t, q.device, op, "k/v/out");
    if (t->dtype != q.dtype) throwTypeError(env, "denseAttention: q, k, v and out must share a dtype");
  }
  requireNoOverlap(env, out, {&q, &k, &v}, op);
  if (Lk == 0 && Lq > 0) throwRangeError(env, "denseAttention: k must have at least one key");
  Napi::Object opts = requireOptions(info[4], op);
  const double scale = numberOption(opts, "scale", op);
  if (!std::isfinite(float(scale))) throwRangeError(env, "denseAttention: opts.scale must be a finite float32");
  const DenseShape s{B, H, Lq, Lk, D, float(scale), booleanOption(opts, "causal", op)};

  return scheduleOp(env, op, q.device, {q.owner, k.owner, v.owner, out.owner}, info[5],
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
