// Dense attention on tensor cores (cuda/dense_mma.cu), used by denseAttentionCuda for the
// shapes it covers; everything else runs the general kernel of cuda/dense.cu.
#pragma once

#include <cuda_runtime.h>

#include "kernels/dense.h"

namespace sa {

// float16 / bfloat16, D = 64 or 128, 16-byte aligned tensors.
bool denseMmaSupports(const DenseShape& s, DType dtype, const void* q, const void* k, const void* v,
                      const void* out);

// q [B, H, Lq, D], k and v [B, H, Lk, D], out [B, H, Lq, D]: row-major, contiguous.
void denseAttentionMma(cudaStream_t stream, const DenseShape& s, DType dtype, const void* q, const void* k,
                       const void* v, void* out);

}  // namespace sa
