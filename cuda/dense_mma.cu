// Dense attention on tensor cores, float16 / bfloat16 inputs with float32 accumulation: the
// tensor-core mainloop (cuda/mma_attention.cuh) over contiguous key tiles with the causal mask.
// Under a causal mask, key tiles past the block's last query are never loaded and only tiles
// that cross the diagonal are masked element by element.
#include <cstdint>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/dense_mma.h"
#include "cuda/mma.cuh"
#include "cuda/mma_attention.cuh"

namespace sa {

namespace {

using namespace cuda::mma;

// Tile shapes per head dimension, after FlashAttention-2's choices for A100/H100: 128 queries
// per block (32 per warp). Keys come 64 (D = 64) or 32 (D = 128) at a time, which leaves the
// registers for the score tile next to the output accumulators and, for D = 64, the query
// fragments (32 registers, saving an ldmatrix per k-step; at D = 128 64 more would spill next
// to O); ptxas reports no spills for either (bench/gpu/inspect.sh).
template <int D>
using DenseTraits = AttentionTraits<D, 2, D == 64 ? 64 : 32, D == 64, true>;

// Key tile t: keys [t * kBlockN, +kBlockN) of the head; rows past Lk are zero.
template <class Tr>
struct ContiguousKeys {
  const uint16_t *k, *v;
  int64_t ld;
  int Lk, tiles;
  __device__ __forceinline__ int count() const { return tiles; }
  __device__ __forceinline__ void load(int t, uint16_t* ks, uint16_t* vs, int) const {
    const int j0 = t * Tr::kBlockN;
    loadTileAsync<Tr::kD, Tr::kBlockN, kAttentionThreads>(ks, k + j0 * ld, ld, Lk - j0);
    loadTileAsync<Tr::kD, Tr::kBlockN, kAttentionThreads>(vs, v + j0 * ld, ld, Lk - j0);
  }
};

// Keys past denseKeyEnd of their row are masked: a causal diagonal, or the end of the keys.
template <class Tr>
struct CausalMask {
  static constexpr bool kMayHide = true;
  const DenseShape& s;
  int i0;        // the block's first query
  int maskFrom;  // denseKeyEnd of the first query, which sees the fewest keys
  struct Tile {
    int j0;
    bool masked;  // crosses some row's key end
    bool hides;   // ... and that end is a causal diagonal (keys past Lk are zero rows)
  };
  __device__ __forceinline__ bool masked(int t) const { return (t + 1) * Tr::kBlockN > maskFrom; }
  __device__ __forceinline__ bool mayHide(int t) const { return s.causal && masked(t); }
  __device__ __forceinline__ Tile publish(int t, int) const {
    __syncthreads();
    return {t * Tr::kBlockN, masked(t), mayHide(t)};
  }
  template <int MTiles, int NTiles>
  __device__ __forceinline__ void apply(float (&sc)[MTiles][NTiles][4], const Tile& tile, int warpRow0,
                                        int lane) const {
    if (!tile.masked) return;
#pragma unroll
    for (int m = 0; m < MTiles; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int visible = denseKeyEnd(s, i0 + warpRow0 + 16 * m + lane / 4 + 8 * h) - tile.j0 - 2 * (lane % 4);
#pragma unroll
        for (int n = 0; n < NTiles; ++n)
#pragma unroll
          for (int e = 0; e < 2; ++e)
            if (8 * n + e >= visible) sc[m][n][2 * h + e] = -INFINITY;
      }
  }
  __device__ __forceinline__ bool visible(const Tile& tile, int r, int c) const {
    return tile.j0 + c < denseKeyEnd(s, i0 + r);
  }
};

// Grid: one block per (query block, batch x head), heaviest query blocks first: under a causal
// mask the last blocks see the most keys, and starting them first evens out the tail.
//   q, out [B, H, Lq, D]; k, v [B, H, Lk, D] (or [B, L, H * D]); mBlocks = ceil(Lq / kBlockM).
template <DType T, int D>
__global__ void __launch_bounds__(kAttentionThreads)
    denseMmaKernel(DenseShape s, int mBlocks, const uint16_t* __restrict__ q, const uint16_t* __restrict__ k,
                   const uint16_t* __restrict__ v, uint16_t* __restrict__ out) {
#if SA_CUDA_SM80_CODE  // cp.async and bfloat16 mma.sync; older devices never launch it
  using Tr = DenseTraits<D>;
  SA_DYNAMIC_SHARED(uint4, smemChunks);
  const AttentionSmem<Tr> sm(smemChunks);
  const int heads = s.B * s.H;
  const int bh = int(blockIdx.x % unsigned(heads));
  const int i0 = (mBlocks - 1 - int(blockIdx.x / unsigned(heads))) * Tr::kBlockM;
  const HeadLayout ql = queryLayout(s), kl = keyLayout(s);
  const int64_t ldq = ql.rowStride(), ldk = kl.rowStride();
  q += ql.row(bh, i0);
  out += ql.row(bh, i0);
  const int validRows = min(Tr::kBlockM, s.Lq - i0);
  const int keyEnd = denseKeyEnd(s, i0 + validRows - 1);

  loadTileAsync<D, Tr::kBlockM, kAttentionThreads>(sm.q, q, ldq, validRows);
  const ContiguousKeys<Tr> keys{k + kl.base(bh), v + kl.base(bh), ldk, s.Lk, (keyEnd + Tr::kBlockN - 1) / Tr::kBlockN};
  const CausalMask<Tr> mask{s, i0, denseKeyEnd(s, i0)};
  AttentionWarp<Tr> w;
  attentionMainloop<T>(sm, keys, mask, w, s.scale);

  float rowScale[Tr::kMTiles][2];
  w.inverseSums(rowScale);
  storeRows<T, D>(sm.q, w.o, rowScale, w.warpRow0, w.lane,
                  [&](int r) { return r < validRows ? out + r * ldq : nullptr; });
#endif
}

template <DType T, int D>
void launch(cudaStream_t stream, const DenseShape& s, const void* q, const void* k, const void* v, void* out) {
  using Tr = DenseTraits<D>;
  constexpr auto kernel = denseMmaKernel<T, D>;
  SA_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Tr::kBytes)),
              "denseAttention");
  const int mBlocks = (s.Lq + Tr::kBlockM - 1) / Tr::kBlockM;
  const unsigned blocks = unsigned(int64_t(mBlocks) * s.B * s.H);
  cuda::launchKernel<kernel>(blocks, kAttentionThreads, Tr::kBytes, stream, s, mBlocks, static_cast<const uint16_t*>(q),
                             static_cast<const uint16_t*>(k), static_cast<const uint16_t*>(v),
                             static_cast<uint16_t*>(out));
  SA_CUDA_CHECK_LAUNCH("denseAttention");
}

template <DType T>
void launchForHeadDim(cudaStream_t stream, const DenseShape& s, const void* q, const void* k, const void* v,
                      void* out) {
  if (s.D == 64) return launch<T, 64>(stream, s, q, k, v, out);
  return launch<T, 128>(stream, s, q, k, v, out);
}

}  // namespace

bool denseMmaSupports(const DenseShape& s, DType dtype, const void* q, const void* k, const void* v,
                      const void* out) {
  return (dtype == DType::Float16 || dtype == DType::BFloat16) && (s.D == 64 || s.D == 128) && aligned16(q) &&
         aligned16(k) && aligned16(v) && aligned16(out) && cuda::mma::currentDeviceHasMma();
}

void denseAttentionMma(cudaStream_t stream, const DenseShape& s, DType dtype, const void* q, const void* k,
                       const void* v, void* out) {
  if (dtype == DType::Float16) return launchForHeadDim<DType::Float16>(stream, s, q, k, v, out);
  return launchForHeadDim<DType::BFloat16>(stream, s, q, k, v, out);
}

}  // namespace sa
