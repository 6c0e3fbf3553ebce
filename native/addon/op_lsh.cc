// lshHash(qk, rotations, paddingMask | null, out, { bucketFactors }, cancel)
// sortByBucket(buckets, sortedIndex, undoIndex, cancel)
// lshAttention(qk, v, rotations | null, paddingMask | null, out,
//              { bucketFactors, nHashes, chunkLength, chunksBefore, chunksAfter, causal, layout, heads? }, cancel)
#include <cstdint>
#include <limits>
#include <string>

#include "addon/attention_layout.h"
#include "addon/errors.h"
#include "addon/host_float.h"
#include "addon/op_options.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/lsh.h"

namespace sa::addon {

namespace {

constexpr int64_t kMaxIndex = std::numeric_limits<int32_t>::max();

// The range is checked before the conversion: converting a double beyond int64 is undefined.
int intOption(Napi::Env env, const Napi::Object& opts, const char* name, int min, const std::string& op) {
  const double number = numberOption(opts, name, op.c_str());
  if (!(number >= min) || number > double(kMaxIndex) || number != double(int64_t(number)))
    throwRangeError(env, op + ": " + name + " must be an integer >= " + std::to_string(min));
  return int(number);
}

// Even factors >= 2 whose product, with one more bucket for padding, fits int32.
lsh::BucketFactors bucketFactors(Napi::Env env, const Napi::Object& opts, const std::string& op) {
  Napi::Value value = opts.Get("bucketFactors");
  if (!value.IsArray()) throwTypeError(env, op + ": bucketFactors must be an array");
  Napi::Array list = value.As<Napi::Array>();
  if (list.Length() < 1 || list.Length() > uint32_t(lsh::kMaxBucketFactors))
    throwRangeError(env, op + ": bucketFactors must hold 1 to " + std::to_string(lsh::kMaxBucketFactors) + " factors");
  lsh::BucketFactors factors{int(list.Length()), {}};
  int64_t product = 1;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value f = list.Get(i);
    const double size = f.IsNumber() ? f.As<Napi::Number>().DoubleValue() : -1.0;
    if (!(size >= 2) || size > double(kMaxIndex) || size != double(int64_t(size)) || int64_t(size) % 2 != 0)
      throwRangeError(env, op + ": every bucket factor must be an even integer >= 2");
    factors.size[i] = int(size);
    product *= int64_t(size);
    if (product >= kMaxIndex) throwRangeError(env, op + ": the product of the bucket factors must fit int32");
  }
  return factors;
}

void requireRotations(Napi::Env env, const TensorArg& rotations, const TensorArg& qk, const AttentionDims& dims,
                      int nHashes, const lsh::BucketFactors& factors, const char* op) {
  requireShape(env, rotations, {dims.H, dims.D, nHashes, lsh::rotationSize(factors) / 2}, op, "rotations");
  if (rotations.dtype != DType::Float32 && rotations.dtype != qk.dtype)
    throwTypeError(env, std::string(op) + ": rotations must be float32 or qk's dtype");
  requireDevice(env, rotations, qk.device, op, "rotations");
}

void requirePaddingMask(Napi::Env env, const TensorArg& mask, const TensorArg& qk, const AttentionDims& dims,
                        const char* op) {
  if (!mask.present) return;
  requireShape(env, mask, {dims.B, dims.L}, op, "paddingMask");
  if (mask.dtype != DType::Int32) throwTypeError(env, std::string(op) + ": paddingMask must be int32");
  requireDevice(env, mask, qk.device, op, "paddingMask");
}

// Buckets and sorted indices of the nHashes·Lp slots of every head are int32 values and
// positions, with B·H rows in one int32-indexed sort.
void requireIndexRange(Napi::Env env, int64_t heads, int nHashes, int64_t Lp, const lsh::BucketFactors& factors,
                       const char* op) {
  const int64_t slots = int64_t(nHashes) * Lp;
  const int64_t buckets = int64_t(nHashes) * (int64_t(lsh::bucketCount(factors)) + 1);
  if (heads * slots > kMaxIndex || buckets > kMaxIndex)
    throwRangeError(env, std::string(op) + ": B·H·nHashes·L and nHashes·(buckets + 1) must fit int32");
}

}  // namespace

