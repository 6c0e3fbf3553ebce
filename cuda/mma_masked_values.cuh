// P·V over a key tile that has masked keys and a non-finite value, for the tensor-core kernels
// (dense, banded). A masked key's probability is 0, but accumulateValues (cuda/mma_tile.cuh)
// still multiplies its value row into every row of the product, and 0 · NaN and 0 · ±inf are
// NaN: a NaN behind a causal mask, in padding or outside a window would reach queries that must
// not see it. Such tiles are rare, so the kernels keep the plain product for every other tile:
//   1. each thread tells whether the value chunks it copied into the staged tile hold a NaN or
//      an infinity (ownChunksNonFinite, after its cp.async copies have landed), and the block
//      ORs that into the barrier that publishes the tile, only for tiles that mask keys;
//   2. for a tile that has both, accumulateVisibleValues replaces accumulateValues: 16 x 16
//      blocks of (rows, keys) that every row sees use mma.sync as before, blocks no row sees
//      are skipped, and the few mixed blocks (the diagonal of a causal mask, a window's edge, a
//      padding key) are summed in float32 row by row over the visible keys only.
// The probabilities are rounded to the operand type as mma.sync sees them, so that the result
// differs from the plain product only in the order of the float32 additions.
#pragma once

#include <cstdint>

#include "cuda/mma.cuh"
#include "kernels/half.h"

namespace sa::cuda::mma {

// Whether a 16-bit float of type T (float16 or bfloat16) is NaN or infinite: exponent all ones.
template <DType T>
__device__ __forceinline__ bool nonFinite16(uint32_t bits) {
  constexpr uint32_t kExponent = T == DType::Float16 ? 0x7c00u : 0x7f80u;
  return (bits & kExponent) == kExponent;
}

// Whether the chunks of a padded [Rows][W] tile that this thread copied (the chunks
// loadTileAsync and gatherTileAsync give thread threadIdx.x) hold a NaN or an infinity. Reads
// only the thread's own copies, so it is valid as soon as they have landed (copyAsyncWait),
// before any barrier. Zero-filled rows count as finite.
template <DType T, int W, int Rows, int Threads>
__device__ __forceinline__ bool ownChunksNonFinite(const uint16_t* tile) {
  using Tile = PaddedTile<W>;
  static_assert(Rows * Tile::kChunks % Threads == 0, "every thread copies the same number of chunks");
  bool found = false;
#pragma unroll
  for (int i = 0; i < Rows * Tile::kChunks / Threads; ++i) {
    const int idx = i * Threads + int(threadIdx.x), r = idx / Tile::kChunks, c = idx % Tile::kChunks;
    const uint4 chunk = *reinterpret_cast<const uint4*>(tile + Tile::offset(r, c));
    const uint32_t words[4] = {chunk.x, chunk.y, chunk.z, chunk.w};
#pragma unroll
    for (int w = 0; w < 4; ++w) found = found || nonFinite16<T>(words[w] & 0xffffu) || nonFinite16<T>(words[w] >> 16);
  }
  return found;
}

// A 16-bit operand of type T as float (exact).
template <DType T>
__device__ __forceinline__ float operandValue(uint16_t bits) {
  if constexpr (T == DType::Float16) return __half2float(__ushort_as_half(bits));
  else return bfloat16ToFloat(bits);
}

// x rounded to the 16-bit operand type, as scoresToA hands it to mma.sync.
template <DType T>
__device__ __forceinline__ float asOperand(float x) {
  return operandValue<T>(uint16_t(pack2<T>(x, 0.0f) & 0xffffu));
}

// o[m][d] += P · V like accumulateValues, except that key c of the staged value tile vs
// [NTiles * 8][D] enters row r's sum only where visible(r, c): r is the row of the block's
// tile (warpRow0 + 16m + lane / 4 + 8h), c the key's index in the tile. p holds the
// probabilities (0 wherever visible is false). All 32 lanes of the warp take part.
template <DType T, int D, int MTiles, int NTiles, class Visible>
__device__ __forceinline__ void accumulateVisibleValues(float (&o)[MTiles][D / 8][4],
                                                        const float (&p)[MTiles][NTiles][4], const uint16_t* vs,
                                                        int warpRow0, int lane, Visible visible) {
  using Tile = PaddedTile<D>;
  const int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int m = 0; m < MTiles; ++m) {
    const int row[2] = {warpRow0 + 16 * m + g, warpRow0 + 16 * m + g + 8};
#pragma unroll
    for (int kk = 0; kk < NTiles / 2; ++kk) {
      // The lane's 8 (row, key) pairs of the block: rows g, g + 8; keys 2t, 2t + 1, 2t + 8, 2t + 9.
      bool all = true, none = true;
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const bool v = visible(row[h], 16 * kk + 8 * (j / 2) + 2 * t + j % 2);
          all = all && v;
          none = none && !v;
        }
      all = __all_sync(0xffffffffu, all);
      none = __all_sync(0xffffffffu, none);
      if (none) continue;  // warp-uniform
      if (all) {
        uint32_t a[4];
        scoresToA<T>(a, p[m][2 * kk], p[m][2 * kk + 1]);
#pragma unroll
        for (int dn = 0; dn < D / 16; ++dn) {
          uint32_t b[4];
          ldmatrixX4Trans(b, vs + fragmentAOffset<D>(16 * kk, 2 * dn, lane));
          mma16816<T>(o[m][2 * dn], a, b[0], b[1]);
          mma16816<T>(o[m][2 * dn + 1], a, b[2], b[3]);
        }
        continue;
      }
      // A mixed block: key j's probability for the lane's row sits in quad lane (j % 8) / 2,
      // in the score tile 2kk + j / 8, element 2h + j % 2.
#pragma unroll 1
      for (int j = 0; j < 16; ++j) {
        const int source = (lane & ~3) | ((j % 8) / 2);
        float pj[2];
#pragma unroll
        for (int h = 0; h < 2; ++h) {  // selects between registers: no indexing by j
          const float lo = (j & 1) ? p[m][2 * kk][2 * h + 1] : p[m][2 * kk][2 * h];
          const float hi = (j & 1) ? p[m][2 * kk + 1][2 * h + 1] : p[m][2 * kk + 1][2 * h];
          pj[h] = asOperand<T>(__shfl_sync(0xffffffffu, j < 8 ? lo : hi, source));
        }
        const uint16_t* vrow = vs + Tile::offset(16 * kk + j, 0) + 2 * t;
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          if (!visible(row[h], 16 * kk + j)) continue;
#pragma unroll
          for (int d = 0; d < D / 8; ++d)
#pragma unroll
            for (int e = 0; e < 2; ++e) o[m][d][2 * h + e] += pj[h] * operandValue<T>(vrow[d * kChunk + e]);
        }
      }
    }
  }
}

}  // namespace sa::cuda::mma
