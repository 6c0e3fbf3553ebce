// Layer normalisation on CUDA: one warp per row, two passes (mean, squared deviations) over
// the row in float32 before the normalised row is written.
#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/warp_softmax.cuh"
#include "kernels/half.h"
#include "kernels/layer_norm.h"

namespace sa {

namespace {

constexpr int kWarpsPerBlock = 8;

template <DType T>
__global__ void layerNormKernel(LayerNormShape s, const typename Storage<T>::type* x,
                                const typename Storage<T>::type* weight, const typename Storage<T>::type* bias,
                                typename Storage<T>::type* y) {
  const int64_t row = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / cuda::kWarp;
  const int lane = int(threadIdx.x) % cuda::kWarp;
  if (row >= s.rows) return;
  const typename Storage<T>::type* in = x + row * s.width;
  float sum = 0.0f;
  for (int i = lane; i < s.width; i += cuda::kWarp) sum += Storage<T>::load(in[i]);
  const float mean = cuda::warpSum(sum) / float(s.width);
  float squares = 0.0f;
  for (int i = lane; i < s.width; i += cuda::kWarp) {
    const float d = Storage<T>::load(in[i]) - mean;
    squares += d * d;
  }
  const float inv = 1.0f / sqrtf(cuda::warpSum(squares) / float(s.width) + s.eps);
  for (int i = lane; i < s.width; i += cuda::kWarp)
    y[row * s.width + i] = Storage<T>::store((Storage<T>::load(in[i]) - mean) * inv * Storage<T>::load(weight[i]) +
                                             Storage<T>::load(bias[i]));
}

template <DType T>
void launch(cudaStream_t stream, const LayerNormShape& s, const void* x, const void* weight, const void* bias, void* y) {
  using E = typename Storage<T>::type;
  const unsigned blocks = unsigned((s.rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  cuda::launchKernel<layerNormKernel<T>>(blocks, kWarpsPerBlock * cuda::kWarp, 0, stream, s, static_cast<const E*>(x),
      static_cast<const E*>(weight), static_cast<const E*>(bias), static_cast<E*>(y));
  SA_CUDA_CHECK_LAUNCH("layerNorm");
}

}  // namespace

void layerNormCuda(cuda::Stream stream, const LayerNormShape& s, DType dtype, const void* x, const void* weight,
                   const void* bias, void* y) {
  if (int64_t(s.rows) * s.width == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::Float32: return launch<DType::Float32>(st, s, x, weight, bias, y);
    case DType::Float16: return launch<DType::Float16>(st, s, x, weight, bias, y);
    case DType::BFloat16: return launch<DType::BFloat16>(st, s, x, weight, bias, y);
    default: throw KernelError(ErrorCode::InvalidArgument, "layerNorm: unsupported dtype");
  }
}

}  // namespace sa
