// lshHash(qk, rotations, paddingMask | null, out, { bucketFactors }, cancel)
// sortByBucket(buckets, sortedIndex, undoIndex, cancel)
// lshAttention(qk, v, rotations | null, paddingMask | null, out,
//              { bucketFactors, nHashes, chunkLength, chunksBefore, chunksAfter, causal }, cancel)
#include <cstdint>
#include <limits>
#include <string>

#include "addon/errors.h"
#include "addon/host_float.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/lsh.h"

namespace sa::addon {

namespace {

constexpr int64_t kMaxIndex = std::numeric_limits<int32_t>::max();

Napi::Object optionsArg(const Napi::CallbackInfo& info, size_t index) {
  return info[index].IsObject() ? info[index].As<Napi::Object>() : Napi::Object::New(info.Env());
}

int intOption(Napi::Env env, const Napi::Object& opts, const char* name, int min, const std::string& op) {
  Napi::Value value = opts.Get(name);
  const double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1.0;
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

void requireRotations(Napi::Env env, const TensorArg& rotations, const TensorArg& qk, int nHashes,
                      const lsh::BucketFactors& factors, const char* op) {
  requireShape(env, rotations, {qk.dim(1), qk.dim(3), nHashes, lsh::rotationSize(factors) / 2}, op, "rotations");
  if (rotations.dtype != DType::Float32 && rotations.dtype != qk.dtype)
    throwTypeError(env, std::string(op) + ": rotations must be float32 or qk's dtype");
  requireDevice(env, rotations, qk.device, op, "rotations");
}

bool given(const Napi::Value& value) { return !value.IsUndefined() && !value.IsNull(); }

void requirePaddingMask(Napi::Env env, const Napi::Value& value, const TensorArg& mask, const TensorArg& qk,
                        const char* op) {
  if (!given(value)) return;
  requireShape(env, mask, {qk.dim(0), qk.dim(2)}, op, "paddingMask");
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
  const lsh::BucketFactors factors = bucketFactors(env, optionsArg(info, 4), op);
  const LshHashShape s{qk.dim(0), qk.dim(1), qk.dim(2), qk.dim(2), qk.dim(3), rotations.dim(2), factors};
  if (s.nHashes < 1) throwRangeError(env, "lshHash: rotations must hold at least one hash round");
  requireRotations(env, rotations, qk, s.nHashes, factors, op);
  requirePaddingMask(env, info[2], mask, qk, op);
  requireIndexRange(env, int64_t(s.B) * s.H, s.nHashes, s.L, factors, op);
  requireShape(env, out, {s.B, s.H, s.nHashes * s.L}, op, "out");
  if (out.dtype != DType::Int32) throwTypeError(env, "lshHash: out must be int32");
  requireDevice(env, out, qk.device, op, "out");
  const int32_t* paddingMask = static_cast<const int32_t*>(mask.data);
  int32_t* buckets = static_cast<int32_t*>(out.data);

  return scheduleOp(env, op, qk.device, {info[0], info[1], info[2], info[3]}, info[5], [=](const ExecContext& ctx) {
    if (out.numel == 0) return;
    if (ctx.device < 0) {
      HostFloatIn qkf(qk), rf(rotations);
      return lshHashCpu(ctx.cpu, s, qkf.get(), rf.get(), paddingMask, buckets);
    }
#ifdef SA_WITH_CUDA
    CudaScratch scratch;
    lshHashCuda(ctx.stream, ctx.device, s, qk.dtype, rotations.dtype, qk.data, rotations.data, paddingMask, buckets,
                scratch);
    cuda::synchronize(ctx.stream, "lshHash");
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
  const int rows = buckets.dim(0) * buckets.dim(1), n = buckets.dim(2);
  const int32_t* keys = static_cast<const int32_t*>(buckets.data);
  int32_t* sortedIndex = static_cast<int32_t*>(sorted.data);
  int32_t* undoIndex = static_cast<int32_t*>(undo.data);

  return scheduleOp(env, op, buckets.device, {info[0], info[1], info[2]}, info[3], [=](const ExecContext& ctx) {
    if (buckets.numel == 0) return;
    if (ctx.device < 0) return sortByBucketCpu(ctx.cpu, rows, n, keys, sortedIndex, undoIndex);
#ifdef SA_WITH_CUDA
    CudaScratch scratch;
    sortByBucketCuda(ctx.stream, ctx.device, rows, n, 32, keys, sortedIndex, undoIndex, scratch);
    cuda::synchronize(ctx.stream, "sortByBucket");
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
  if (qk.rank() != 4 || !qk.isFloat()) throwRangeError(env, "lshAttention: qk must be a 4-d float tensor");
  requireShape(env, v, qk.shape, op, "v");
  requireShape(env, out, qk.shape, op, "out");
  for (const TensorArg* t : {&v, &out}) {
    requireDevice(env, *t, qk.device, op, "v/out");
    if (t->dtype != qk.dtype) throwTypeError(env, "lshAttention: qk, v and out must share a dtype");
  }
  Napi::Object opts = optionsArg(info, 5);
  const LshAttentionShape s{qk.dim(0), qk.dim(1), qk.dim(2), qk.dim(3), intOption(env, opts, "nHashes", 1, op),
                            bucketFactors(env, opts, op), intOption(env, opts, "chunkLength", 1, op),
                            intOption(env, opts, "chunksBefore", 0, op), intOption(env, opts, "chunksAfter", 0, op),
                            opts.Get("causal").ToBoolean().Value()};
  const bool standard = s.L <= s.chunkLength;
  if (!standard) {
    if (!given(info[2])) throwTypeError(env, "lshAttention: rotations are required when L > chunkLength");
    requireRotations(env, rotations, qk, s.nHashes, s.factors, op);
    const int64_t Lp = (int64_t(s.L) + s.chunkLength - 1) / s.chunkLength * s.chunkLength;
    requireIndexRange(env, int64_t(s.B) * s.H, s.nHashes, Lp, s.factors, op);
  }
  requirePaddingMask(env, info[3], mask, qk, op);
  const int32_t* paddingMask = static_cast<const int32_t*>(mask.data);

  return scheduleOp(env, op, qk.device, {info[0], info[1], info[2], info[3], info[4]}, info[6],
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
                      CudaScratch scratch;
                      lshAttentionCuda(ctx.stream, ctx.device, s, qk.dtype, rotations.dtype, qk.data, v.data,
                                       standard ? nullptr : rotations.data, paddingMask, out.data, scratch);
                      cuda::synchronize(ctx.stream, "lshAttention");
#endif
                    });
}

}  // namespace sa::addon
