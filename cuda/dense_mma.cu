// Dense attention on tensor cores, float16 / bfloat16 inputs with float32 accumulation, in the
// scheme of FlashAttention-2: a block of 4 warps owns kBlockM query rows (16 * kMTiles per
// warp) and streams key/value tiles of kBlockN rows through shared memory, double-buffered with
// cp.async so that tile t + 1 lands while tile t is computed. Scores S = Q·Kᵀ and the output
// O += P·V are mma.sync.m16n8k16 products; the softmax runs online in registers, and P goes
// from the S accumulators straight into the A operand of P·V. Under a causal mask, key tiles
// past the block's last query are never loaded and only tiles that cross the diagonal are
// masked element by element; there a NaN or infinite value of a masked key is kept out of the
// product (cuda/mma_masked_values.cuh).
#include <cfloat>
#include <cstdint>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/dense_mma.h"
#include "cuda/mma.cuh"
#include "cuda/mma_masked_values.cuh"
#include "cuda/mma_softmax.cuh"
#include "cuda/mma_tile.cuh"
#include "cuda/ptx.cuh"

namespace sa {

namespace {

using namespace cuda::mma;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;

// Tile shapes per head dimension, after FlashAttention-2's choices for A100/H100: 128 queries
// per block (32 per warp). Keys come 64 (D = 64) or 32 (D = 128) at a time, which leaves the
// registers for the score tile next to the output accumulators and, for D = 64, the query
// fragments; ptxas reports no spills for either (bench/gpu/inspect.sh).
template <int D>
struct DenseMmaConfig;
template <>
struct DenseMmaConfig<64> {
  static constexpr int kMTiles = 2, kBlockN = 64;
  static constexpr bool kQInRegisters = true;  // 32 registers, saves an ldmatrix per k-step
};
template <>
struct DenseMmaConfig<128> {
  static constexpr int kMTiles = 2, kBlockN = 32;
  static constexpr bool kQInRegisters = false;  // 64 more registers would spill next to O
};

template <int D>
struct DenseMmaLayout : DenseMmaConfig<D> {
  using Config = DenseMmaConfig<D>;
  static constexpr int kBlockM = kWarps * 16 * Config::kMTiles;
  static constexpr int kNTiles = Config::kBlockN / 8;  // n8 score tiles per key tile
  static constexpr int kDTiles = D / 8;                // n8 output tiles
  static constexpr int kQTile = PaddedTile<D>::kElements(kBlockM);
  static constexpr int kStage = PaddedTile<D>::kElements(Config::kBlockN);  // one K or V stage
  // Probabilities of a diagonal tile whose values hold a NaN or infinity (mma_masked_values.cuh).
  static constexpr int kPStage = StagedProbabilities<Config::kBlockN>::kElements(kBlockM);
  // Q tile, then K stages 0 and 1, then V stages 0 and 1, then the staged probabilities.
  static constexpr size_t kSmemBytes = size_t(kQTile + 4 * kStage + kPStage) * sizeof(uint16_t);
};

// Keys past denseKeyEnd of their row become -inf; `row0` is the global row of the warp's first
// query, `j0` the global index of the tile's first key. Only tiles that cross the causal
// diagonal or the end of the keys need it.
template <int MTiles, int NTiles>
__device__ __forceinline__ void maskScores(float (&sc)[MTiles][NTiles][4], const DenseShape& s, int row0, int j0,
                                           int lane) {
#pragma unroll
  for (int m = 0; m < MTiles; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int visible = denseKeyEnd(s, row0 + 16 * m + lane / 4 + 8 * h) - j0 - 2 * (lane % 4);
#pragma unroll
      for (int n = 0; n < NTiles; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e)
          if (8 * n + e >= visible) sc[m][n][2 * h + e] = -INFINITY;
    }
}

// Grid: one block per (query block, batch x head), heaviest query blocks first: under a causal
// mask the last blocks see the most keys, and starting them first evens out the tail.
//   q, out [B, H, Lq, D]; k, v [B, H, Lk, D] (or [B, L, H * D]); mBlocks = ceil(Lq / kBlockM).
template <DType T, int D>
__global__ void __launch_bounds__(kThreads) denseMmaKernel(DenseShape s, int mBlocks, const uint16_t* __restrict__ q,
                                                           const uint16_t* __restrict__ k,
                                                           const uint16_t* __restrict__ v, uint16_t* __restrict__ out) {
#if SA_CUDA_SM80_CODE  // cp.async and bfloat16 mma.sync; older devices never launch it
  using L = DenseMmaLayout<D>;
  constexpr int kBlockM = L::kBlockM, kBlockN = L::kBlockN, kMTiles = L::kMTiles;
  SA_DYNAMIC_SHARED(uint4, smemChunks);
  uint16_t* qs = reinterpret_cast<uint16_t*>(smemChunks);
  uint16_t* ks = qs + L::kQTile;
  uint16_t* vs = ks + 2 * L::kStage;
  uint16_t* ps = vs + 2 * L::kStage;

  const int heads = s.B * s.H;
  const int bh = int(blockIdx.x % unsigned(heads));
  const int i0 = (mBlocks - 1 - int(blockIdx.x / unsigned(heads))) * kBlockM;
  const HeadLayout ql = queryLayout(s), kl = keyLayout(s);
  const int64_t ldq = ql.rowStride(), ldk = kl.rowStride();
  q += ql.row(bh, i0);
  out += ql.row(bh, i0);
  k += kl.base(bh);
  v += kl.base(bh);
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  const int warpRow0 = warp * 16 * kMTiles;
  const int validRows = min(kBlockM, s.Lq - i0);
  const int keyEnd = denseKeyEnd(s, i0 + validRows - 1);
  const int maskFrom = denseKeyEnd(s, i0);  // the first row sees the fewest keys
  const int nTiles = (keyEnd + kBlockN - 1) / kBlockN;

  auto loadKeyValues = [&](int tile) {
    const int j0 = tile * kBlockN, stage = tile & 1;
    loadTileAsync<D, kBlockN, kThreads>(ks + stage * L::kStage, k + j0 * ldk, ldk, s.Lk - j0);
    loadTileAsync<D, kBlockN, kThreads>(vs + stage * L::kStage, v + j0 * ldk, ldk, s.Lk - j0);
  };
  loadTileAsync<D, kBlockM, kThreads>(qs, q, ldq, validRows);
  copyAsyncCommit();
  loadKeyValues(0);
  copyAsyncCommit();
  copyAsyncWait<1>();  // Q has landed; the first key/value tile may still be in flight
  __syncthreads();
  if (s.scale < 0.0f) {
    negateTile<D, kBlockM, kThreads>(qs);
    __syncthreads();
  }
  QueryFragments<D, kMTiles, L::kQInRegisters> query;
  query.load(qs, warpRow0, lane);

  OnlineSoftmax<kMTiles> softmax;
  float o[kMTiles][L::kDTiles][4];
#pragma unroll
  for (int m = 0; m < kMTiles; ++m)
#pragma unroll
    for (int d = 0; d < L::kDTiles; ++d)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[m][d][e] = 0.0f;
  // A zero scale is raised to the smallest normal float: all scores still weigh the same, and a
  // masked -inf times it stays -inf instead of becoming NaN.
  const float scaleLog2 = fmaxf(fabsf(s.scale) * kLog2e, FLT_MIN);

  for (int t = 0; t < nTiles; ++t) {
    if (t + 1 < nTiles) loadKeyValues(t + 1);
    copyAsyncCommit();
    copyAsyncWait<1>();  // tile t has landed, t + 1 is in flight
    const int j0 = t * kBlockN, stage = t & 1;
    const bool masked = j0 + kBlockN > maskFrom;
    // Keys past Lk are zero rows; only a causal diagonal hides real values from some rows, and
    // a NaN or infinity among them must not reach those rows (cuda/mma_masked_values.cuh).
    const bool guarded = s.causal && masked;
    const bool leaky = guarded ? __syncthreads_or(ownChunksNonFinite<T, D, kBlockN, kThreads>(vs + stage * L::kStage))
                               : (__syncthreads(), false);
    float sc[kMTiles][L::kNTiles][4];
    computeScores<T, D>(sc, query, ks + stage * L::kStage, lane);
    if (masked) maskScores(sc, s, i0 + warpRow0, j0, lane);
    softmax.update(sc, o, scaleLog2);
    if (leaky) {
      stageProbabilities<T>(ps, sc, warpRow0, lane, [&](int r, int c) { return j0 + c < denseKeyEnd(s, i0 + r); });
      accumulateStagedValues<T, D, kMTiles, kBlockN>(o, ps, vs + stage * L::kStage, warpRow0, lane);
    } else {
      accumulateValues<T, D>(o, sc, vs + stage * L::kStage, lane);
    }
    __syncthreads();  // the next iteration refills the other stage, the one after this one
  }
  float rowScale[kMTiles][2];
#pragma unroll
  for (int m = 0; m < kMTiles; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) rowScale[m][h] = softmax.inverseSum(m, h);
  storeRows<T, D>(qs, o, rowScale, warpRow0, lane,
                  [&](int r) { return r < validRows ? out + r * ldq : nullptr; });
#endif
}

template <DType T, int D>
void launch(cudaStream_t stream, const DenseShape& s, const void* q, const void* k, const void* v, void* out) {
  using L = DenseMmaLayout<D>;
  constexpr auto kernel = denseMmaKernel<T, D>;
  SA_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(L::kSmemBytes)),
              "denseAttention");
  const int mBlocks = (s.Lq + L::kBlockM - 1) / L::kBlockM;
  const unsigned blocks = unsigned(int64_t(mBlocks) * s.B * s.H);
  cuda::launchKernel<kernel>(blocks, kThreads, L::kSmemBytes, stream, s, mBlocks, static_cast<const uint16_t*>(q),
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
