// Axial position encodings on CUDA: one thread per output element, a gather of weight rows.
#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "kernels/axial.h"

namespace sa {

namespace {

template <typename E>
__global__ void axialKernel(AxialShape s, const E* w0, const E* w1, const int32_t* positionIds, E* out,
                            int32_t* errorFlag) {
  const int width = s.d0 + s.d1;
  const int64_t total = int64_t(s.B) * s.L * width;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total; idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = idx / width;
    const int col = int(idx % width);
    const int p = positionIds ? positionIds[row] : int(row % s.L);
    if (!axialPositionValid(p, s.n0, s.n1)) {
      atomicExch(errorFlag, 1);
      out[idx] = E(0);
      continue;
    }
    const AxialRows r = axialRows(p, s.n0, s.n1, s.layout);
    out[idx] = col < s.d0 ? w0[int64_t(r.r0) * s.d0 + col] : w1[int64_t(r.r1) * s.d1 + (col - s.d0)];
  }
}

template <typename E>
void launchAxial(cudaStream_t stream, const AxialShape& s, const void* w0, const void* w1, const int32_t* ids, void* out,
                 int32_t* errorFlag) {
  const int64_t total = int64_t(s.B) * s.L * (s.d0 + s.d1);
  const int threads = 256;
  const int blocks = int(std::min<int64_t>((total + threads - 1) / threads, 65535));
  cuda::launchKernel<axialKernel<E>>(blocks, threads, 0, stream,
      s, static_cast<const E*>(w0), static_cast<const E*>(w1), ids, static_cast<E*>(out), errorFlag);
  SA_CUDA_CHECK_LAUNCH("axialPositionEncoding");
}

}  // namespace

void axialPositionEncodingCuda(cuda::Stream stream, const AxialShape& s, const void* w0, const void* w1,
                               const int32_t* positionIds, void* out, int32_t* errorFlag) {
  auto st = static_cast<cudaStream_t>(stream);
  if (int64_t(s.B) * s.L * (s.d0 + s.d1) == 0) return;
  if (s.elemSize == 2) return launchAxial<uint16_t>(st, s, w0, w1, positionIds, out, errorFlag);
  return launchAxial<uint32_t>(st, s, w0, w1, positionIds, out, errorFlag);
}

}  // namespace sa
