// Element-wise activations and sums on CUDA: grid-stride loops, float32 arithmetic.
#include <cuda_runtime.h>

#include <algorithm>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "kernels/elementwise.h"
#include "kernels/half.h"

namespace sa {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535;

unsigned blocksFor(int64_t n) { return unsigned(std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks)); }

template <DType T>
__global__ void activationKernel(Activation f, int64_t n, const typename Storage<T>::type* x,
                                 typename Storage<T>::type* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = Storage<T>::store(activate(f, Storage<T>::load(x[i])));
}

template <DType T>
__global__ void addKernel(int64_t n, const typename Storage<T>::type* a, const typename Storage<T>::type* b,
                          typename Storage<T>::type* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = Storage<T>::store(Storage<T>::load(a[i]) + Storage<T>::load(b[i]));
}

template <DType T>
void launchActivation(cudaStream_t stream, Activation f, int64_t n, const void* x, void* y) {
  using E = typename Storage<T>::type;
  cuda::launchKernel<activationKernel<T>>(blocksFor(n), kThreads, 0, stream, f, n, static_cast<const E*>(x),
      static_cast<E*>(y));
  SA_CUDA_CHECK_LAUNCH("activation");
}

template <DType T>
void launchAdd(cudaStream_t stream, int64_t n, const void* a, const void* b, void* y) {
  using E = typename Storage<T>::type;
  cuda::launchKernel<addKernel<T>>(blocksFor(n), kThreads, 0, stream, n, static_cast<const E*>(a),
      static_cast<const E*>(b), static_cast<E*>(y));
  SA_CUDA_CHECK_LAUNCH("add");
}

}  // namespace

void activationCuda(cuda::Stream stream, Activation f, DType dtype, int64_t n, const void* x, void* y) {
  if (n == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::Float32: return launchActivation<DType::Float32>(st, f, n, x, y);
    case DType::Float16: return launchActivation<DType::Float16>(st, f, n, x, y);
    case DType::BFloat16: return launchActivation<DType::BFloat16>(st, f, n, x, y);
    default: throw KernelError(ErrorCode::InvalidArgument, "activation: unsupported dtype");
  }
}

void addCuda(cuda::Stream stream, DType dtype, int64_t n, const void* a, const void* b, void* y) {
  if (n == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::Float32: return launchAdd<DType::Float32>(st, n, a, b, y);
    case DType::Float16: return launchAdd<DType::Float16>(st, n, a, b, y);
    case DType::BFloat16: return launchAdd<DType::BFloat16>(st, n, a, b, y);
    default: throw KernelError(ErrorCode::InvalidArgument, "add: unsupported dtype");
  }
}

}  // namespace sa
