// The band of sliding-window attention on tensor cores, float16 / bfloat16 inputs with float32
// accumulation (kernels/local.h, docs/semantics.md 2): the tensor-core mainloop
// (cuda/mma_attention.cuh) over a key sequence made of the batch row's global columns
// (gathered through the global list) followed by the key tiles of the query tile's band; tiles
// outside the band are never visited. Inside the band only its two diagonal edges are masked
// element by element; padding and global keys are dropped from the window (local_logic.h says
// why that is exact), tile by tile only where a tile holds one. Rows of local tokens get their
// softmax, rows of padding tokens zeros, rows of global tokens are left to the global rows
// kernel.
#include <cstdint>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/local_band_mma.h"
#include "cuda/mma.cuh"
#include "cuda/mma_attention.cuh"
#include "kernels/local_logic.h"

namespace sa {

namespace {

using namespace cuda::mma;

// The dense kernel's tile shapes (cuda/dense_mma.cu), except that the query fragments stay in
// shared memory at D = 64 too: the masks' registers would otherwise spill.
template <int D>
using BandTraits = AttentionTraits<D, 2, D == 64 ? 64 : 32, false, true>;

// The kernel's own shared memory after the mainloop's: one removed-key flag per key and stage.
template <class Tr>
constexpr size_t kBandSmemBytes = Tr::kBytes + 2 * Tr::kBlockN;

struct BandPointers {
  const uint16_t *q, *k, *v;
  uint16_t* out;
};

// The key tiles one query tile visits: the batch row's global columns (gathered through the
// global list; past the last one, zero rows), then its band. Each tile's removed-key flags
// (padding or global tokens, or past the last global column) go to `removed` [2][kBlockN].
template <class Tr>
struct BandKeys {
  const uint16_t *k, *v;
  int64_t ld;
  const int32_t *maskRow, *globals;
  uint8_t* removed;
  int nGlobal, globalTiles;
  IndexRange band, every;  // the band, and the keys inside every row's window
  int tiles;
  __device__ __forceinline__ int count() const { return tiles; }
  __device__ __forceinline__ bool inBand(int t) const { return t >= globalTiles; }
  __device__ __forceinline__ int firstKey(int t) const {
    return inBand(t) ? band.begin + (t - globalTiles) * Tr::kBlockN : t * Tr::kBlockN;
  }
  // The removed-key flags are plain stores, ordered for the readers by the barrier that
  // precedes the tile's use.
  __device__ __forceinline__ void load(int t, uint16_t* ks, uint16_t* vs, int stage) const {
    constexpr int D = Tr::kD, kBlockN = Tr::kBlockN;
    const int j0 = firstKey(t), row = int(threadIdx.x);
    if (!inBand(t)) {
      const int32_t* list = globals + j0;
      auto rowOf = [&](int r) { return j0 + r < nGlobal ? list[r] : -1; };
      copyRowsAsync<D, kBlockN, kAttentionThreads>(ks, k, ld, rowOf);
      copyRowsAsync<D, kBlockN, kAttentionThreads>(vs, v, ld, rowOf);
      if (row < kBlockN) removed[stage * kBlockN + row] = j0 + row >= nGlobal;
    } else {
      loadTileAsync<D, kBlockN, kAttentionThreads>(ks, k + j0 * ld, ld, band.end - j0);
      loadTileAsync<D, kBlockN, kAttentionThreads>(vs, v + j0 * ld, ld, band.end - j0);
      if (row < kBlockN)
        removed[stage * kBlockN + row] = j0 + row < band.end && maskRow && removedFromWindow(maskRow[j0 + row]);
    }
  }
};

// The window's edges and the keys dropped from it (padding and global tokens).
template <class Tr>
struct WindowMask {
  static constexpr bool kMayHide = true;
  const BandKeys<Tr>& keys;
  LocalWindow window;
  int L, i0;  // the block's first query
  struct Tile {
    int j0;
    const uint8_t* removed;  // the tile's flags
    bool anyRemoved, edge;   // drops a key; crosses a window's edge
    bool hides;              // either, in the band (the global columns past the last are zero rows)
  };
  __device__ __forceinline__ bool mayHide(int t) const { return keys.inBand(t); }
  // The barrier that publishes tile t also tells every thread whether it drops any key.
  __device__ __forceinline__ Tile publish(int t, int stage) const {
    const int j0 = keys.firstKey(t), row = int(threadIdx.x);
    const uint8_t* removed = keys.removed + stage * Tr::kBlockN;
    const bool anyRemoved = __syncthreads_or(row < Tr::kBlockN && removed[row]);
    const bool edge = keys.inBand(t) && (j0 < keys.every.begin || j0 + Tr::kBlockN > keys.every.end);
    return {j0, removed, anyRemoved, edge, keys.inBand(t) && (anyRemoved || edge)};
  }
  template <int MTiles, int NTiles>
  __device__ __forceinline__ void apply(float (&sc)[MTiles][NTiles][4], const Tile& tile, int warpRow0,
                                        int lane) const {
    if (tile.anyRemoved)
#pragma unroll
      for (int n = 0; n < NTiles; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e)
          if (tile.removed[8 * n + 2 * (lane % 4) + e])
#pragma unroll
            for (int m = 0; m < MTiles; ++m) sc[m][n][e] = sc[m][n][2 + e] = -INFINITY;
    if (tile.edge)  // key j0 + c of the tile is visible to query t iff it lies in bandKeys(t)
#pragma unroll
      for (int m = 0; m < MTiles; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const IndexRange k = bandKeys(window, L, i0 + warpRow0 + 16 * m + lane / 4 + 8 * h);
          const int lo = k.begin - tile.j0 - 2 * (lane % 4), hi = k.end - tile.j0 - 2 * (lane % 4);
#pragma unroll
          for (int n = 0; n < NTiles; ++n)
#pragma unroll
            for (int e = 0; e < 2; ++e)
              if (8 * n + e < lo || 8 * n + e >= hi) sc[m][n][2 * h + e] = -INFINITY;
        }
  }
  __device__ __forceinline__ bool visible(const Tile& tile, int r, int c) const {
    const IndexRange k = bandKeys(window, L, i0 + r);
    return !tile.removed[c] && tile.j0 + c >= k.begin && tile.j0 + c < k.end;
  }
};

// Grid: one block per (query tile, batch x head).
//   q, k, v, out [B, H, L, D] (or [B, L, H * D]); mask [B, L] or null; globalTokens [B, L]; globalCounts [B].
template <DType T, int D>
__global__ void __launch_bounds__(kAttentionThreads)
    localBandMmaKernel(LocalShape s, int mBlocks, BandPointers p, const int32_t* __restrict__ mask,
                       const int32_t* __restrict__ globalTokens, const int32_t* __restrict__ globalCounts) {
#if SA_CUDA_SM80_CODE  // cp.async and bfloat16 mma.sync; older devices never launch it
  using Tr = BandTraits<D>;
  constexpr int kBlockM = Tr::kBlockM, kBlockN = Tr::kBlockN;
  static_assert(kBlockM == kAttentionThreads, "one thread per query row decides whether the tile has local rows");
  SA_DYNAMIC_SHARED(uint4, smemChunks);
  const AttentionSmem<Tr> sm(smemChunks);

  const int bh = int(blockIdx.x / unsigned(mBlocks));
  const int b = bh / s.H;
  const int i0 = int(blockIdx.x % unsigned(mBlocks)) * kBlockM;
  const int validRows = min(kBlockM, s.L - i0);
  const HeadLayout layout = headLayout(s);
  const int64_t head = layout.base(bh), ld = layout.rowStride();
  const int32_t* maskRow = mask ? mask + int64_t(b) * s.L : nullptr;
  auto roleOfRow = [&](int r) { return maskRow ? tokenRole(maskRow[i0 + r]) : TokenRole::Local; };

  // A tile without local queries attends nothing: it only writes the zeros of its padding rows.
  const int row = int(threadIdx.x);
  const bool anyLocal = __syncthreads_or(row < validRows && roleOfRow(row) == TokenRole::Local);
  BandKeys<Tr> keys{p.k + head, p.v + head, ld, maskRow, maskRow ? globalTokens + int64_t(b) * s.L : nullptr,
                    sm.template extra<uint8_t>()};
  if (anyLocal) {
    keys.nGlobal = maskRow ? globalCounts[b] : 0;
    keys.globalTiles = (keys.nGlobal + kBlockN - 1) / kBlockN;
    keys.band = tileBandKeys(s.window, s.L, i0, i0 + validRows);
    keys.every = keysInEveryBand(s.window, s.L, i0, i0 + validRows);
    keys.tiles = keys.globalTiles + (keys.band.size() + kBlockN - 1) / kBlockN;
  }
  loadTileAsync<D, kBlockM, kAttentionThreads>(sm.q, p.q + head + i0 * ld, ld, validRows);
  const WindowMask<Tr> windowMask{keys, s.window, s.L, i0};
  AttentionWarp<Tr> w;
  attentionMainloop<T>(sm, keys, windowMask, w, s.scale);

  float rowScale[Tr::kMTiles][2];
  w.inverseSums(rowScale);
#pragma unroll
  for (int m = 0; m < Tr::kMTiles; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = w.row(m, h);
      if (!(r < validRows && roleOfRow(r) == TokenRole::Local)) rowScale[m][h] = 0.0f;
    }
  uint16_t* out = p.out + head + i0 * ld;
  storeRows<T, D>(sm.q, w.o, rowScale, w.warpRow0, w.lane, [&](int r) {
    return r < validRows && roleOfRow(r) == TokenRole::Local ? out + r * ld : nullptr;
  });
  // Padding rows are zero, not 0 times what they accumulated (NaN when their own query is).
  if (maskRow) {
    constexpr int kChunks = D / kChunk;
    for (int idx = int(threadIdx.x); idx < validRows * kChunks; idx += kAttentionThreads)
      if (roleOfRow(idx / kChunks) == TokenRole::Padding)
        *reinterpret_cast<uint4*>(out + (idx / kChunks) * ld + idx % kChunks * kChunk) = make_uint4(0, 0, 0, 0);
  }
#endif
}

template <DType T, int D>
void launch(cudaStream_t stream, const LocalShape& s, const LocalInputs<void>& in, const int32_t* mask,
            const int32_t* globalTokens, const int32_t* globalCounts, void* out) {
  using Tr = BandTraits<D>;
  constexpr auto kernel = localBandMmaKernel<T, D>;
  constexpr size_t kBytes = kBandSmemBytes<Tr>;
  SA_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kBytes)),
              "localAttention");
  const int mBlocks = (s.L + Tr::kBlockM - 1) / Tr::kBlockM;
  const BandPointers p{static_cast<const uint16_t*>(in.q), static_cast<const uint16_t*>(in.k),
                       static_cast<const uint16_t*>(in.v), static_cast<uint16_t*>(out)};
  cuda::launchKernel<kernel>(unsigned(int64_t(mBlocks) * s.B * s.H), kAttentionThreads, kBytes, stream,
      s, mBlocks, p, mask, globalTokens, globalCounts);
  SA_CUDA_CHECK_LAUNCH("localAttention");
}

