// Tile-level steps of the tensor-core attention kernels (dense, banded, LSH), for one warp that
// owns 16 * MTiles query rows of a padded shared Q tile [rows][D] and meets key/value tiles
// [NTiles * 8][D] in shared memory: scores S = Q·Kᵀ, O += P·V, and the output store. Fragment
// layouts: cuda/mma.cuh; the online softmax between the two products: cuda/mma_softmax.cuh.
#pragma once

#include <cstdint>

#include "cuda/mma.cuh"

namespace sa::cuda::mma {

// The warp's query rows as A fragments, either loaded once into registers or read from the
// shared Q tile at each k-step.
template <int D, int MTiles, bool InRegisters>
struct QueryFragments;

template <int D, int MTiles>
struct QueryFragments<D, MTiles, true> {
  uint32_t a[MTiles][D / 16][4];
  __device__ __forceinline__ void load(const uint16_t* qs, int row0, int lane) {
#pragma unroll
    for (int m = 0; m < MTiles; ++m)
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) ldmatrixX4(a[m][kk], qs + fragmentAOffset<D>(row0 + 16 * m, 2 * kk, lane));
  }
  __device__ __forceinline__ void get(int m, int kk, uint32_t (&out)[4]) const {
#pragma unroll
    for (int i = 0; i < 4; ++i) out[i] = a[m][kk][i];
  }
};

template <int D, int MTiles>
struct QueryFragments<D, MTiles, false> {
  const uint16_t* qs;
  int row0, lane;
  __device__ __forceinline__ void load(const uint16_t* tile, int firstRow, int laneId) {
    qs = tile, row0 = firstRow, lane = laneId;
  }
  __device__ __forceinline__ void get(int m, int kk, uint32_t (&out)[4]) const {
    ldmatrixX4(out, qs + fragmentAOffset<D>(row0 + 16 * m, 2 * kk, lane));
  }
};

// sc[m][n] += Q rows (m-tile m) · K rows 8n..8n+7 of the staged key tile ks [NTiles * 8][D]:
// the product loop of every tensor-core kernel (a linear layer's rows of x are its queries).
template <DType T, int D, int MTiles, int NTiles, class Query>
__device__ __forceinline__ void accumulateScores(float (&sc)[MTiles][NTiles][4], const Query& query,
                                                 const uint16_t* ks, int lane) {
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    uint32_t a[MTiles][4];
#pragma unroll
    for (int m = 0; m < MTiles; ++m) query.get(m, kk, a[m]);
#pragma unroll
    for (int nn = 0; nn < NTiles / 2; ++nn) {
      uint32_t b[4];
      ldmatrixX4(b, ks + fragmentBOffset<D>(16 * nn, 2 * kk, lane));
#pragma unroll
      for (int m = 0; m < MTiles; ++m) {
        mma16816<T>(sc[m][2 * nn], a[m], b[0], b[1]);
        mma16816<T>(sc[m][2 * nn + 1], a[m], b[2], b[3]);
      }
    }
  }
}

// sc[m][n] = Q rows (m-tile m) · K rows 8n..8n+7.
template <DType T, int D, int MTiles, int NTiles, class Query>
__device__ __forceinline__ void computeScores(float (&sc)[MTiles][NTiles][4], const Query& query, const uint16_t* ks,
                                              int lane) {
#pragma unroll
  for (int m = 0; m < MTiles; ++m)
#pragma unroll
    for (int n = 0; n < NTiles; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) sc[m][n][e] = 0.0f;
  accumulateScores<T, D>(sc, query, ks, lane);
}

// The softmax needs a positive scale (cuda/mma_softmax.cuh): for a negative one the query tile
// is negated in place, which is exact in float16 and bfloat16 (a sign flip), and |scale| used.
// All Threads threads of the block take part.
template <int D, int Rows, int Threads>
__device__ __forceinline__ void negateTile(uint16_t* tile) {
  using Tile = PaddedTile<D>;
  for (int idx = int(threadIdx.x); idx < Rows * Tile::kChunks; idx += Threads) {
    uint4& chunk = *reinterpret_cast<uint4*>(tile + Tile::offset(idx / Tile::kChunks, idx % Tile::kChunks));
    chunk.x ^= 0x80008000u, chunk.y ^= 0x80008000u, chunk.z ^= 0x80008000u, chunk.w ^= 0x80008000u;
  }
}

// o[m][d] += P (the probabilities left in sc) · V rows of the staged value tile vs [NTiles * 8][D].
template <DType T, int D, int MTiles, int NTiles>
__device__ __forceinline__ void accumulateValues(float (&o)[MTiles][D / 8][4], const float (&p)[MTiles][NTiles][4],
                                                 const uint16_t* vs, int lane) {
#pragma unroll
  for (int kk = 0; kk < NTiles / 2; ++kk) {
    uint32_t a[MTiles][4];
#pragma unroll
    for (int m = 0; m < MTiles; ++m) scoresToA<T>(a[m], p[m][2 * kk], p[m][2 * kk + 1]);
#pragma unroll
    for (int dn = 0; dn < D / 16; ++dn) {
      uint32_t b[4];
      ldmatrixX4Trans(b, vs + fragmentAOffset<D>(16 * kk, 2 * dn, lane));
#pragma unroll
      for (int m = 0; m < MTiles; ++m) {
        mma16816<T>(o[m][2 * dn], a[m], b[0], b[1]);
        mma16816<T>(o[m][2 * dn + 1], a[m], b[2], b[3]);
      }
    }
  }
}

// Stages the warp's rows, each multiplied by rowScale[m][h] (the softmax's 1 / sum, or 0), in its
// own rows of the (no longer needed) Q tile and writes each row r of the tile to rowOut(r) with
// 16-byte stores; rowOut returns nullptr for a row that is not written.
template <DType T, int D, int MTiles, class RowOut>
__device__ __forceinline__ void storeRows(uint16_t* stage, const float (&o)[MTiles][D / 8][4],
                                          const float (&rowScale)[MTiles][2], int warpRow0, int lane, RowOut rowOut) {
  using Tile = PaddedTile<D>;
#pragma unroll
  for (int m = 0; m < MTiles; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float f = rowScale[m][h];
      const int row = warpRow0 + 16 * m + lane / 4 + 8 * h;
#pragma unroll
      for (int d = 0; d < D / 8; ++d)
        *reinterpret_cast<uint32_t*>(stage + Tile::offset(row, d) + 2 * (lane % 4)) =
            pack2<T>(o[m][d][2 * h] * f, o[m][d][2 * h + 1] * f);
    }
  __syncwarp();
#pragma unroll
  for (int i = 0; i < MTiles * 16 * Tile::kChunks / 32; ++i) {
    const int idx = i * 32 + lane, r = warpRow0 + idx / Tile::kChunks, c = idx % Tile::kChunks;
    if (uint16_t* dst = rowOut(r))
      *reinterpret_cast<uint4*>(dst + c * kChunk) = *reinterpret_cast<const uint4*>(stage + Tile::offset(r, c));
  }
}

}  // namespace sa::cuda::mma