Napi::Value lshHash(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "lshHash";
  TensorArg qk = tensorArg(info[0], op, "qk"), rotations = tensorArg(info[1], op, "rotations");
  TensorArg mask = optionalTensorArg(info[2], op, "paddingMask"), out = tensorArg(info[3], op, "out");
  if (qk.rank() != 4 || !qk.isFloat()) throwRangeError(env, "lshHash: qk must be a 4-d float tensor");
  if (rotations.rank() != 4) throwRangeError(env, "lshHash: rotations must be [H, D, nHashes, rot/2]");
  const lsh::BucketFactors factors = bucketFactors(env, requireOptions(info[4], op), op);
  const LshHashShape s{qk.dim(0), qk.dim(1), qk.dim(2), qk.dim(2), qk.dim(3), rotations.dim(2), factors, false};
  if (s.nHashes < 1) throwRangeError(env, "lshHash: rotations must hold at least one hash round");
  const AttentionDims dims{s.B, s.H, s.L, s.D};
  requireRotations(env, rotations, qk, dims, s.nHashes, factors, op);
  requirePaddingMask(env, mask, qk, dims, op);
  requireIndexRange(env, int64_t(s.B) * s.H, s.nHashes, s.L, factors, op);
  requireShape(env, out, {s.B, s.H, int64_t(s.nHashes) * s.L}, op, "out");
  if (out.dtype != DType::Int32) throwTypeError(env, "lshHash: out must be int32");
  requireDevice(env, out, qk.device, op, "out");
  requireNoOverlap(env, out, {&qk, &rotations, &mask}, op);
  const int32_t* paddingMask = mask.present ? static_cast<const int32_t*>(mask.data) : nullptr;
  int32_t* buckets = static_cast<int32_t*>(out.data);

  return scheduleOp(env, op, qk.device, {qk.owner, rotations.owner, mask.owner, out.owner}, info[5],
                    [=](const ExecContext& ctx) {
    if (out.numel == 0) return;
    if (ctx.device < 0) {
      HostFloatIn qkf(qk), rf(rotations);
      return lshHashCpu(ctx.cpu, s, qkf.get(), rf.get(), paddingMask, buckets);
    }
#ifdef SA_WITH_CUDA
    lshHashCuda(ctx.stream, ctx.device, s, qk.dtype, rotations.dtype, qk.data, rotations.data, paddingMask, buckets,
                *ctx.scratch);
#endif
  });
}

Napi::Value sortByBucket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "sortByBucket";
  TensorArg buckets = tensorArg(info[0], op, "buckets"), sorted = tensorArg(info[1], op, "sortedIndex"),
            undo = tensorArg(info[2], op, "undoIndex");
  if (buckets.rank() != 3 || buckets.dtype != DType::Int32)
    throwRangeError(env, "sortByBucket: buckets must be an int32 [B, H, N] tensor");
  for (const TensorArg* t : {&sorted, &undo}) {
    requireShape(env, *t, buckets.shape, op, t == &sorted ? "sortedIndex" : "undoIndex");
    if (t->dtype != DType::Int32) throwTypeError(env, "sortByBucket: outputs must be int32");
    requireDevice(env, *t, buckets.device, op, "outputs");
  }
  requireNoOverlap(env, sorted, {&buckets, &undo}, op);
  requireNoOverlap(env, undo, {&buckets}, op);
  // B·H fits int whenever there is anything to sort (B·H·N <= numel); with N = 0 it need not.
  const int rows = buckets.numel == 0 ? 0 : buckets.dim(0) * buckets.dim(1), n = buckets.dim(2);
  const int32_t* keys = static_cast<const int32_t*>(buckets.data);
  int32_t* sortedIndex = static_cast<int32_t*>(sorted.data);
  int32_t* undoIndex = static_cast<int32_t*>(undo.data);

  return scheduleOp(env, op, buckets.device, {buckets.owner, sorted.owner, undo.owner}, info[3],
                    [=](const ExecContext& ctx) {
    if (buckets.numel == 0) return;
    if (ctx.device < 0) return sortByBucketCpu(ctx.cpu, rows, n, keys, sortedIndex, undoIndex);
#ifdef SA_WITH_CUDA
    sortByBucketCuda(ctx.stream, ctx.device, rows, n, 32, keys, sortedIndex, undoIndex, *ctx.scratch);
#endif
  });
}

