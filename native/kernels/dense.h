// Full softmax attention, tiled with an online softmax (never holds the Lq x Lk matrix).
//
//   q   [B, H, Lq, D]    k, v [B, H, Lk, D]    out [B, H, Lq, D]
//   (or, tokenMajor, [B, Lq, H * D] and [B, Lk, H * D]: kernels/head_layout.h)
//   out[i] = sum_j softmax_j(scale * q[i] . k[j]) v[j],  causal: keys j <= i only
#pragma once

#include "kernels/common.h"
#include "kernels/cpu_context.h"
#include "kernels/cuda_device.h"
#include "kernels/head_layout.h"

namespace sa {

struct DenseShape {
  int B, H, Lq, Lk, D;
  float scale;
  bool causal;
  bool tokenMajor;  // 'blhd' layout for every tensor
};

SA_HD HeadLayout queryLayout(const DenseShape& s) { return {s.H, s.Lq, s.D, s.tokenMajor}; }
SA_HD HeadLayout keyLayout(const DenseShape& s) { return {s.H, s.Lk, s.D, s.tokenMajor}; }

// Keys visible to query i are [0, denseKeyEnd(i)).
SA_HD int denseKeyEnd(const DenseShape& s, int i) { return s.causal ? (i + 1 < s.Lk ? i + 1 : s.Lk) : s.Lk; }

void denseAttentionCpu(const CpuContext& ctx, const DenseShape& s, const float* q, const float* k, const float* v,
                       float* out);

// dtype: Float32, Float16 or BFloat16 for q, k, v and out; float32 accumulation.
void denseAttentionCuda(cuda::Stream stream, const DenseShape& s, DType dtype, const void* q, const void* k,
                        const void* v, void* out);

}  // namespace sa
