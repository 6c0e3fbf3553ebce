// Element-wise functions of n values: activations and the sum of two tensors.
//
//   x, a, b, y   [n]   of one dtype (float32, float16 or bfloat16), computed in float32
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/common.h"
#include "kernels/cpu_context.h"
#include "kernels/cuda_device.h"

namespace sa {

// The activations of Hugging Face's ACT2FN that the models use.
enum class Activation : int {
  Gelu,  // "gelu": x · ½ · (1 + erf(x / √2)), the exact form
  Relu,  // "relu"
  Tanh,  // the pooler's
};

SA_HD float activate(Activation f, float x) {
  switch (f) {
    case Activation::Gelu: return x * 0.5f * (1.0f + erff(x * 0.70710678118654752440f));
    case Activation::Relu: return x > 0.0f ? x : (x == x ? 0.0f : x);  // NaN stays NaN, as in torch
    default: return tanhf(x);
  }
}

void activationCpu(const CpuContext& ctx, Activation f, int64_t n, const float* x, float* y);
void activationCuda(cuda::Stream stream, Activation f, DType dtype, int64_t n, const void* x, void* y);

void addCpu(const CpuContext& ctx, int64_t n, const float* a, const float* b, float* y);
void addCuda(cuda::Stream stream, DType dtype, int64_t n, const void* a, const void* b, void* y);

}  // namespace sa
