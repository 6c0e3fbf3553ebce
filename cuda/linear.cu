// y = x · Wᵀ + b on CUDA, float32 accumulation: a block computes a 64 × 64 tile of y from
// 16-deep slices of x and W staged in shared memory (transposed, so that the inner loop reads
// rows of the slices); each of its 256 threads owns a 4 × 4 sub-tile in registers. Half
// precision with whole 16-byte rows runs on tensor cores instead (cuda/linear_mma.cu).
#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/linear_mma.h"
#include "kernels/half.h"
#include "kernels/linear.h"

namespace sa {

namespace {

constexpr int kTile = 64;   // rows and columns of y per block
constexpr int kDepth = 16;  // input features per shared-memory slice
constexpr int kThreads = 256;
constexpr int kSide = 16;   // threads per row and column of the block
constexpr int kPerThread = kTile / kSide;

// x [rows, in], w [out, in], bias [out] or null, y [rows, out]. Grid: (row tiles, column tiles).
template <DType T>
__global__ void __launch_bounds__(kThreads) linearKernel(LinearShape s, const typename Storage<T>::type* x,
                                                         const typename Storage<T>::type* w,
                                                         const typename Storage<T>::type* bias,
                                                         typename Storage<T>::type* y) {
  __shared__ float xs[kDepth][kTile + 1];  // xs[k][r] = x[row0 + r, k0 + k]; +1 spreads the stores over banks
  __shared__ float ws[kDepth][kTile + 1];  // ws[k][c] = w[col0 + c, k0 + k]
  const int tx = int(threadIdx.x) % kSide, ty = int(threadIdx.x) / kSide;
  const int64_t row0 = int64_t(blockIdx.x) * kTile;
  const int col0 = int(blockIdx.y) * kTile;
  float acc[kPerThread][kPerThread] = {};
  for (int k0 = 0; k0 < s.in; k0 += kDepth) {
    for (int i = int(threadIdx.x); i < kTile * kDepth; i += kThreads) {
      const int r = i / kDepth, k = i % kDepth;  // neighbouring threads read neighbouring features
      const bool inDepth = k0 + k < s.in;
      const int64_t xr = row0 + r;
      const int wr = col0 + r;
      xs[k][r] = inDepth && xr < s.rows ? Storage<T>::load(x[xr * s.in + k0 + k]) : 0.0f;
      ws[k][r] = inDepth && wr < s.out ? Storage<T>::load(w[int64_t(wr) * s.in + k0 + k]) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kDepth; ++k) {
      float a[kPerThread], b[kPerThread];
#pragma unroll
      for (int i = 0; i < kPerThread; ++i) {
        a[i] = xs[k][ty + kSide * i];
        b[i] = ws[k][tx + kSide * i];
      }
#pragma unroll
      for (int i = 0; i < kPerThread; ++i)
#pragma unroll
        for (int j = 0; j < kPerThread; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    const int64_t row = row0 + ty + kSide * i;
    if (row >= s.rows) continue;
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const int col = col0 + tx + kSide * j;
      if (col >= s.out) continue;
      const float b = bias ? Storage<T>::load(bias[col]) : 0.0f;
      y[row * s.out + col] = Storage<T>::store(acc[i][j] + b);
    }
  }
}

template <DType T>
void launch(cudaStream_t stream, const LinearShape& s, const void* x, const void* w, const void* bias, void* y) {
  using E = typename Storage<T>::type;
  const dim3 grid(unsigned((s.rows + kTile - 1) / kTile), unsigned((s.out + kTile - 1) / kTile));
  cuda::launchKernel<linearKernel<T>>(grid, kThreads, 0, stream, s, static_cast<const E*>(x), static_cast<const E*>(w),
      static_cast<const E*>(bias), static_cast<E*>(y));
  SA_CUDA_CHECK_LAUNCH("linear");
}

}  // namespace

void linearCuda(cuda::Stream stream, const LinearShape& s, DType dtype, const void* x, const void* w,
                const void* bias, void* y) {
  if (int64_t(s.rows) * s.out == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (linearMmaSupports(s, dtype, x, w)) return linearMma(st, s, dtype, x, w, bias, y);
  switch (dtype) {
    case DType::Float32: return launch<DType::Float32>(st, s, x, w, bias, y);
    case DType::Float16: return launch<DType::Float16>(st, s, x, w, bias, y);
    case DType::BFloat16: return launch<DType::BFloat16>(st, s, x, w, bias, y);
    default: throw KernelError(ErrorCode::InvalidArgument, "linear: unsupported dtype");
  }
}

}  // namespace sa
