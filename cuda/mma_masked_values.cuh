// P·V over a key tile that has masked keys and a non-finite value, for the tensor-core
// mainloop (cuda/mma_attention.cuh, which decides when). A masked key's probability is 0, but
// accumulateValues (cuda/mma_tile.cuh) still multiplies its value row into every row of the
// product, and 0 · NaN and 0 · ±inf are NaN: a NaN behind a causal mask, in padding or outside
// a window would reach queries that must not see it. Such tiles are rare, so the plain product
// serves every other tile:
//   1. each thread tells whether the value chunks it copied into the staged tile hold a NaN or
//      an infinity (ownChunksNonFinite, after its cp.async copies have landed), and the block
//      ORs that, only for tiles that mask keys;
//   2. for a tile that has both, each warp stages its rows' probabilities in shared memory,
//      a masked key's as -0 (no probability is negative: it marks "not seen"), and sums
//      P·V in float32 over the seen keys only (stageProbabilities, accumulateStagedValues),
//      in a pass after the main loop, which runs at the register limit.
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
// copyRowsAsync gives thread threadIdx.x) hold a NaN or an infinity. Reads
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

// A staged probability of a key the row does not see: -0, which no probability is.
constexpr uint16_t kUnseen = 0x8000u;

// Rows of a block's staged probabilities: [rows][kRowStride] 16-bit operands; the two extra
// elements spread the rows that a warp's quads read together over the banks.
template <int Keys>
struct StagedProbabilities {
  static constexpr int kRowStride = Keys + 2;
  static constexpr int kElements(int rows) { return rows * kRowStride; }
};

// Writes the warp's probabilities p (sc[MTiles][NTiles][4] after the softmax) to its rows of
// stage, as the operands mma.sync would see, kUnseen where !visible(r, c): r the row of the
// block's tile (warpRow0 + 16m + lane / 4 + 8h), c the key's index in the tile.
template <DType T, int MTiles, int NTiles, class Visible>
__device__ __forceinline__ void stageProbabilities(uint16_t* stage, const float (&p)[MTiles][NTiles][4], int warpRow0,
                                                   int lane, Visible visible) {
  constexpr int kStride = StagedProbabilities<NTiles * 8>::kRowStride;
#pragma unroll
  for (int m = 0; m < MTiles; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = warpRow0 + 16 * m + lane / 4 + 8 * h;
#pragma unroll
      for (int n = 0; n < NTiles; ++n) {
        const int c = 8 * n + 2 * (lane % 4);
        uint32_t pair = pack2<T>(p[m][n][2 * h], p[m][n][2 * h + 1]);
        if (!visible(r, c)) pair = (pair & 0xffff0000u) | kUnseen;
        if (!visible(r, c + 1)) pair = (pair & 0x0000ffffu) | (uint32_t(kUnseen) << 16);
        *reinterpret_cast<uint32_t*>(stage + r * kStride + c) = pair;
      }
    }
}

// o[m][d] += P · V over the Keys keys of the staged value tile vs [Keys][D], in float32, with
// the warp's probabilities from stage (stageProbabilities); unseen keys are skipped. All 32
// lanes of the warp take part.
template <DType T, int D, int MTiles, int Keys>
__device__ __forceinline__ void accumulateStagedValues(float (&o)[MTiles][D / 8][4], const uint16_t* stage,
                                                       const uint16_t* vs, int warpRow0, int lane) {
  using Tile = PaddedTile<D>;
  constexpr int kStride = StagedProbabilities<Keys>::kRowStride;
  __syncwarp();  // the warp's lanes have staged their probabilities
#pragma unroll
  for (int m = 0; m < MTiles; ++m) {  // an m-tile at a time: few registers live besides o
    const uint16_t* rows = stage + (warpRow0 + 16 * m + lane / 4) * kStride;
#pragma unroll 1
    for (int j = 0; j < Keys; ++j) {
      float pj[2];
      bool seen[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const uint16_t bits = rows[8 * h * kStride + j];
        seen[h] = bits != kUnseen;
        pj[h] = operandValue<T>(bits);
      }
      // Features 8d + 2 (lane % 4) and the next of key j.
      const uint16_t* vrow = vs + Tile::offset(j, 0) + 2 * (lane % 4);
#pragma unroll
      for (int d = 0; d < D / 8; ++d) {
        const uint32_t pair = *reinterpret_cast<const uint32_t*>(vrow + d * kChunk);
        const float v0 = operandValue<T>(uint16_t(pair & 0xffffu)), v1 = operandValue<T>(uint16_t(pair >> 16));
#pragma unroll
        for (int h = 0; h < 2; ++h)
          if (seen[h]) {
            o[m][d][2 * h] += pj[h] * v0;
            o[m][d][2 * h + 1] += pj[h] * v1;
          }
      }
    }
  }
  __syncwarp();  // read before the warp stages the next tile's
}

}  // namespace sa::cuda::mma
