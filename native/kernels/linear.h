// A linear layer, torch.nn.Linear: y = x · Wᵀ + b.
//
//   x     [rows, in]    every leading dimension of the input flattened into rows
//   w     [out, in]     the layer's weight, one row per output feature
//   bias  [out]         or null
//   y     [rows, out]
//
// Float32 accumulation whatever the storage type.
#pragma once

#include "kernels/common.h"
#include "kernels/cpu_context.h"
#include "kernels/cuda_device.h"

namespace sa {

struct LinearShape {
  int rows, in, out;
};

// Through the register-blocked tile GEMM (cpu/tile_math.h), in blocks of rows and columns.
void linearCpu(const CpuContext& ctx, const LinearShape& s, const float* x, const float* w, const float* bias,
               float* y);

// dtype: Float32, Float16 or BFloat16 for x, w, bias and y.
void linearCuda(cuda::Stream stream, const LinearShape& s, DType dtype, const void* x, const void* w,
                const void* bias, void* y);

}  // namespace sa
