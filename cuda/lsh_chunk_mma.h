// LSH chunked attention on tensor cores (cuda/lsh_chunk_mma.cu), used by lshAttentionCuda for
// the shapes it covers; the hashing, the sort, the key normalisation and the combination of
// rounds are shared with the general path of cuda/lsh_attention.cu.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/lsh.h"

namespace sa {

struct LshChunkMmaArgs {
  int64_t heads;  // B * H
  int H, L, Lp, D;
  HeadLayout layout;  // of qk, v and out
  lsh::ChunkGeometry geometry;
  bool causal;
  lsh::MaskValues maskValues;
  int rounds;                  // 1: rows go to out; else to roundOut and roundLse
  const void* qk;              // [B, H, L, D] queries (Reformer's local attention: q)
  const void* keys;            // [B, H, Lp, D] keys in qk's dtype (normalizeKeysKernel, cuda/lsh_attention.cu)
  const void* v;               // [B, H, L, D]
  const int32_t* sorted;       // [B, H, nChunks * chunkLength], or null on the standard path
  const int32_t* paddingMask;  // [B, L] or null
  void* out;                   // [B, H, L, D] (qk, v and out: rows of `layout`)
  float* roundOut;             // [B, H, rounds, L, D] when rounds > 1
  float* roundLse;             // [B, H, rounds, L] when rounds > 1
};

// float16 / bfloat16, D = 64 or 128, 16-byte aligned tensors, compute capability >= 8.
bool lshChunkMmaSupports(DType dtype, int D, const void* qk, const void* v, const void* out);

void lshChunkMma(cudaStream_t stream, DType dtype, const LshChunkMmaArgs& args);

}  // namespace sa
