// Tensor-core building blocks for sm_80 and later: 16-byte asynchronous copies into padded
// shared-memory tiles, ldmatrix fragment loads and mma.sync.m16n8k16 with float16 or bfloat16
// operands and float32 accumulators. Shared by the dense, banded and LSH attention kernels.
//
// Fragment ownership (PTX ISA, mma.m16n8k16), lane = 4 * g + t:
//   A 16x16 row-major  a0 = (g, 2t..2t+1)  a1 = (g+8, 2t..)  a2 = (g, 2t+8..)  a3 = (g+8, 2t+8..)
//   B 16x8  (k x n)    b0 = (k 2t..2t+1, n g)                b1 = (k 2t+8.., n g)
//   C 16x8  float      c0, c1 = (g, 2t..2t+1)                c2, c3 = (g+8, 2t..2t+1)
// Each register of A and B holds two 16-bit values, the lower column (or k) in the low half.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/ptx.cuh"
#include "kernels/common.h"

namespace sa::cuda::mma {

// Whether the current device runs these instructions (compute capability 8.0 or newer).
inline bool currentDeviceHasMma() {
  int device = 0, major = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return major >= 8;
}

// Whether a tensor's base address allows the 16-byte copies of these kernels.
inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

constexpr int kChunk = 8;  // 16-bit elements per 16-byte chunk

// A shared-memory tile of rows of W 16-bit elements (W a multiple of 64), each row padded by one
// 16-byte chunk: the eight rows an ldmatrix phase reads then start 16 bytes apart modulo 128
// and hit distinct banks. Padding rather than an XOR swizzle keeps every fragment address an
// immediate offset from one per-lane base, which saves the registers a swizzle's per-chunk
// addresses would hold.
template <int W>
struct PaddedTile {
  static_assert(W % 64 == 0, "rows must span whole 128-byte lines");
  static constexpr int kChunks = W / kChunk;
  static constexpr int kStride = W + kChunk;
  static constexpr int kElements(int rows) { return rows * kStride; }
  __host__ __device__ __forceinline__ static int offset(int row, int chunk) { return row * kStride + chunk * kChunk; }
};

// 16 bytes global -> shared without a register round trip; zero-fills when !valid (rows past
// the end of a sequence must be zero, not stale: a 0 probability times a NaN is still NaN).
__device__ __forceinline__ void copyAsync16(void* smem, const void* gmem, bool valid) {
  ptx::cpAsync16(smem, gmem, valid ? 16 : 0);
}
__device__ __forceinline__ void copyAsyncCommit() { ptx::cpAsyncCommit(); }
// Waits until at most `Pending` committed groups of this thread are still in flight.
template <int Pending>
__device__ __forceinline__ void copyAsyncWait() {
  ptx::cpAsyncWait<Pending>();
}

// The one tile copier of these kernels: copies rows rowOf(0..Rows) of a global array of
// W-element rows, `ld` elements apart (a multiple of 8, so that every row stays 16-byte
// aligned), into a padded shared tile with all Threads threads of the block; rowOf(r) < 0
// zero-fills row r. Thread threadIdx.x copies chunks threadIdx.x, threadIdx.x + Threads, ...
// of the tile (ownChunksNonFinite in cuda/mma_masked_values.cuh reads back the same ones).
template <int W, int Rows, int Threads, class RowOf>
__device__ __forceinline__ void copyRowsAsync(uint16_t* smem, const uint16_t* gmem, int64_t ld, RowOf rowOf) {
  using Tile = PaddedTile<W>;
  static_assert(Rows * Tile::kChunks % Threads == 0, "every thread copies the same number of chunks");
#pragma unroll
  for (int i = 0; i < Rows * Tile::kChunks / Threads; ++i) {
    const int idx = i * Threads + int(threadIdx.x), r = idx / Tile::kChunks, c = idx % Tile::kChunks;
    const int row = rowOf(r);
    copyAsync16(smem + Tile::offset(r, c), gmem + (row >= 0 ? row * ld + c * kChunk : 0), row >= 0);
  }
}

// Rows [0, validRows) of a global tile, `ld` elements apart; the rows after are zero-filled.
template <int W, int Rows, int Threads>
__device__ __forceinline__ void loadTileAsync(uint16_t* smem, const uint16_t* gmem, int64_t ld, int validRows) {
  copyRowsAsync<W, Rows, Threads>(smem, gmem, ld, [validRows](int r) { return r < validRows ? r : -1; });
}

// Four 8x8 matrices of 16-bit values; lane l supplies the address of row l % 8 of matrix l / 8
// and receives, in register i, row g and columns 2t..2t+1 of matrix i.
__device__ __forceinline__ void ldmatrixX4(uint32_t (&r)[4], const void* smem) { ptx::ldmatrixX4(r, smem); }
// Same, transposed: register i receives rows 2t..2t+1 and column g of matrix i.
__device__ __forceinline__ void ldmatrixX4Trans(uint32_t (&r)[4], const void* smem) { ptx::ldmatrixX4Trans(r, smem); }

// Lane's ldmatrix address inside a padded tile for a 16x16 block at (row0, chunk0), as
// A fragment (a0..a3) or, on a [n][k] tile (keys by row), as B fragments of two n8 tiles.
template <int W>
__host__ __device__ __forceinline__ int fragmentAOffset(int row0, int chunk0, int lane) {
  return PaddedTile<W>::offset(row0 + (lane & 15), chunk0 + (lane >> 4));
}
// Registers come back as {b0, b1} of rows row0..+7, then {b0, b1} of rows row0+8..+15.
template <int W>
__host__ __device__ __forceinline__ int fragmentBOffset(int row0, int chunk0, int lane) {
  return PaddedTile<W>::offset(row0 + (lane & 7) + ((lane >> 4) << 3), chunk0 + ((lane >> 3) & 1));
}
// On a [k][n] tile (values: keys by row, features by column) loaded with ldmatrixX4Trans, the
// A-style address yields {b0, b1} of the n8 tile at chunk0, then {b0, b1} of chunk0 + 1.

// Packs two floats into the 16-bit operand type, `lo` in the low half (round to nearest even).
template <DType T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi);
template <>
__device__ __forceinline__ uint32_t pack2<DType::Float16>(float lo, float hi) {
  __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&h);
}
template <>
__device__ __forceinline__ uint32_t pack2<DType::BFloat16>(float lo, float hi) {
  __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&h);
}

// d += a * b for one m16n8k16 tile.
template <DType T>
__device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void mma16816<DType::Float16>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                                         uint32_t b1) {
  ptx::mmaM16N8K16F16(d, a, b0, b1);
}
template <>
__device__ __forceinline__ void mma16816<DType::BFloat16>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                                          uint32_t b1) {
  ptx::mmaM16N8K16Bf16(d, a, b0, b1);
}

// The A fragment of P (16 rows x 16 keys) for P·V from the float C fragments of two adjacent
// n8 score tiles: the accumulator layout of S is the operand layout of P, no shuffles needed.
template <DType T>
__device__ __forceinline__ void scoresToA(uint32_t (&a)[4], const float (&lo)[4], const float (&hi)[4]) {
  a[0] = pack2<T>(lo[0], lo[1]);
  a[1] = pack2<T>(lo[2], lo[3]);
  a[2] = pack2<T>(hi[0], hi[1]);
  a[3] = pack2<T>(hi[2], hi[3]);
}

}  // namespace sa::cuda::mma
