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
//
// A key is either present (the row may see it) or absent (masked, outside the tile). Every
// present key enters the weighted sum, whatever its weight: a weight that underflows to 0, or
// the 0 of a score of -inf, still turns a NaN or infinite value into NaN, as in
// softmax(q·kᵀ)·v. Absent keys never touch the row. While every score seen so far is -inf the
// row keeps max = -inf and adds 0·v (the final weights of those keys are 0 whatever comes
// later); a row whose scores are all -inf ends with sum = 0, and acc / sum is NaN.
struct OnlineRow {
  float max = -INFINITY;
  float sum = 0.0f;
  float acc[kMaxDPerLane] = {};

  // Adds a tile of up to 32 keys: lane j holds key j's score and whether it is present (lanes
  // j >= nKeys must be absent); value(j, d) is feature d of key j's value row, as float (a row
  // staged in shared memory, or read from global memory in its storage type).
  template <class Value>
  __device__ __forceinline__ void addTile(float score, bool present, int nKeys, Value value, int D) {
    const unsigned presentKeys = __ballot_sync(0xffffffffu, present);
    if (presentKeys == 0) return;  // nothing visible in this tile
    const float newMax = fmaxf(max, warpMax(present ? score : -INFINITY));
    const float correction = newMax == max ? 1.0f : expf(max - newMax);
    const float p = !present || score == -INFINITY ? 0.0f : expf(score - newMax);
    sum = sum * correction + warpSum(p);
    max = newMax;
#pragma unroll
    for (int i = 0; i < kMaxDPerLane; ++i) acc[i] *= correction;
    for (int j = 0; j < nKeys; ++j) {
      if (!((presentKeys >> j) & 1u)) continue;  // warp-uniform
      const float pj = __shfl_sync(0xffffffffu, p, j);
#pragma unroll
      for (int i = 0; i < kMaxDPerLane; ++i) {
        const int d = threadIdx.x % kWarp + kWarp * i;
        if (d < D) acc[i] += pj * value(j, d);
      }
    }
  }
  // The same with the tile's value rows in shared memory, values[j * ldv + d].
  __device__ __forceinline__ void addTile(float score, bool present, int nKeys, const float* values, int ldv, int D) {
    addTile(score, present, nKeys, [values, ldv](int j, int d) { return values[j * ldv + d]; }, D);
  }
};

}  // namespace sa::cuda
