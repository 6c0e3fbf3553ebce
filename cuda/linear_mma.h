// y = x · Wᵀ + b on tensor cores (cuda/linear_mma.cu), used by linearCuda for the shapes it
// covers; everything else runs the float32-accumulating kernel of cuda/linear.cu.
#pragma once

#include <cuda_runtime.h>

#include "kernels/linear.h"

namespace sa {

// float16 / bfloat16, in a positive multiple of 8 (whole 16-byte rows), x and w 16-byte aligned,
// compute capability >= 8.
bool linearMmaSupports(const LinearShape& s, DType dtype, const void* x, const void* w);

// x [rows, in], w [out, in], bias [out] or null, y [rows, out]: row-major, contiguous.
void linearMma(cudaStream_t stream, const LinearShape& s, DType dtype, const void* x, const void* w, const void* bias,
               void* y);

}  // namespace sa
