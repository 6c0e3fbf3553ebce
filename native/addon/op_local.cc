// localAttention(q, k, v, global | null, attentionMask | null, out, { left, right, scale, layout, heads? }, cancel)
#include <cmath>
#include <memory>

#include "addon/attention_layout.h"
#include "addon/errors.h"
#include "addon/host_float.h"
#include "addon/op_options.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/local.h"

namespace sa::addon {

namespace {

struct GlobalArgs {
  TensorArg q, k, v;  // not present when absent: the local projections serve
};

GlobalArgs globalArgs(Napi::Env env, const Napi::Value& value, const TensorArg& q, const char* op) {
  if (value.IsUndefined() || value.IsNull()) return {};
  if (!value.IsObject()) throwTypeError(env, "localAttention: global must be { q, k, v }");
  Napi::Object g = value.As<Napi::Object>();
  GlobalArgs a{tensorArg(g.Get("q"), op, "global.q"), tensorArg(g.Get("k"), op, "global.k"),
               tensorArg(g.Get("v"), op, "global.v")};
  for (auto [t, name] : {std::pair{&a.q, "global.q"}, {&a.k, "global.k"}, {&a.v, "global.v"}}) {
    requireShape(env, *t, q.shape, op, name);
    requireDevice(env, *t, q.device, op, name);
    if (t->dtype != q.dtype) throwTypeError(env, std::string("localAttention: ") + name + " must have q's dtype");
  }
  return a;
}

// Checked as a double first: converting a double beyond int64's range to int64 is undefined.
int64_t windowSide(Napi::Env env, const Napi::Object& opts, const char* key) {
  const double side = numberOption(opts, key, "localAttention");
  if (!(side >= 0 && side <= 9.0e15) || std::floor(side) != side)
    throwRangeError(env, "localAttention: window must be non-negative integers");
  return int64_t(side);
}

}  // namespace

Napi::Value localAttention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "localAttention";
  TensorArg q = tensorArg(info[0], op, "q"), k = tensorArg(info[1], op, "k"), v = tensorArg(info[2], op, "v");
  Napi::Object opts = requireOptions(info[6], op);
  const AttentionLayout layout = layoutOption(env, opts, op);
  const AttentionDims dims = attentionDims(env, q, layout, op, "q");
  GlobalArgs global = globalArgs(env, info[3], q, op);
  TensorArg mask = optionalTensorArg(info[4], op, "attentionMask");
  TensorArg out = tensorArg(info[5], op, "out");
  for (auto [t, name] : {std::pair{&k, "k"}, {&v, "v"}, {&out, "out"}}) {
    requireShape(env, *t, q.shape, op, name);
    requireDevice(env, *t, q.device, op, name);
    if (t->dtype != q.dtype) throwTypeError(env, std::string("localAttention: ") + name + " must have q's dtype");
  }
  const int B = dims.B, H = dims.H, L = dims.L, D = dims.D;
  if (mask.present) {
    requireShape(env, mask, {B, L}, op, "attentionMask");
    requireDevice(env, mask, q.device, op, "attentionMask");
    if (mask.dtype != DType::Int32) throwTypeError(env, "localAttention: attentionMask must be int32");
  }
  requireNoOverlap(env, out, {&q, &k, &v, &global.q, &global.k, &global.v, &mask}, op);
  const LocalWindow window = clampWindow(windowSide(env, opts, "left"), windowSide(env, opts, "right"), L);
  const double scale = numberOption(opts, "scale", op);  // its range is lib/'s to check (no memory depends on it)
  const LocalShape s{B, H, L, D, window, float(scale), layout.tokenMajor};
  const int32_t* maskData = mask.present ? static_cast<const int32_t*>(mask.data) : nullptr;
  const bool hasGlobal = global.q.present;

  return scheduleOp(env, op, q.device,
                    {q.owner, k.owner, v.owner, global.q.owner, global.k.owner, global.v.owner, mask.owner, out.owner},
                    info[7], [=](const ExecContext& ctx) {
                      if (q.numel == 0) return;
                      if (ctx.device < 0) {
                        HostFloatIn qf(q), kf(k), vf(v), qgf(global.q), kgf(global.k), vgf(global.v);
                        HostFloatOut of(out);
                        const LocalInputs<float> in{qf.get(), kf.get(), vf.get(), hasGlobal ? qgf.get() : qf.get(),
                                                    hasGlobal ? kgf.get() : kf.get(), hasGlobal ? vgf.get() : vf.get()};
                        localAttentionCpu(ctx.cpu, s, in, maskData, of.get());
                        of.commit();
                        return;
                      }
#ifdef SA_WITH_CUDA
                      const LocalInputs<void> in{q.data, k.data, v.data, hasGlobal ? global.q.data : q.data,
                                                 hasGlobal ? global.k.data : k.data,
                                                 hasGlobal ? global.v.data : v.data};
                      if (!maskData)
                        return localAttentionCuda(ctx.stream, s, q.dtype, in, nullptr, out.data, nullptr, nullptr);
                      void* workspace = deviceScratch(ctx, localAttentionCudaWorkspaceBytes(s));
                      auto* flag = static_cast<int32_t*>(deviceScratch(ctx, sizeof(int32_t)));
                      // Host side of the flag: owned by the check, which the runner keeps past its
                      // synchronisation.
                      auto invalidMask = std::make_shared<int32_t>(0);
                      cuda::copyAsync(flag, invalidMask.get(), sizeof(int32_t), cuda::CopyKind::HostToDevice,
                                      ctx.stream);
                      *ctx.afterSync = [invalidMask] {
                        if (*invalidMask)
                          throw KernelError(ErrorCode::InvalidArgument, "attentionMask: values must be -1, 0 or 1");
                      };
                      localAttentionCuda(ctx.stream, s, q.dtype, in, maskData, out.data, workspace, flag);
                      cuda::copyAsync(invalidMask.get(), flag, sizeof(int32_t), cuda::CopyKind::DeviceToHost,
                                      ctx.stream);
#endif
                    });
}

}  // namespace sa::addon
