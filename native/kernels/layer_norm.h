// Layer normalisation over the last dimension, torch.nn.LayerNorm:
//
//   x [rows, width]  weight, bias [width]  y [rows, width]
//   y = (x - mean) / sqrt(var + eps) * weight + bias     (var: the biased variance)
//
// Two passes over each row (mean, then the squared deviations) in float32.
#pragma once

#include "kernels/common.h"
#include "kernels/cpu_context.h"
#include "kernels/cuda_device.h"

namespace sa {

struct LayerNormShape {
  int rows, width;
  float eps;
};

void layerNormCpu(const CpuContext& ctx, const LayerNormShape& s, const float* x, const float* weight,
                  const float* bias, float* y);

// dtype: Float32, Float16 or BFloat16 for every tensor.
void layerNormCuda(cuda::Stream stream, const LayerNormShape& s, DType dtype, const void* x, const void* weight,
                   const void* bias, void* y);

}  // namespace sa
