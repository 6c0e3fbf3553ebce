// Dense attention on CUDA in float32: the CUDA-core mainloop (cuda/warp_attention.cuh) over
// contiguous key tiles with the causal mask; float16 / bfloat16 at D = 64 and 128 run on tensor
// cores instead (cuda/dense_mma.cu).
#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/dense_mma.h"
#include "cuda/warp_attention.cuh"
#include "kernels/dense.h"
#include "kernels/half.h"

namespace sa {

namespace {

using cuda::kKeyTile;
using cuda::kQueryTile;
using cuda::kWarp;

// Key tile t: keys [t * kKeyTile, +kKeyTile) of the head, up to keyEnd.
template <DType T>
struct ContiguousKeys {
  const typename Storage<T>::type *k, *v;
  int64_t ldk;
  int keyEnd, D;
  __device__ __forceinline__ int count() const { return (keyEnd + kKeyTile - 1) / kKeyTile; }
  __device__ __forceinline__ int size(int t) const { return min(kKeyTile, keyEnd - t * kKeyTile); }
  __device__ __forceinline__ void load(int t, float* ks, float* vs, int ld) const {
    const int j0 = t * kKeyTile;
    for (int idx = threadIdx.x; idx < size(t) * D; idx += blockDim.x) {
      const int r = idx / D, d = idx % D;
      ks[r * ld + d] = Storage<T>::load(k[int64_t(j0 + r) * ldk + d]);
      vs[r * ld + d] = Storage<T>::load(v[int64_t(j0 + r) * ldk + d]);
    }
  }
};

// Row i0 + r sees the keys before denseKeyEnd.
struct CausalMask {
  const DenseShape& s;
  int i0;
  __device__ __forceinline__ bool takesPart(int, int r) const { return i0 + r < s.Lq; }
  __device__ __forceinline__ bool present(int t, int r, int j) const {
    return j < denseKeyEnd(s, i0 + r) - t * kKeyTile;
  }
  __device__ __forceinline__ float score(int, int, int, float dot) const { return dot; }
};

template <DType T>
__global__ void denseKernel(DenseShape s, const typename Storage<T>::type* q, const typename Storage<T>::type* k,
                            const typename Storage<T>::type* v, typename Storage<T>::type* out) {
  SA_DYNAMIC_SHARED(float, smem);
  const int D = s.D;
  const cuda::WarpAttentionSmem sm(smem, D);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int tilesPerHead = int((int64_t(s.Lq) + kQueryTile - 1) / kQueryTile);
  const int64_t bh = blockIdx.x / tilesPerHead;
  const int i0 = int(blockIdx.x % tilesPerHead) * kQueryTile;
  const HeadLayout ql = queryLayout(s), kl = keyLayout(s);
  const int64_t ldq = ql.rowStride(), ldk = kl.rowStride();
  q += ql.base(bh);
  out += ql.base(bh);

  for (int idx = threadIdx.x; idx < kQueryTile * D; idx += blockDim.x) {
    const int r = idx / D, d = idx % D;
    sm.q[r * sm.ld + d] = i0 + r < s.Lq ? Storage<T>::load(q[int64_t(i0 + r) * ldq + d]) * s.scale : 0.0f;
  }
  cuda::OnlineRow rows[cuda::kRowsPerWarp];
  const int lastQuery = min(i0 + kQueryTile, s.Lq) - 1;
  const ContiguousKeys<T> keys{k + kl.base(bh), v + kl.base(bh), ldk, denseKeyEnd(s, lastQuery), D};
  cuda::warpAttentionMainloop(sm, D, keys, CausalMask{s, i0}, rows);
#pragma unroll
  for (int rr = 0; rr < cuda::kRowsPerWarp; ++rr) {
    const int i = i0 + warp * cuda::kRowsPerWarp + rr;
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
  const size_t shared = cuda::WarpAttentionSmem::bytes(s.D);
  SA_CUDA_TRY(cudaFuncSetAttribute(denseKernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)),
              "denseAttention");
  // One dimension: B·H may pass gridDim.y's 65535; tiles · B·H <= B·H·Lq fits 32 bits.
  dim3 grid(unsigned((int64_t(s.Lq) + kQueryTile - 1) / kQueryTile * s.B * s.H));
  cuda::launchKernel<denseKernel<T>>(grid, cuda::kAttentionWarps * kWarp, shared, stream,
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
