// Embedding lookup on CUDA: one thread per output element, a gather of table rows.
#include <cuda_runtime.h>

#include <algorithm>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "kernels/embedding.h"

namespace sa {

namespace {

template <typename E>
__global__ void embeddingKernel(EmbeddingShape s, const int32_t* ids, const E* table, E* out, int32_t* errorFlag) {
  const int64_t total = int64_t(s.n) * s.width;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total; idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = idx / s.width;
    const int col = int(idx % s.width);
    const int32_t id = ids[i];
    if (id < 0 || id >= s.rows) {
      atomicExch(errorFlag, 1);
      out[idx] = E(0);
      continue;
    }
    out[idx] = table[int64_t(id) * s.width + col];
  }
}

template <typename E>
void launch(cudaStream_t stream, const EmbeddingShape& s, const int32_t* ids, const void* table, void* out,
            int32_t* errorFlag) {
  const int64_t total = int64_t(s.n) * s.width;
  const int threads = 256;
  const int blocks = int(std::min<int64_t>((total + threads - 1) / threads, 65535));
  cuda::launchKernel<embeddingKernel<E>>(blocks, threads, 0, stream, s, ids, static_cast<const E*>(table),
      static_cast<E*>(out), errorFlag);
  SA_CUDA_CHECK_LAUNCH("embedding");
}

}  // namespace

void embeddingCuda(cuda::Stream stream, const EmbeddingShape& s, const int32_t* ids, const void* table, void* out,
                   int32_t* errorFlag) {
  if (int64_t(s.n) * s.width == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (s.elemSize == 2) return launch<uint16_t>(st, s, ids, table, out, errorFlag);
  return launch<uint32_t>(st, s, ids, table, out, errorFlag);
}

}  // namespace sa
