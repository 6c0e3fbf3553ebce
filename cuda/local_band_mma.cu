// The band of sliding-window attention on tensor cores, float16 / bfloat16 inputs with float32
// accumulation (kernels/local.h, docs/semantics.md 2): the scheme of cuda/dense_mma.cu over a key
// sequence made of the batch row's global columns (gathered through the global list) followed
// by the key tiles of the query tile's band; tiles outside the band are never visited. Inside
// the band only its two diagonal edges are masked element by element; padding and global keys
// are dropped from the window (local_logic.h says why that is exact), tile by tile only where a
// tile holds one; where such a tile holds a NaN or infinite value, the dropped keys' values are
// kept out of the product (cuda/mma_masked_values.cuh). Rows of local tokens get their softmax,
// rows of padding tokens zeros, rows of global tokens are left to the global rows kernel.
#include <cfloat>
#include <cstdint>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/local_band_mma.h"
#include "cuda/mma.cuh"
#include "cuda/mma_masked_values.cuh"
#include "cuda/mma_softmax.cuh"
#include "cuda/mma_tile.cuh"
#include "cuda/ptx.cuh"
#include "kernels/local_logic.h"

namespace sa {

namespace {

using namespace cuda::mma;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;

// The dense kernel's tile shapes (cuda/dense_mma.cu), except that the query fragments stay in
// shared memory at D = 64 too: the masks' registers would otherwise spill.
template <int D>
struct BandMmaConfig;
template <>
struct BandMmaConfig<64> {
  static constexpr int kMTiles = 2, kBlockN = 64;
  static constexpr bool kQInRegisters = false;
};
template <>
struct BandMmaConfig<128> {
  static constexpr int kMTiles = 2, kBlockN = 32;
  static constexpr bool kQInRegisters = false;
};

template <int D>
struct BandMmaLayout : BandMmaConfig<D> {
  using Config = BandMmaConfig<D>;
  static constexpr int kBlockM = kWarps * 16 * Config::kMTiles;
  static constexpr int kNTiles = Config::kBlockN / 8;
  static constexpr int kDTiles = D / 8;
  static constexpr int kQTile = PaddedTile<D>::kElements(kBlockM);
  static constexpr int kStage = PaddedTile<D>::kElements(Config::kBlockN);
  // Probabilities of a tile that drops keys whose values hold a NaN or infinity.
  static constexpr int kPStage = StagedProbabilities<Config::kBlockN>::kElements(kBlockM);
  // Q tile, K stages 0 and 1, V stages 0 and 1, the staged probabilities, then one removed-key
  // flag per key and stage.
  static constexpr size_t kSmemBytes = size_t(kQTile + 4 * kStage + kPStage) * sizeof(uint16_t) + 2 * Config::kBlockN;
  static_assert(kBlockM == kThreads, "one thread per query row decides whether the tile has local rows");
};

struct BandPointers {
  const uint16_t *q, *k, *v;
  uint16_t* out;
};

// The key tiles one query tile visits: global columns, then its band.
struct KeyTiles {
  int nGlobal, globalTiles;
  IndexRange band, every;  // the band, and the keys inside every row's window
  int count;
};

// Copies rows rowIndex[0..validRows) of a global array of W-element rows, `ld` elements apart,
// into a padded shared tile with all threads of the block; rows >= validRows are zero-filled.
template <int W, int Rows, int Threads>
__device__ __forceinline__ void gatherTileAsync(uint16_t* smem, const uint16_t* gmem, int64_t ld,
                                                const int32_t* rowIndex, int validRows) {
  using Tile = PaddedTile<W>;
  static_assert(Rows * Tile::kChunks % Threads == 0, "every thread copies the same number of chunks");
#pragma unroll
  for (int i = 0; i < Rows * Tile::kChunks / Threads; ++i) {
    const int idx = i * Threads + int(threadIdx.x), r = idx / Tile::kChunks, c = idx % Tile::kChunks;
    const bool valid = r < validRows;
    copyAsync16(smem + Tile::offset(r, c), gmem + (valid ? rowIndex[r] * ld + c * kChunk : 0), valid);
  }
}

// Window edges: key j0 + c of the tile is visible to query t iff it lies in bandKeys(t).
template <int MTiles, int NTiles>
__device__ __forceinline__ void maskWindow(float (&sc)[MTiles][NTiles][4], LocalWindow w, int L, int row0, int j0,
                                           int lane) {
#pragma unroll
  for (int m = 0; m < MTiles; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const IndexRange keys = bandKeys(w, L, row0 + 16 * m + lane / 4 + 8 * h);
      const int lo = keys.begin - j0 - 2 * (lane % 4), hi = keys.end - j0 - 2 * (lane % 4);
#pragma unroll
      for (int n = 0; n < NTiles; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e)
          if (8 * n + e < lo || 8 * n + e >= hi) sc[m][n][2 * h + e] = -INFINITY;
    }
}

// Keys flagged in `removed` (padding or global tokens, or past the last global column) drop out.
template <int MTiles, int NTiles>
__device__ __forceinline__ void maskRemoved(float (&sc)[MTiles][NTiles][4], const uint8_t* removed, int lane) {
#pragma unroll
  for (int n = 0; n < NTiles; ++n)
#pragma unroll
    for (int e = 0; e < 2; ++e)
      if (removed[8 * n + 2 * (lane % 4) + e])
#pragma unroll
        for (int m = 0; m < MTiles; ++m) sc[m][n][e] = sc[m][n][2 + e] = -INFINITY;
}

// Grid: one block per (query tile, batch x head).
//   q, k, v, out [B, H, L, D] (or [B, L, H * D]); mask [B, L] or null; globalTokens [B, L]; globalCounts [B].
template <DType T, int D>
__global__ void __launch_bounds__(kThreads)
    localBandMmaKernel(LocalShape s, int mBlocks, BandPointers p, const int32_t* __restrict__ mask,
                       const int32_t* __restrict__ globalTokens, const int32_t* __restrict__ globalCounts) {
#if SA_CUDA_SM80_CODE  // cp.async and bfloat16 mma.sync; older devices never launch it
  using Lay = BandMmaLayout<D>;
  constexpr int kBlockM = Lay::kBlockM, kBlockN = Lay::kBlockN, kMTiles = Lay::kMTiles;
  SA_DYNAMIC_SHARED(uint4, smemChunks);
  uint16_t* qs = reinterpret_cast<uint16_t*>(smemChunks);
  uint16_t* ks = qs + Lay::kQTile;
  uint16_t* vs = ks + 2 * Lay::kStage;
  uint16_t* ps = vs + 2 * Lay::kStage;
  uint8_t* removed = reinterpret_cast<uint8_t*>(ps + Lay::kPStage);  // [2][kBlockN]

  const int bh = int(blockIdx.x / unsigned(mBlocks));
  const int b = bh / s.H;
  const int i0 = int(blockIdx.x % unsigned(mBlocks)) * kBlockM;
  const int validRows = min(kBlockM, s.L - i0);
  const HeadLayout layout = headLayout(s);
  const int64_t head = layout.base(bh), ld = layout.rowStride();
  const uint16_t* q = p.q + head + i0 * ld;
  const uint16_t* k = p.k + head;
  const uint16_t* v = p.v + head;
  const int32_t* maskRow = mask ? mask + int64_t(b) * s.L : nullptr;
  const int32_t* globals = maskRow ? globalTokens + int64_t(b) * s.L : nullptr;
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  const int warpRow0 = warp * 16 * kMTiles;
  auto roleOfRow = [&](int r) { return maskRow ? tokenRole(maskRow[i0 + r]) : TokenRole::Local; };

  // A tile without local queries attends nothing: it only writes the zeros of its padding rows.
  const int row = int(threadIdx.x);
  const bool anyLocal = __syncthreads_or(row < validRows && roleOfRow(row) == TokenRole::Local);
  KeyTiles tiles{};
  if (anyLocal) {
    tiles.nGlobal = maskRow ? globalCounts[b] : 0;
    tiles.globalTiles = (tiles.nGlobal + kBlockN - 1) / kBlockN;
    tiles.band = tileBandKeys(s.window, s.L, i0, i0 + validRows);
    tiles.every = keysInEveryBand(s.window, s.L, i0, i0 + validRows);
    tiles.count = tiles.globalTiles + (tiles.band.size() + kBlockN - 1) / kBlockN;
  }
  auto firstKey = [&](int tile) {
    return tile < tiles.globalTiles ? tile * kBlockN : tiles.band.begin + (tile - tiles.globalTiles) * kBlockN;
  };
  // Issues the copies of tile `tile` into its stage; the removed-key flags are plain stores,
  // ordered for the readers by the barrier that precedes the tile's use.
  auto loadKeyValues = [&](int tile) {
    const int stage = tile & 1, j0 = firstKey(tile);
    uint16_t* kst = ks + stage * Lay::kStage;
    uint16_t* vst = vs + stage * Lay::kStage;
    if (tile < tiles.globalTiles) {
      gatherTileAsync<D, kBlockN, kThreads>(kst, k, ld, globals + j0, tiles.nGlobal - j0);
      gatherTileAsync<D, kBlockN, kThreads>(vst, v, ld, globals + j0, tiles.nGlobal - j0);
      if (row < kBlockN) removed[stage * kBlockN + row] = j0 + row >= tiles.nGlobal;
    } else {
      loadTileAsync<D, kBlockN, kThreads>(kst, k + j0 * ld, ld, tiles.band.end - j0);
      loadTileAsync<D, kBlockN, kThreads>(vst, v + j0 * ld, ld, tiles.band.end - j0);
      if (row < kBlockN)
        removed[stage * kBlockN + row] = j0 + row < tiles.band.end && maskRow && removedFromWindow(maskRow[j0 + row]);
    }
  };

  loadTileAsync<D, kBlockM, kThreads>(qs, q, ld, validRows);
  copyAsyncCommit();
  if (tiles.count > 0) loadKeyValues(0);
  copyAsyncCommit();
  copyAsyncWait<1>();
  __syncthreads();
  if (s.scale < 0.0f) {
    negateTile<D, kBlockM, kThreads>(qs);
    __syncthreads();
  }
  QueryFragments<D, kMTiles, Lay::kQInRegisters> query;
  query.load(qs, warpRow0, lane);

  OnlineSoftmax<kMTiles> softmax;
  float o[kMTiles][Lay::kDTiles][4];
#pragma unroll
  for (int m = 0; m < kMTiles; ++m)
#pragma unroll
    for (int d = 0; d < Lay::kDTiles; ++d)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[m][d][e] = 0.0f;
  // A zero scale is raised to the smallest normal float, so that -inf stays -inf (dense_mma.cu).
  const float scaleLog2 = fmaxf(fabsf(s.scale) * kLog2e, FLT_MIN);

  // A band tile that drops padding or global keys, or crosses a window's edge, and whose values
  // hold a NaN or infinity must keep a dropped key's value out of the rows that may not see it
  // (cuda/mma_masked_values.cuh). Its P·V waits for the pass after the loop: the loop runs at
  // the register limit at D = 128. (The global columns past the row's last one are zero rows.)
  auto bandTileIsLeaky = [&](int t, bool anyRemoved, int j0, const uint16_t* vst) {
    const bool edge = j0 < tiles.every.begin || j0 + kBlockN > tiles.every.end;
    // Each thread checks the value chunks it copied itself: landed, and not refilled before the
    // barrier that ends the iteration.
    return t >= tiles.globalTiles && (anyRemoved || edge) &&
           __syncthreads_or(ownChunksNonFinite<T, D, kBlockN, kThreads>(vst));
  };
  bool deferred = false;
  for (int t = 0; t < tiles.count; ++t) {
    if (t + 1 < tiles.count) loadKeyValues(t + 1);
    copyAsyncCommit();
    copyAsyncWait<1>();
    const int stage = t & 1, j0 = firstKey(t);
    const uint16_t* vst = vs + stage * Lay::kStage;
    // The barrier that publishes tile t also tells every thread whether it drops any key.
    const bool anyRemoved = __syncthreads_or(row < kBlockN && removed[stage * kBlockN + row]);
    float sc[kMTiles][Lay::kNTiles][4];
    computeScores<T, D>(sc, query, ks + stage * Lay::kStage, lane);
    if (anyRemoved) maskRemoved(sc, removed + stage * kBlockN, lane);
    const bool edge = t >= tiles.globalTiles && (j0 < tiles.every.begin || j0 + kBlockN > tiles.every.end);
    if (edge) maskWindow(sc, s.window, s.L, i0 + warpRow0, j0, lane);
    const bool leaky = bandTileIsLeaky(t, anyRemoved, j0, vst);
    softmax.update(sc, o, scaleLog2);
    if (leaky) {
      deferred = true;  // block-uniform
    } else {
      accumulateValues<T, D>(o, sc, vst, lane);
    }
    __syncthreads();  // the next iteration refills the other stage, the one after this one
  }
  // The deferred tiles, found again one by one: their probabilities relative to the final
  // maxima (the softmax sums already hold them), staged, and summed over the keys each row sees.
  for (int t = tiles.globalTiles; deferred && t < tiles.count; ++t) {
    const int stage = t & 1, j0 = firstKey(t);
    const uint16_t* vst = vs + stage * Lay::kStage;
    loadKeyValues(t);
    copyAsyncCommit();
    copyAsyncWait<0>();
    const bool anyRemoved = __syncthreads_or(row < kBlockN && removed[stage * kBlockN + row]);
    if (bandTileIsLeaky(t, anyRemoved, j0, vst)) {
      float sc[kMTiles][Lay::kNTiles][4];
      computeScores<T, D>(sc, query, ks + stage * Lay::kStage, lane);
      if (anyRemoved) maskRemoved(sc, removed + stage * kBlockN, lane);
      if (j0 < tiles.every.begin || j0 + kBlockN > tiles.every.end) maskWindow(sc, s.window, s.L, i0 + warpRow0, j0, lane);
#pragma unroll
      for (int m = 0; m < kMTiles; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const float base = softmax.max[m][h] == -INFINITY ? 0.0f : softmax.max[m][h];  // as OnlineSoftmax::update
#pragma unroll
          for (int n = 0; n < Lay::kNTiles; ++n)
#pragma unroll
            for (int e = 0; e < 2; ++e) sc[m][n][2 * h + e] = fastExp2(fmaf(sc[m][n][2 * h + e], scaleLog2, -base));
        }
      const uint8_t* dropped = removed + stage * kBlockN;
      stageProbabilities<T>(ps, sc, warpRow0, lane, [&](int r, int c) {
        const IndexRange keys = bandKeys(s.window, s.L, i0 + r);
        return !dropped[c] && j0 + c >= keys.begin && j0 + c < keys.end;
      });
      accumulateStagedValues<T, D, kMTiles, kBlockN>(o, ps, vst, warpRow0, lane);
    }
    __syncthreads();  // this stage is refilled two tiles on
  }

  float rowScale[kMTiles][2];
#pragma unroll
  for (int m = 0; m < kMTiles; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = warpRow0 + 16 * m + lane / 4 + 8 * h;
      const bool local = r < validRows && roleOfRow(r) == TokenRole::Local;
      // Every lane of the warp takes part in the quad sum's shuffles, whatever its row.
      const float inverse = softmax.inverseSum(m, h);
      rowScale[m][h] = local ? inverse : 0.0f;
    }
  uint16_t* out = p.out + head + i0 * ld;
  storeRows<T, D>(qs, o, rowScale, warpRow0, lane, [&](int r) {
    return r < validRows && roleOfRow(r) == TokenRole::Local ? out + r * ld : nullptr;
  });
  // Padding rows are zero, not 0 times what they accumulated (NaN when their own query is).
  if (maskRow) {
    constexpr int kChunks = D / kChunk;
    for (int idx = int(threadIdx.x); idx < validRows * kChunks; idx += kThreads)
      if (roleOfRow(idx / kChunks) == TokenRole::Padding)
        *reinterpret_cast<uint4*>(out + (idx / kChunks) * ld + idx % kChunks * kChunk) = make_uint4(0, 0, 0, 0);
  }
#endif
}

template <DType T, int D>
void launch(cudaStream_t stream, const LocalShape& s, const LocalInputs<void>& in, const int32_t* mask,
            const int32_t* globalTokens, const int32_t* globalCounts, void* out) {
  using Lay = BandMmaLayout<D>;
  constexpr auto kernel = localBandMmaKernel<T, D>;
  SA_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Lay::kSmemBytes)),
              "localAttention");
  const int mBlocks = (s.L + Lay::kBlockM - 1) / Lay::kBlockM;
  const BandPointers p{static_cast<const uint16_t*>(in.q), static_cast<const uint16_t*>(in.k),
                       static_cast<const uint16_t*>(in.v), static_cast<uint16_t*>(out)};
  cuda::launchKernel<kernel>(unsigned(int64_t(mBlocks) * s.B * s.H), kThreads, Lay::kSmemBytes, stream,
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
