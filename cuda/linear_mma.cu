// y = x · Wᵀ + b on tensor cores, float16 / bfloat16 operands with float32 accumulation: a
// block of 4 warps computes a 128 × 64 tile of y, each warp 32 rows (two m16 tiles) by 64
// columns (eight n8 tiles). 64-deep slices of x and W stream through padded shared tiles,
// double-buffered with cp.async; the product is the Q·Kᵀ of the attention kernels with the
// rows of x as queries and the rows of W as keys (accumulateScores, cuda/mma_tile.cuh).
#include <cstdint>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/linear_mma.h"
#include "cuda/mma.cuh"
#include "cuda/mma_tile.cuh"
#include "cuda/ptx.cuh"
#include "kernels/half.h"

namespace sa {

namespace {

using namespace cuda::mma;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kMTiles = 2;                   // m16 tiles per warp
constexpr int kBlockM = kWarps * 16 * kMTiles;  // 128 rows of x
constexpr int kBlockN = 64;                  // rows of W (output features)
constexpr int kNTiles = kBlockN / 8;
constexpr int kDepth = 64;                   // input features per slice
using Tile = PaddedTile<kDepth>;
constexpr int kXStage = Tile::kElements(kBlockM);
constexpr int kWStage = Tile::kElements(kBlockN);
constexpr size_t kSmemBytes = size_t(2 * (kXStage + kWStage)) * sizeof(uint16_t);

// Rows [row0, row0 + Rows) and features [k0, k0 + kDepth) of a [rows, in] array into a padded
// shared tile; rows past `rows` and features past `in` are zero-filled (in is a multiple of 8,
// so a 16-byte chunk is either whole or absent).
template <int Rows>
__device__ __forceinline__ void loadSliceAsync(uint16_t* smem, const uint16_t* gmem, int64_t row0, int64_t rows, int in,
                                               int k0) {
  static_assert(Rows * Tile::kChunks % kThreads == 0, "every thread copies the same number of chunks");
#pragma unroll
  for (int i = 0; i < Rows * Tile::kChunks / kThreads; ++i) {
    const int idx = i * kThreads + int(threadIdx.x), r = idx / Tile::kChunks, c = idx % Tile::kChunks;
    const int64_t row = row0 + r;
    const int k = k0 + c * kChunk;
    const bool valid = row < rows && k < in;
    copyAsync16(smem + Tile::offset(r, c), gmem + (valid ? row * in + k : 0), valid);
  }
}

// Grid: (row tiles, column tiles).
template <DType T>
__global__ void __launch_bounds__(kThreads) linearMmaKernel(LinearShape s, const uint16_t* __restrict__ x,
                                                            const uint16_t* __restrict__ w,
                                                            const uint16_t* __restrict__ bias, uint16_t* __restrict__ y) {
#if SA_CUDA_SM80_CODE  // cp.async and bfloat16 mma.sync; older devices never launch it
  SA_DYNAMIC_SHARED(uint4, smemChunks);
  uint16_t* xs = reinterpret_cast<uint16_t*>(smemChunks);
  uint16_t* ws = xs + 2 * kXStage;
  const int64_t row0 = int64_t(blockIdx.x) * kBlockM;
  const int col0 = int(blockIdx.y) * kBlockN;
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  const int warpRow0 = warp * 16 * kMTiles;
  const int slices = (s.in + kDepth - 1) / kDepth;

  auto loadSlice = [&](int t) {
    const int stage = t & 1;
    loadSliceAsync<kBlockM>(xs + stage * kXStage, x, row0, s.rows, s.in, t * kDepth);
    loadSliceAsync<kBlockN>(ws + stage * kWStage, w, col0, s.out, s.in, t * kDepth);
  };

  float acc[kMTiles][kNTiles][4];
#pragma unroll
  for (int m = 0; m < kMTiles; ++m)
#pragma unroll
    for (int n = 0; n < kNTiles; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][n][e] = 0.0f;

  loadSlice(0);
  copyAsyncCommit();
  for (int t = 0; t < slices; ++t) {
    if (t + 1 < slices) loadSlice(t + 1);
    copyAsyncCommit();
    copyAsyncWait<1>();  // slice t has landed, t + 1 is in flight
    __syncthreads();
    QueryFragments<kDepth, kMTiles, false> rows;  // the x rows, read from the stage at each k-step
    rows.load(xs + (t & 1) * kXStage, warpRow0, lane);
    accumulateScores<T, kDepth>(acc, rows, ws + (t & 1) * kWStage, lane);
    __syncthreads();  // the next iteration refills the other stage, the one after this one
  }

  // C fragment: c0, c1 at (g, 2t..2t+1), c2, c3 at (g + 8, 2t..2t+1), g = lane / 4, t = lane % 4.
#pragma unroll
  for (int n = 0; n < kNTiles; ++n)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int col = col0 + 8 * n + 2 * (lane % 4) + e;
      if (col >= s.out) continue;
      const float b = bias ? Storage<T>::load(bias[col]) : 0.0f;
#pragma unroll
      for (int m = 0; m < kMTiles; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int64_t row = row0 + warpRow0 + 16 * m + lane / 4 + 8 * h;
          if (row < s.rows) y[row * s.out + col] = Storage<T>::store(acc[m][n][2 * h + e] + b);
        }
    }
#endif
}

template <DType T>
void launch(cudaStream_t stream, const LinearShape& s, const void* x, const void* w, const void* bias, void* y) {
  constexpr auto kernel = linearMmaKernel<T>;
  SA_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kSmemBytes)), "linear");
  const dim3 grid(unsigned((int64_t(s.rows) + kBlockM - 1) / kBlockM), unsigned((s.out + kBlockN - 1) / kBlockN));
  cuda::launchKernel<kernel>(grid, kThreads, kSmemBytes, stream, s, static_cast<const uint16_t*>(x),
                             static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(bias), static_cast<uint16_t*>(y));
  SA_CUDA_CHECK_LAUNCH("linear");
}

}  // namespace

bool linearMmaSupports(const LinearShape& s, DType dtype, const void* x, const void* w) {
  return (dtype == DType::Float16 || dtype == DType::BFloat16) && s.in > 0 && s.in % kChunk == 0 && aligned16(x) &&
         aligned16(w) && cuda::mma::currentDeviceHasMma();
}

void linearMma(cudaStream_t stream, const LinearShape& s, DType dtype, const void* x, const void* w, const void* bias,
               void* y) {
  if (dtype == DType::Float16) return launch<DType::Float16>(stream, s, x, w, bias, y);
  return launch<DType::BFloat16>(stream, s, x, w, bias, y);
}

}  // namespace sa
