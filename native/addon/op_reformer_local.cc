// reformerLocalAttention(q, k, v, paddingMask | null, out,
//                        { chunkLength, chunksBefore, chunksAfter, causal, layout, heads? }, cancel)
#include <cstdint>
#include <limits>

#include "addon/attention_layout.h"
#include "addon/errors.h"
#include "addon/host_float.h"
#include "addon/op_options.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/reformer_local.h"

namespace sa::addon {

Napi::Value reformerLocalAttention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "reformerLocalAttention";
  TensorArg q = tensorArg(info[0], op, "q"), k = tensorArg(info[1], op, "k"), v = tensorArg(info[2], op, "v");
  TensorArg mask = optionalTensorArg(info[3], op, "paddingMask"), out = tensorArg(info[4], op, "out");
  Napi::Object opts = requireOptions(info[5], op);
  const AttentionLayout layout = layoutOption(env, opts, op);
  const AttentionDims d = attentionDims(env, q, layout, op, "q");
  for (auto [t, name] : {std::pair{&k, "k"}, {&v, "v"}, {&out, "out"}}) {
    requireShape(env, *t, q.shape, op, name);
    requireDevice(env, *t, q.device, op, name);
    if (t->dtype != q.dtype) throwTypeError(env, std::string(op) + ": " + name + " must have q's dtype");
  }
  if (mask.present) {
    requireShape(env, mask, {d.B, d.L}, op, "paddingMask");
    requireDevice(env, mask, q.device, op, "paddingMask");
    if (mask.dtype != DType::Int32) throwTypeError(env, "reformerLocalAttention: paddingMask must be int32");
  }
  requireNoOverlap(env, out, {&q, &k, &v, &mask}, op);
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  const int chunkLength = int(integerOption(opts, "chunkLength", op, 1, kMax));
  const ReformerLocalShape s{d.B, d.H, d.L, d.D, chunkLength, int(integerOption(opts, "chunksBefore", op, 0, kMax)),
                             int(integerOption(opts, "chunksAfter", op, 0, kMax)), booleanOption(opts, "causal", op),
                             layout.tokenMajor};
  // The padded length and the chunks' key lists are int32 slot indices.
  const int64_t keys = int64_t(chunkLength) * (1 + int64_t(s.chunksBefore) + s.chunksAfter);
  if (int64_t(d.L) + chunkLength > kMax || keys > kMax)
    throwRangeError(env, "reformerLocalAttention: L + chunkLength and chunkLength · (1 + chunksBefore + chunksAfter) must fit int32");
  const int32_t* paddingMask = mask.present ? static_cast<const int32_t*>(mask.data) : nullptr;

  return scheduleOp(env, op, q.device, {q.owner, k.owner, v.owner, mask.owner, out.owner}, info[6],
                    [=](const ExecContext& ctx) {
    if (q.numel == 0) return;
    if (ctx.device < 0) {
      HostFloatIn qf(q), kf(k), vf(v);
      HostFloatOut of(out);
      reformerLocalAttentionCpu(ctx.cpu, s, q.dtype != DType::Float32, qf.get(), kf.get(), vf.get(), paddingMask,
                                of.get());
      of.commit();
      return;
    }
#ifdef SA_WITH_CUDA
    CudaScratch scratch;
    reformerLocalAttentionCuda(ctx.stream, ctx.device, s, q.dtype, q.data, k.data, v.data, paddingMask, out.data,
                               scratch);
    cuda::synchronize(ctx.stream, "reformerLocalAttention");
#endif
  });
}

}  // namespace sa::addon
