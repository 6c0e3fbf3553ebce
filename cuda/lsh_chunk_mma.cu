// LSH chunked attention on tensor cores, float16 / bfloat16 inputs with float32 accumulation
// (docs/semantics.md 1.5 to 1.7): a block takes 64 query slots of one chunk, four warps of 16 rows;
// the chunk's key slots stream through shared memory 64 at a time, double-buffered, gathered
// through the sorted index with cp.async straight from the original layout (normalised keys
// in the input dtype, values), and meet the queries in mma.sync products. The replacement
// masks (padding, causal, the query's own token) act on the score fragments, the softmax runs
// online in registers, and each row's float32 log-sum-exp goes with it to the combination of
// rounds. Nothing sorted or gathered is ever written to global memory.
#include <cstdint>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/lsh_chunk_mma.h"
#include "cuda/mma.cuh"
#include "cuda/mma_softmax.cuh"
#include "cuda/mma_tile.cuh"
#include "cuda/ptx.cuh"
#include "kernels/half.h"

namespace sa {

namespace {

using namespace cuda::mma;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kMTiles = 1;  // 16 query rows per warp: a chunk of 64 fills one block
constexpr int kBlockM = kWarps * 16 * kMTiles;
constexpr int kBlockN = 64;
constexpr int kNTiles = kBlockN / 8;

constexpr int kNormWarps = 8;

template <int D>
struct ChunkLayout {
  static constexpr int kQTile = PaddedTile<D>::kElements(kBlockM);
  static constexpr int kStage = PaddedTile<D>::kElements(kBlockN);
  // Q tile, K stages 0 and 1, V stages 0 and 1, then the key slots' (position, first allowed
  // query) pairs per stage and the query slots' positions.
  static constexpr size_t kSmemBytes =
      size_t(kQTile + 4 * kStage) * sizeof(uint16_t) + (2 * kBlockN * 2 + kBlockM) * sizeof(int32_t);
};

template <DType T>
__global__ void normalizeKeysInDtypeKernel(int64_t heads, HeadLayout layout, int Lp, bool normalize,
                                           const uint16_t* source, uint16_t* keys) {
  const int64_t row = int64_t(blockIdx.x) * kNormWarps + threadIdx.x / 32;
  const int lane = int(threadIdx.x) % 32;
  const int L = layout.L, D = layout.D;
  if (row >= heads * Lp) return;
  const int t = int(row % Lp);
  uint16_t* key = keys + row * D;
  if (t >= L) {
    for (int d = lane; d < D; d += 32) key[d] = 0;
    return;
  }
  const uint16_t* x = source + layout.row(row / Lp, t);
  float sumSquares = 0.0f;
  for (int d = lane; d < D; d += 32) {
    const float value = Storage<T>::load(x[d]);
    sumSquares += value * value;
  }
  for (int o = 16; o > 0; o >>= 1) sumSquares += __shfl_xor_sync(0xffffffffu, sumSquares, o);
  const float scale = normalize ? lsh::keyNormScale(sumSquares, D) : lsh::kUnnormalizedKey, sqrtD = sqrtf(float(D));
  for (int d = lane; d < D; d += 32)
    key[d] = Storage<T>::store(lsh::normalizedKeyComponent(Storage<T>::load(x[d]), scale, sqrtD));
}

// Copies the rows rowOf(r) (-1: a zero row) of an array of D-element rows, `ld` elements apart,
// into a padded shared tile of Rows rows with all threads of the block.
template <int D, int Rows, class RowOf>
__device__ __forceinline__ void gatherRowsAsync(uint16_t* smem, const uint16_t* gmem, int64_t ld, RowOf rowOf) {
  using Tile = PaddedTile<D>;
  static_assert(Rows * Tile::kChunks % kThreads == 0, "every thread copies the same number of chunks");
#pragma unroll
  for (int i = 0; i < Rows * Tile::kChunks / kThreads; ++i) {
    const int idx = i * kThreads + int(threadIdx.x), r = idx / Tile::kChunks, c = idx % Tile::kChunks;
    const int row = rowOf(r);
    copyAsync16(smem + Tile::offset(r, c), gmem + (row >= 0 ? row * ld + c * kChunk : 0), row >= 0);
  }
}

// The replacement masks of 1.7 on the raw scores of one key tile; slots past the key list
// (validKeys) have no score at all. keyInfo holds (position, first allowed query) per slot.
__device__ __forceinline__ void maskScores(float (&sc)[kMTiles][kNTiles][4], const int2* keyInfo, int validKeys,
                                           const int (&queryPos)[2], lsh::MaskValues mv, int lane) {
#pragma unroll
  for (int n = 0; n < kNTiles; ++n)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int col = 8 * n + 2 * (lane % 4) + e;
      const int2 key = keyInfo[col];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float& x = sc[0][n][2 * h + e];
        x = col < validKeys ? lsh::maskedScore(x, queryPos[h], key.x, key.y, mv) : -INFINITY;
      }
    }
}

