// Warp-level building blocks of the CUDA attention kernels: reductions and an online-softmax
// accumulator whose rows are spread over the lanes of one warp (lane owns d = lane + 32 * i).
#pragma once

#include <cuda_runtime.h>

namespace sa::cuda {

constexpr int kWarp = 32;
constexpr int kMaxHeadDim = 256;
constexpr int kMaxDPerLane = kMaxHeadDim / kWarp;

__device__ __forceinline__ float warpMax(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

__device__ __forceinline__ float warpSum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// Running max, running sum and the weighted value sum of one query row.
struct OnlineRow {
  float max = -INFINITY;
  float sum = 0.0f;
  float acc[kMaxDPerLane] = {};

  // Adds a tile of up to 32 keys: lane j holds score j (or -INFINITY when absent);
  // values[j * ldv + d] is key j's value row in shared memory.
  __device__ __forceinline__ void addTile(float score, int nKeys, const float* values, int ldv, int D) {
    const float tileMax = warpMax(score);
    const float newMax = fmaxf(max, tileMax);
    if (newMax == -INFINITY) return;  // nothing visible yet
    const float correction = expf(max - newMax);
    const float p = score == -INFINITY ? 0.0f : expf(score - newMax);
    sum = sum * correction + warpSum(p);
    max = newMax;
#pragma unroll
    for (int i = 0; i < kMaxDPerLane; ++i) acc[i] *= correction;
    for (int j = 0; j < nKeys; ++j) {
      const float pj = __shfl_sync(0xffffffffu, p, j);
      if (pj == 0.0f) continue;
      const float* vrow = values + j * ldv;
#pragma unroll
      for (int i = 0; i < kMaxDPerLane; ++i) {
        const int d = threadIdx.x % kWarp + kWarp * i;
        if (d < D) acc[i] += pj * vrow[d];
      }
    }
  }
};

}  // namespace sa::cuda
