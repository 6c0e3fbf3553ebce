// The CUDA-core attention mainloop, float32 throughout, shared by the general kernels of every
// attention op (dense, sliding-window, LSH and Reformer's chunked local attention: every dtype
// and head dimension the tensor-core mainloop of cuda/mma_attention.cuh does not take). A block
// of kWarps warps keeps kQueryTile query rows in shared memory while tiles of up to kKeyTile
// keys and values stream through; each warp owns kRowsPerWarp rows, lane j scores key j of the
// tile, and each row runs an online softmax (cuda::OnlineRow, whose rule keeps a key that is
// not present out of the row, not even as 0·NaN).
//
// An op is an instantiation with two parameters:
//   - a key-tile source, with
//       int count() const                    the number of key tiles, block-uniform;
//       int size(int t) const                the keys in tile t, at most kKeyTile;
//       void load(int t, float* ks, float* vs, int ld) const
//                                            writes tile t's key and value rows, `ld` floats
//                                            apart, with all threads of the block (it may hold
//                                            barriers of its own);
//   - a mask policy, with
//       bool takesPart(int t, int r) const   warp-uniform: whether row r of the query tile
//                                            meets tile t at all;
//       bool present(int t, int r, int j) const
//                                            whether the row sees key j of the tile (j < size);
//       float score(int t, int r, int j, float dot) const
//                                            the score of a present key from q·k (q already
//                                            scaled: the identity, or LSH's replacement masks).
#pragma once

#include <cuda_runtime.h>

#include "cuda/warp_softmax.cuh"

namespace sa::cuda {

constexpr int kAttentionWarps = 4;
constexpr int kRowsPerWarp = 4;
constexpr int kQueryTile = kAttentionWarps * kRowsPerWarp;
constexpr int kKeyTile = kWarp;

// Shared memory of the mainloop for head dimension D: queries [kQueryTile][D + 1], then keys and
// values [kKeyTile][D + 1] (+1 spreads the rows over the banks); a kernel's own data follows.
struct WarpAttentionSmem {
  int ld;
  float *q, *k, *v;
  __device__ __forceinline__ WarpAttentionSmem(float* base, int D)
      : ld(D + 1), q(base), k(base + kQueryTile * (D + 1)), v(k + kKeyTile * (D + 1)) {}
  __device__ __forceinline__ float* extra() const { return v + kKeyTile * ld; }
  static size_t bytes(int D) { return size_t(kQueryTile + 2 * kKeyTile) * (D + 1) * sizeof(float); }
};

__device__ __forceinline__ float rowDot(const float* a, const float* b, int D) {
  float dot = 0.0f;
  for (int d = 0; d < D; ++d) dot += a[d] * b[d];
  return dot;
}

// Runs the block over every key tile of `keys`; the query rows are in sm.q (written before the
// call, published by the loop's first barrier). rows[rr] is row warp * kRowsPerWarp + rr.
template <class Keys, class Mask>
__device__ __forceinline__ void warpAttentionMainloop(const WarpAttentionSmem& sm, int D, const Keys& keys,
                                                      const Mask& mask, OnlineRow (&rows)[kRowsPerWarp]) {
  const int warp = int(threadIdx.x) / kWarp, lane = int(threadIdx.x) % kWarp;
  const int nTiles = keys.count();
  for (int t = 0; t < nTiles; ++t) {
    const int n = keys.size(t);
    __syncthreads();  // the previous tile has been read (and the queries written)
    keys.load(t, sm.k, sm.v, sm.ld);
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int r = warp * kRowsPerWarp + rr;
      if (!mask.takesPart(t, r)) continue;  // warp-uniform
      const bool present = lane < n && mask.present(t, r, lane);
      const float score = present ? mask.score(t, r, lane, rowDot(sm.q + r * sm.ld, sm.k + lane * sm.ld, D)) : -INFINITY;
      rows[rr].addTile(score, present, n, sm.v, sm.ld, D);
    }
  }
}

}  // namespace sa::cuda