struct ChunkPointers {
  const uint16_t *qk, *keys, *v;
  uint16_t* out;
};

// Grid: one block per (query tile, chunk, batch x head), tilesPerChunk = ceil(chunkLength / 64).
template <DType T, int D>
__global__ void __launch_bounds__(kThreads) lshChunkMmaKernel(LshChunkMmaArgs a, ChunkPointers p, int tilesPerChunk) {
#if SA_CUDA_SM80_CODE  // cp.async and bfloat16 mma.sync; older devices never launch it
  using Lay = ChunkLayout<D>;
  SA_DYNAMIC_SHARED(uint4, smemChunks);
  uint16_t* qs = reinterpret_cast<uint16_t*>(smemChunks);
  uint16_t* ks = qs + Lay::kQTile;
  uint16_t* vs = ks + 2 * Lay::kStage;
  int2* keyInfo = reinterpret_cast<int2*>(vs + 2 * Lay::kStage);  // [2][kBlockN]
  int* queryPos = reinterpret_cast<int*>(keyInfo + 2 * kBlockN);  // [kBlockM]

  const lsh::ChunkGeometry& g = a.geometry;
  const int tile = int(blockIdx.x % unsigned(tilesPerChunk));
  const int chunk = int((blockIdx.x / unsigned(tilesPerChunk)) % unsigned(g.nChunks));
  const int64_t bh = int64_t(blockIdx.x) / tilesPerChunk / g.nChunks;
  const int rows = min(kBlockM, g.chunkLength - tile * kBlockM);
  const int firstSlot = chunk * g.chunkLength + tile * kBlockM;
  const int32_t* sortedRow = a.sorted ? a.sorted + bh * g.nChunks * g.chunkLength : nullptr;
  const int32_t* maskRow = a.paddingMask ? a.paddingMask + (bh / a.H) * a.L : nullptr;
  const int64_t ld = a.layout.rowStride();
  const uint16_t* qk = p.qk + a.layout.base(bh);
  const uint16_t* keys = p.keys + bh * a.Lp * D;
  const uint16_t* v = p.v + a.layout.base(bh);
  const int64_t K = lsh::keysPerQuery(g);  // within int32; tile starts may step past it
  const int nTiles = int((K + kBlockN - 1) / kBlockN);
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  const int warpRow0 = warp * 16;
  auto tokenOf = [&](int slot) { return lsh::slotToken(sortedRow, slot, a.Lp); };

  // Each copying thread looks its row's position up itself, so the copies need no barrier.
  auto loadKeyValues = [&](int t) {
    const int stage = t & 1;
    const int64_t j0 = int64_t(t) * kBlockN;
    auto keyPos = [&](int r) { return j0 + r < K ? tokenOf(lsh::keySlot(g, chunk, j0 + r)).pos : -1; };
    gatherRowsAsync<D, kBlockN>(ks + stage * Lay::kStage, keys, D, keyPos);
    gatherRowsAsync<D, kBlockN>(vs + stage * Lay::kStage, v, ld, [&](int r) {
      const int pos = keyPos(r);
      return pos < a.L ? pos : -1;
    });
    if (threadIdx.x < kBlockN) {
      const int pos = keyPos(int(threadIdx.x));
      keyInfo[stage * kBlockN + threadIdx.x] =
          make_int2(pos, pos < 0 ? 0 : lsh::firstAllowedQuery(pos, lsh::isPaddingToken(maskRow, pos, a.L), a.causal));
    }
  };

  auto queryRow = [&](int r) {
    if (r >= rows) return -1;
    const int pos = tokenOf(firstSlot + r).pos;
    return pos < a.L ? pos : -1;
  };
  gatherRowsAsync<D, kBlockM>(qs, qk, ld, queryRow);
  static_assert(kBlockM <= kThreads, "one thread per query slot looks its position up");
  const int slotRow = int(threadIdx.x);
  if (slotRow < kBlockM) queryPos[slotRow] = slotRow < rows ? tokenOf(firstSlot + slotRow).pos : -1;
  copyAsyncCommit();
  loadKeyValues(0);
  copyAsyncCommit();
  copyAsyncWait<1>();
  __syncthreads();
  QueryFragments<D, kMTiles, true> query;
  query.load(qs, warpRow0, lane);
  const int myPos[2] = {queryPos[warpRow0 + lane / 4], queryPos[warpRow0 + lane / 4 + 8]};

  OnlineSoftmax<kMTiles> softmax;
  float o[kMTiles][D / 8][4];
#pragma unroll
  for (int d = 0; d < D / 8; ++d)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[0][d][e] = 0.0f;

  for (int t = 0; t < nTiles; ++t) {
    if (t + 1 < nTiles) loadKeyValues(t + 1);
    copyAsyncCommit();
    copyAsyncWait<1>();
    __syncthreads();
    const int stage = t & 1;
    float sc[kMTiles][kNTiles][4];
    computeScores<T, D>(sc, query, ks + stage * Lay::kStage, lane);
    maskScores(sc, keyInfo + stage * kBlockN, int(min(K - int64_t(t) * kBlockN, int64_t(kBlockN))), myPos,
               a.maskValues, lane);
    softmax.update(sc, o, kLog2e);  // the scores are used unscaled (1.6)
    accumulateValues<T, D>(o, sc, vs + stage * Lay::kStage, lane);
    __syncthreads();  // the next iteration refills the other stage, the one after this one
  }

  // exp(score - lse) = exp(score - M) * exp(M - lse), lse rounded as in 1.9.
  float rowScale[kMTiles][2], lse[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const float max = softmax.max[0][h] / kLog2e, sum = quadSum(softmax.sum[0][h]);
    lse[h] = lsh::logSumExpFromMax(max, sum);
    rowScale[0][h] = expf(max - lse[h]);
  }
  if (a.rounds == 1) {
    storeRows<T, D>(qs, o, rowScale, warpRow0, lane, [&](int r) {
      const int pos = queryPos[r];
      return pos >= 0 && pos < a.L ? p.out + a.layout.row(bh, pos) : nullptr;
    });
    return;
  }
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = warpRow0 + lane / 4 + 8 * h, pos = myPos[h];
    if (pos < 0 || pos >= a.L) continue;
    const int64_t roundRow = (bh * a.rounds + tokenOf(firstSlot + r).round) * a.L + pos;
    float* dst = a.roundOut + roundRow * D + 2 * (lane % 4);
    const float f = rowScale[0][h];
#pragma unroll
    for (int d = 0; d < D / 8; ++d)
      *reinterpret_cast<float2*>(dst + 8 * d) = make_float2(o[0][d][2 * h] * f, o[0][d][2 * h + 1] * f);
    if (lane % 4 == 0) a.roundLse[roundRow] = lse[h];
  }
