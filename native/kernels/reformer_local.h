// Reformer's LocalSelfAttention (Hugging Face's): chunked local attention, run by the chunk
// pipeline of LSH attention (kernels/lsh.h) over the identity order of the tokens.
//
//   q, k, v, out  [B, H, L, D]   (or, tokenMajor, [B, L, H * D]: kernels/head_layout.h)
//   paddingMask   [B, L] int32 or null; 0 = padding token
//
// Queries are used as they are, keys divided by sqrt(D); there is no self mask.
//   L <= chunkLength: one chunk of all L tokens, i.e. full attention with the masks below.
//   L >  chunkLength: the sequence is cut into chunks of chunkLength (padded at the end to a
//     multiple with padding tokens, as Hugging Face's ReformerModel pads it); chunk i attends
//     to chunks i - chunksBefore .. i + chunksAfter taken modulo the number of chunks (HF's
//     _look_adjacent, repeats kept).
// Masks: a padding key, and with `causal` a key at a later position than the query, is
// replaced by -1e9 (-1e4 in half precision); the softmax is exp(score - logsumexp).
#pragma once

#include "kernels/common.h"
#include "kernels/cpu_context.h"
#include "kernels/cuda_device.h"
#include "kernels/head_layout.h"
#include "kernels/lsh.h"

namespace sa {

struct ReformerLocalShape {
  int B, H, L, D;
  int chunkLength, chunksBefore, chunksAfter;
  bool causal;
  bool tokenMajor;
};

SA_HD HeadLayout headLayout(const ReformerLocalShape& s) { return {s.H, s.L, s.D, s.tokenMajor}; }

// The chunks of the identity order: one chunk of all L tokens, or chunks of chunkLength over
// the padded length.
SA_HD lsh::ChunkGeometry reformerLocalGeometry(const ReformerLocalShape& s) {
  if (s.L <= s.chunkLength) return {s.L, 0, 0, 1};
  return {s.chunkLength, s.chunksBefore, s.chunksAfter, lshPaddedLength(s.L, s.chunkLength) / s.chunkLength};
}

void reformerLocalAttentionCpu(const CpuContext& ctx, const ReformerLocalShape& s, bool halfPrecisionMasks,
                               const float* q, const float* k, const float* v, const int32_t* paddingMask, float* out);

// q, k, v and out in `dtype`; queued on `stream` with no host synchronisation.
void reformerLocalAttentionCuda(cuda::Stream stream, int device, const ReformerLocalShape& s, DType dtype,
                                const void* q, const void* k, const void* v, const int32_t* paddingMask, void* out,
                                CudaScratch& scratch);

}  // namespace sa
