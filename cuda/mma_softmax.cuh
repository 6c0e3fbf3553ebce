// Online softmax over score tiles held as mma.sync accumulators (see cuda/mma.cuh for the
// fragment layout). A warp owns M = 16 * MTiles query rows; the thread with lane = 4g + t holds,
// for m-tile m, rows 16m + g (half 0: c0, c1) and 16m + g + 8 (half 1: c2, c3), and in each n8
// tile the columns 2t and 2t + 1. A row is therefore spread over the 4 lanes of a quad.
//
// Scores arrive raw (q·k, -INFINITY where masked) with scaleLog2 = scale * log2(e) > 0: the
// running max is kept in log2 units, and each probability is one FFMA and one MUFU.EX2.
#pragma once

#include <cuda_runtime.h>

#include "cuda/ptx.cuh"

namespace sa::cuda::mma {

constexpr float kLog2e = 1.4426950408889634f;

// 2^x with flush to zero, no special-casing of large negative inputs (exp2f adds a compare and
// two multiplies per call for results below 2^-126, which are 0 to a softmax anyway).
__device__ __forceinline__ float fastExp2(float x) { return ptx::ex2Approx(x); }

__device__ __forceinline__ float quadMax(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quadSum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

// Running max and (per-lane partial) sum of each row the thread holds; the partial sums are
// reduced over the quad once, at the end, since every rescaling factor is the same in a quad.
template <int MTiles>
struct OnlineSoftmax {
  float max[MTiles][2];
  float sum[MTiles][2];

  __device__ __forceinline__ OnlineSoftmax() {
#pragma unroll
    for (int m = 0; m < MTiles; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) max[m][h] = -INFINITY, sum[m][h] = 0.0f;
  }

  // Turns the raw scores s[m][n][.] (NTiles n8 tiles of keys, -INFINITY where masked) into
  // unnormalised probabilities in place, and rescales the output accumulators o[m][d][.]
  // (DTiles n8 tiles of features) to the new running max. scaleLog2 must be positive, so
  // that the max of the raw scores is the max of the scaled ones and -inf stays -inf.
  template <int NTiles, int DTiles>
  __device__ __forceinline__ void update(float (&s)[MTiles][NTiles][4], float (&o)[MTiles][DTiles][4],
                                         float scaleLog2) {
#pragma unroll
    for (int m = 0; m < MTiles; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float tileMax = -INFINITY;
#pragma unroll
        for (int n = 0; n < NTiles; ++n) tileMax = fmaxf(tileMax, fmaxf(s[m][n][2 * h], s[m][n][2 * h + 1]));
        const float newMax = fmaxf(max[m][h], quadMax(tileMax) * scaleLog2);
        // A row with no visible key so far keeps max = -inf; subtracting 0 then keeps every
        // exp2 at exactly 0 instead of NaN (banded and LSH rows can start fully masked).
        const float base = newMax == -INFINITY ? 0.0f : newMax;
        const float correction = fastExp2(max[m][h] - base);
        max[m][h] = newMax;
        float rowSum = 0.0f;
#pragma unroll
        for (int n = 0; n < NTiles; ++n)
#pragma unroll
          for (int e = 0; e < 2; ++e)
            rowSum += (s[m][n][2 * h + e] = fastExp2(fmaf(s[m][n][2 * h + e], scaleLog2, -base)));
        sum[m][h] = sum[m][h] * correction + rowSum;
#pragma unroll
        for (int d = 0; d < DTiles; ++d) o[m][d][2 * h] *= correction, o[m][d][2 * h + 1] *= correction;
      }
  }

  // Turns raw scores into probabilities relative to the running max as it stands, leaving the
  // sums alone: for a tile whose P·V is summed after the last update (cuda/mma_attention.cuh),
  // whose probabilities the sums already hold.
  template <int NTiles>
  __device__ __forceinline__ void exponentiate(float (&s)[MTiles][NTiles][4], float scaleLog2) const {
#pragma unroll
    for (int m = 0; m < MTiles; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const float base = max[m][h] == -INFINITY ? 0.0f : max[m][h];  // as in update
#pragma unroll
        for (int n = 0; n < NTiles; ++n)
#pragma unroll
          for (int e = 0; e < 2; ++e) s[m][n][2 * h + e] = fastExp2(fmaf(s[m][n][2 * h + e], scaleLog2, -base));
      }
  }

  // 1 / (sum of the row over the quad); 0 for a row that saw no key, so that it comes out 0.
  __device__ __forceinline__ float inverseSum(int m, int h) const {
    const float total = quadSum(sum[m][h]);
    return total > 0.0f ? 1.0f / total : 0.0f;
  }
};

}  // namespace sa::cuda::mma