Napi::Value lshAttention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "lshAttention";
  TensorArg qk = tensorArg(info[0], op, "qk"), v = tensorArg(info[1], op, "v");
  TensorArg rotations = optionalTensorArg(info[2], op, "rotations");
  TensorArg mask = optionalTensorArg(info[3], op, "paddingMask");
  TensorArg out = tensorArg(info[4], op, "out");
  Napi::Object opts = requireOptions(info[5], op);
  const AttentionLayout layout = layoutOption(env, opts, op);
  const AttentionDims dims = attentionDims(env, qk, layout, op, "qk");
  requireShape(env, v, qk.shape, op, "v");
  requireShape(env, out, qk.shape, op, "out");
  for (const TensorArg* t : {&v, &out}) {
    requireDevice(env, *t, qk.device, op, "v/out");
    if (t->dtype != qk.dtype) throwTypeError(env, "lshAttention: qk, v and out must share a dtype");
  }
  const LshAttentionShape s{dims.B, dims.H, dims.L, dims.D, intOption(env, opts, "nHashes", 1, op),
                            bucketFactors(env, opts, op), intOption(env, opts, "chunkLength", 1, op),
                            intOption(env, opts, "chunksBefore", 0, op), intOption(env, opts, "chunksAfter", 0, op),
                            booleanOption(opts, "causal", op), layout.tokenMajor};
  const bool standard = s.L <= s.chunkLength;
  if (!standard) {
    if (!rotations.present) throwTypeError(env, "lshAttention: rotations are required when L > chunkLength");
    requireRotations(env, rotations, qk, dims, s.nHashes, s.factors, op);
    const int64_t Lp = (int64_t(s.L) + s.chunkLength - 1) / s.chunkLength * s.chunkLength;
    requireIndexRange(env, int64_t(s.B) * s.H, s.nHashes, Lp, s.factors, op);
    // lib/ops/lsh.ts checkChunkNeighbours: each side at most the number of chunks, and the keys
    // per query (computed in 64 bits) within int32.
    const int64_t nChunks = int64_t(s.nHashes) * Lp / s.chunkLength;
    if (s.chunksBefore > nChunks || s.chunksAfter > nChunks)
      throwRangeError(env, "lshAttention: chunksBefore and chunksAfter must be at most the number of chunks (" +
                               std::to_string(nChunks) + ")");
    const lsh::ChunkGeometry geometry{s.chunkLength, s.chunksBefore, s.chunksAfter, int(nChunks)};
    if (lsh::keysPerQuery(geometry) > kMaxIndex)
      throwRangeError(env, "lshAttention: chunkLength·(1 + chunksBefore + chunksAfter) keys per query must fit int32");
  }
  requirePaddingMask(env, mask, qk, dims, op);
  requireNoOverlap(env, out, {&qk, &v, &rotations, &mask}, op);
  const int32_t* paddingMask = mask.present ? static_cast<const int32_t*>(mask.data) : nullptr;

  return scheduleOp(env, op, qk.device, {qk.owner, v.owner, rotations.owner, mask.owner, out.owner}, info[6],
                    [=](const ExecContext& ctx) {
                      if (qk.numel == 0) return;
                      if (ctx.device < 0) {
                        HostFloatIn qkf(qk), vf(v), rf(rotations);
                        HostFloatOut of(out);
                        lshAttentionCpu(ctx.cpu, s, qk.dtype != DType::Float32, qkf.get(), vf.get(),
                                        standard ? nullptr : rf.get(), paddingMask, of.get());
                        of.commit();
                        return;
                      }
#ifdef SA_WITH_CUDA
                      lshAttentionCuda(ctx.stream, ctx.device, s, qk.dtype, rotations.dtype, qk.data, v.data,
                                       standard ? nullptr : rotations.data, paddingMask, out.data, *ctx.scratch);
#endif
                    });
}

}  // namespace sa::addon
