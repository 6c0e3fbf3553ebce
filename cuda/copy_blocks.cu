// Strided block copies on CUDA: one thread per element, 2- or 4-byte elements.
#include <cuda_runtime.h>

#include <algorithm>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "kernels/copy_blocks.h"

namespace sa {

namespace {

template <typename E>
__global__ void copyBlocksKernel(BlockCopy c, const E* src, E* dst) {
  const int64_t total = c.blocks * c.length;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total; idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t block = idx / c.length, i = idx % c.length;
    dst[c.dstOffset + block * c.dstStride + i] = src[c.srcOffset + block * c.srcStride + i];
  }
}

template <typename E>
void launch(cudaStream_t stream, const BlockCopy& c, const void* src, void* dst) {
  const int64_t total = c.blocks * c.length;
  const int threads = 256;
  const int blocks = int(std::min<int64_t>((total + threads - 1) / threads, 65535));
  cuda::launchKernel<copyBlocksKernel<E>>(blocks, threads, 0, stream, c, static_cast<const E*>(src), static_cast<E*>(dst));
  SA_CUDA_CHECK_LAUNCH("copyBlocks");
}

}  // namespace

void copyBlocksCuda(cuda::Stream stream, const BlockCopy& c, const void* src, void* dst) {
  if (c.blocks == 0 || c.length == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (c.elemSize == 2) return launch<uint16_t>(st, c, src, dst);
  return launch<uint32_t>(st, c, src, dst);
}

}  // namespace sa