template <DType T>
void launchForHeadDim(cudaStream_t stream, const LocalShape& s, const LocalInputs<void>& in, const int32_t* mask,
                      const int32_t* globalTokens, const int32_t* globalCounts, void* out) {
  if (s.D == 64) return launch<T, 64>(stream, s, in, mask, globalTokens, globalCounts, out);
  return launch<T, 128>(stream, s, in, mask, globalTokens, globalCounts, out);
}

}  // namespace

bool localBandMmaSupports(const LocalShape& s, DType dtype, const LocalInputs<void>& in, const void* out) {
  return (dtype == DType::Float16 || dtype == DType::BFloat16) && (s.D == 64 || s.D == 128) && aligned16(in.q) &&
         aligned16(in.k) && aligned16(in.v) && aligned16(out) && cuda::mma::currentDeviceHasMma();
}

void localBandMma(cudaStream_t stream, const LocalShape& s, DType dtype, const LocalInputs<void>& in,
                  const int32_t* mask, const int32_t* globalTokens, const int32_t* globalCounts, void* out) {
  auto run = dtype == DType::Float16 ? launchForHeadDim<DType::Float16> : launchForHeadDim<DType::BFloat16>;
  run(stream, s, in, mask, globalTokens, globalCounts, out);
}

}  // namespace sa
