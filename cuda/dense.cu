// Dense attention on CUDA: a block keeps a tile of queries in shared memory while tiles of
// 32 keys and values stream through; each warp owns query rows and runs an online softmax.
#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/dense_mma.h"
#include "cuda/warp_softmax.cuh"
#include "kernels/dense.h"
#include "kernels/half.h"

namespace sa {

namespace {

using cuda::kWarp;
constexpr int kWarps = 4;
constexpr int kRowsPerWarp = 4;
constexpr int kQueryTile = kWarps * kRowsPerWarp;
constexpr int kKeyTile = kWarp;

template <DType T>
__global__ void denseKernel(DenseShape s, const typename Storage<T>::type* q, const typename Storage<T>::type* k,
                            const typename Storage<T>::type* v, typename Storage<T>::type* out) {
  SA_DYNAMIC_SHARED(float, smem);
  const int D = s.D, ld = D + 1;  // +1 spreads rows over banks
  float* qs = smem;
  float* ks = qs + kQueryTile * ld;
  float* vs = ks + kKeyTile * ld;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int tilesPerHead = int((int64_t(s.Lq) + kQueryTile - 1) / kQueryTile);
  const int64_t bh = blockIdx.x / tilesPerHead;
  const int i0 = int(blockIdx.x % tilesPerHead) * kQueryTile;
  const HeadLayout ql = queryLayout(s), kl = keyLayout(s);
  const int64_t ldq = ql.rowStride(), ldk = kl.rowStride();
  q += ql.base(bh);
  k += kl.base(bh);
  v += kl.base(bh);
  out += ql.base(bh);

  for (int idx = threadIdx.x; idx < kQueryTile * D; idx += blockDim.x) {
    const int r = idx / D, d = idx % D;
    qs[r * ld + d] = i0 + r < s.Lq ? Storage<T>::load(q[int64_t(i0 + r) * ldq + d]) * s.scale : 0.0f;
  }
  cuda::OnlineRow rows[kRowsPerWarp];
  const int lastQuery = min(i0 + kQueryTile, s.Lq) - 1;
  const int keyEnd = denseKeyEnd(s, lastQuery);
  for (int j0 = 0; j0 < keyEnd; j0 += kKeyTile) {
    const int n = min(kKeyTile, keyEnd - j0);
    __syncthreads();
    for (int idx = threadIdx.x; idx < n * D; idx += blockDim.x) {
      const int r = idx / D, d = idx % D;
      ks[r * ld + d] = Storage<T>::load(k[int64_t(j0 + r) * ldk + d]);
      vs[r * ld + d] = Storage<T>::load(v[int64_t(j0 + r) * ldk + d]);
    }
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int r = warp * kRowsPerWarp + rr, i = i0 + r;
      if (i >= s.Lq) break;
      const bool present = lane < min(n, denseKeyEnd(s, i) - j0);
      float score = -INFINITY;
      if (present) {
        float dot = 0.0f;
        for (int d = 0; d < D; ++d) dot += qs[r * ld + d] * ks[lane * ld + d];
        score = dot;
      }
      rows[rr].addTile(score, present, n, vs, ld, D);
    }
  }
#pragma unroll
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    const int i = i0 + warp * kRowsPerWarp + rr;
    if (i >= s.Lq) break;
    const float inv = 1.0f / rows[rr].sum;
#pragma unroll
    for (int c = 0; c < cuda::kMaxDPerLane; ++c) {
      const int d = lane + kWarp * c;
      if (d < D) out[int64_t(i) * ldq + d] = Storage<T>::store(rows[rr].acc[c] * inv);
    }
  }
}

template <DType T>
void launchDense(cudaStream_t stream, const DenseShape& s, const void* q, const void* k, const void* v, void* out) {
  using E = typename Storage<T>::type;
  const size_t shared = size_t(kQueryTile + 2 * kKeyTile) * (s.D + 1) * sizeof(float);
  SA_CUDA_TRY(cudaFuncSetAttribute(denseKernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)),
              "denseAttention");
  // One dimension: B·H may pass gridDim.y's 65535; tiles · B·H <= B·H·Lq fits 32 bits.
  dim3 grid(unsigned((int64_t(s.Lq) + kQueryTile - 1) / kQueryTile * s.B * s.H));
  cuda::launchKernel<denseKernel<T>>(grid, kWarps * kWarp, shared, stream,
      s, static_cast<const E*>(q), static_cast<const E*>(k), static_cast<const E*>(v), static_cast<E*>(out));
  SA_CUDA_CHECK_LAUNCH("denseAttention");
}

}  // namespace

void denseAttentionCuda(cuda::Stream stream, const DenseShape& s, DType dtype, const void* q, const void* k,
                        const void* v, void* out) {
  if (s.D > cuda::kMaxHeadDim)
    throw KernelError(ErrorCode::InvalidArgument, "denseAttention on CUDA supports head dimensions up to 256");
  auto st = static_cast<cudaStream_t>(stream);
  if (denseMmaSupports(s, dtype, q, k, v, out)) return denseAttentionMma(st, s, dtype, q, k, v, out);
  switch (dtype) {
    case DType::Float32: return launchDense<DType::Float32>(st, s, q, k, v, out);
    case DType::Float16: return launchDense<DType::Float16>(st, s, q, k, v, out);
    case DType::BFloat16: return launchDense<DType::BFloat16>(st, s, q, k, v, out);
    default: throw KernelError(ErrorCode::InvalidArgument, "denseAttention: unsupported dtype");
  }
}

}  // namespace sa
