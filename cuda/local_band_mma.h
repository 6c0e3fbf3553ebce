// The band of sliding-window attention on tensor cores (cuda/local_band_mma.cu): the local
// queries' softmax over their window and the global columns, for the shapes it covers; the
// global list and global rows kernels of cuda/local_attention.cu run as for every dtype.
#pragma once

#include <cuda_runtime.h>

#include "kernels/local.h"

namespace sa {

// float16 / bfloat16, D = 64 or 128, 16-byte aligned q, k, v and out, compute capability >= 8.
bool localBandMmaSupports(const LocalShape& s, DType dtype, const LocalInputs<void>& in, const void* out);

// q, k, v, out [B, H, L, D]; mask [B, L] or null; globalTokens [B, L] (row b's global
// positions first, ascending) and globalCounts [B], as globalListKernel writes them (unused
// without a mask). Writes the rows of local and padding tokens; global rows are left alone.
void localBandMma(cudaStream_t stream, const LocalShape& s, DType dtype, const LocalInputs<void>& in,
                  const int32_t* mask, const int32_t* globalTokens, const int32_t* globalCounts, void* out);

}  // namespace sa