#endif
}

template <DType T, int D>
void launch(cudaStream_t stream, const LshChunkMmaArgs& a) {
  using Lay = ChunkLayout<D>;
  constexpr auto kernel = lshChunkMmaKernel<T, D>;
  SA_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Lay::kSmemBytes)),
              "lshAttention");
  const int tilesPerChunk = (a.geometry.chunkLength + kBlockM - 1) / kBlockM;
  const ChunkPointers p{static_cast<const uint16_t*>(a.qk), static_cast<const uint16_t*>(a.keys),
                        static_cast<const uint16_t*>(a.v), static_cast<uint16_t*>(a.out)};
  cuda::launchKernel<kernel>(unsigned(a.heads * a.geometry.nChunks * tilesPerChunk), kThreads, Lay::kSmemBytes, stream,
      a, p, tilesPerChunk);
  SA_CUDA_CHECK_LAUNCH("lshAttention");
}

template <DType T>
void launchForHeadDim(cudaStream_t stream, const LshChunkMmaArgs& a) {
  if (a.D == 64) return launch<T, 64>(stream, a);
  return launch<T, 128>(stream, a);
}

}  // namespace

bool lshChunkMmaSupports(DType dtype, int D, const void* qk, const void* v, const void* out) {
  return (dtype == DType::Float16 || dtype == DType::BFloat16) && (D == 64 || D == 128) && aligned16(qk) &&
         aligned16(v) && aligned16(out) && cuda::mma::currentDeviceHasMma();
}

void lshNormalizeKeysMma(cudaStream_t stream, DType dtype, int64_t heads, const HeadLayout& layout, int Lp,
                         bool normalize, const void* x, void* keys) {
  const unsigned blocks = unsigned((heads * Lp + kNormWarps - 1) / kNormWarps);
  auto src = static_cast<const uint16_t*>(x);
  auto dst = static_cast<uint16_t*>(keys);
  if (dtype == DType::Float16)
    cuda::launchKernel<normalizeKeysInDtypeKernel<DType::Float16>>(blocks, kNormWarps * 32, 0, stream,
        heads, layout, Lp, normalize, src, dst);
  else
    cuda::launchKernel<normalizeKeysInDtypeKernel<DType::BFloat16>>(blocks, kNormWarps * 32, 0, stream,
        heads, layout, Lp, normalize, src, dst);
  SA_CUDA_CHECK_LAUNCH("lshAttention");
}

void lshChunkMma(cudaStream_t stream, DType dtype, const LshChunkMmaArgs& args) {
  if (dtype == DType::Float16) return launchForHeadDim<DType::Float16>(stream, args);
  return launchForHeadDim<DType::BFloat16>(stream, args);
}

}  // namespace sa
