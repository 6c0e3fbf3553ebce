// denseAttention(q, k, v, out, { scale, causal, layout, heads? }, cancel)

#include "addon/attention_layout.h"
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
  Napi::Object opts = requireOptions(info[4], op);
  const AttentionLayout layout = layoutOption(env, opts, op);
  const AttentionDims qd = attentionDims(env, q, layout, op, "q");
  const AttentionDims kd = attentionDims(env, k, layout, op, "k");
  requireShape(env, k, attentionShape({qd.B, qd.H, kd.L, qd.D}, layout), op, "k");
  requireShape(env, v, k.shape, op, "v");
  requireShape(env, out, q.shape, op, "out");
  for (const TensorArg* t : {&k, &v, &out}) {
    requireDevice(env, *t, q.device, op, "k/v/out");
    if (t->dtype != q.dtype) throwTypeError(env, "denseAttention: q, k, v and out must share a dtype");
  }
  requireNoOverlap(env, out, {&q, &k, &v}, op);
  if (kd.L == 0 && qd.L > 0) throwRangeError(env, "denseAttention: k must have at least one key");
  const double scale = numberOption(opts, "scale", op);  // its range is lib/'s to check (no memory depends on it)
  const DenseShape s{qd.B, qd.H, qd.L, kd.L, qd.D, float(scale), booleanOption(opts, "causal", op), layout.tokenMajor};

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
