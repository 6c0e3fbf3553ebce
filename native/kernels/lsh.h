// Reformer LSH self-attention (docs/semantics.md section 1): hashing, sorting by bucket, chunked
// attention with the rounds combined, on CPU and CUDA.
//
// Layouts (row-major, contiguous):
//   qk, v        [B, H, L, D]             shared query/key (raw) and values
//   rotations    [H, D, nHashes, rot/2]   random rotations; rot = the sum of the bucket factors
//   paddingMask  [B, L] int32 or null     0 = padding token, any other value = real token
//   buckets      [B, H, nHashes * Lp]     int32: bucket + round * N', round r at [r*Lp, (r+1)*Lp)
//   sortedIndex  [B, H, n]                int32: flat index of each sorted slot
//   undoIndex    [B, H, n]                int32: the inverse permutation
//   out          [B, H, L, D]
//   (qk, v and out may instead be [B, L, H * D], tokenMajor: kernels/head_layout.h)
//
// Lengths past L: docs/semantics.md 1.10 pads a sequence whose L > chunkLength is not a multiple of
// chunkLength to Lp. The kernels never copy the padded sequence: tokens at positions in
// [L, Lp) are padding tokens of the index logic (extra bucket, masked as keys, zero rows),
// and the rows of out stop at L.
#pragma once

#include <vector>

#include "kernels/common.h"
#include "kernels/cpu_context.h"
#include "kernels/cuda_device.h"
#include "kernels/head_layout.h"
#include "kernels/lsh_logic.h"

namespace sa {

struct LshHashShape {
  int B, H;
  int L;   // tokens stored in qk and paddingMask
  int Lp;  // tokens hashed, >= L; positions in [L, Lp) are padding tokens
  int D, nHashes;
  lsh::BucketFactors factors;
  bool tokenMajor;  // qk is [B, L, H * D]
};

struct LshAttentionShape {
  int B, H, L, D, nHashes;
  lsh::BucketFactors factors;
  int chunkLength, chunksBefore, chunksAfter;
  bool causal;
  bool tokenMajor;  // qk, v and out are [B, L, H * D]
};

SA_HD HeadLayout headLayout(const LshAttentionShape& s) { return {s.H, s.L, s.D, s.tokenMajor}; }

// The padded length of 1.10: L itself on the standard path (L <= chunkLength) or when it is a
// multiple of chunkLength, else the next multiple.
SA_HD int lshPaddedLength(int L, int chunkLength) {
  return L <= chunkLength ? L : int((int64_t(L) + chunkLength - 1) / chunkLength * chunkLength);
}

// Device scratch of launched CUDA work (cuda_device.h): the caller keeps it alive until the
// stream has been synchronised.
using CudaScratch = cuda::CudaScratch;

// buckets [B, H, nHashes * Lp] from qk [B, H, L, D], rotations [H, D, nHashes, rot/2] and the
// optional paddingMask [B, L].
void lshHashCpu(const CpuContext& ctx, const LshHashShape& s, const float* qk, const float* rotations,
                const int32_t* paddingMask, int32_t* buckets);

// qk in `dtype` (float32, float16 or bfloat16), rotations in `rotationsDtype` (float32 or
// dtype); the batch-wide padding rule is evaluated on the device.
void lshHashCuda(cuda::Stream stream, int device, const LshHashShape& s, DType dtype, DType rotationsDtype,
                 const void* qk, const void* rotations, const int32_t* paddingMask, int32_t* buckets,
                 CudaScratch& scratch);

// Stable sort of each of `rows` rows of n int32 keys: sortedIndex[row, j] is the index of the
// j-th smallest key (ties by index), undoIndex (may be null) its inverse. Keys may be any
// int32 values; the work is O(n) per row (counting sorts on 16-bit digits).
void sortByBucketCpu(const CpuContext& ctx, int rows, int n, const int32_t* buckets, int32_t* sortedIndex,
                     int32_t* undoIndex);

// Same on a stream. keyBits: keys are known to lie in [0, 2^keyBits) when keyBits < 32, which
// shortens the radix sort; 32 accepts any int32.
void sortByBucketCuda(cuda::Stream stream, int device, int rows, int n, int keyBits, const int32_t* buckets,
                      int32_t* sortedIndex, int32_t* undoIndex, CudaScratch& scratch);

// The whole op: out [B, H, L, D] from qk and v [B, H, L, D]. rotations may be null on the
// standard path (L <= chunkLength), which has no hashing.
void lshAttentionCpu(const CpuContext& ctx, const LshAttentionShape& s, bool halfPrecisionMasks, const float* qk,
                     const float* v, const float* rotations, const int32_t* paddingMask, float* out);

// qk, v and out in `dtype`, rotations in `rotationsDtype`; every stage is queued on `stream`
// with no host synchronisation.
void lshAttentionCuda(cuda::Stream stream, int device, const LshAttentionShape& s, DType dtype,
                      DType rotationsDtype, const void* qk, const void* v, const void* rotations,
                      const int32_t* paddingMask, void* out, CudaScratch& scratch);

}  // namespace sa
