// LSH chunked attention on tensor cores, float16 / bfloat16 inputs with float32 accumulation
// (docs/semantics.md 1.5 to 1.7): the tensor-core mainloop (cuda/mma_attention.cuh) for 64
// query slots of one chunk, four warps of 16 rows, over the chunk's key slots 64 at a time,
// gathered through the sorted index with cp.async straight from the original layout
// (normalised keys in the input dtype, values), with the replacement masks (padding, causal,
// the query's own token) as mask policy. Each row's float32 log-sum-exp goes with it to the
// combination of rounds. Nothing sorted or gathered is ever written to global memory.
#include <cstdint>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/lsh_chunk_mma.h"
#include "cuda/mma.cuh"
#include "cuda/mma_attention.cuh"
#include "kernels/half.h"

namespace sa {

namespace {

using namespace cuda::mma;

// 16 query rows per warp: a chunk of 64 fills one block. The masks replace scores by finite
// values (1.7), so that a masked key is seen with weight 0 as in Reformer: nothing is hidden.
template <int D>
using ChunkTraits = AttentionTraits<D, 1, 64, true, false>;

// The kernel's own shared memory after the mainloop's: the key slots' (position, first allowed
// query) pairs per stage, then the query slots' positions.
template <class Tr>
constexpr size_t kChunkSmemBytes = Tr::kBytes + (2 * Tr::kBlockN * 2 + Tr::kBlockM) * sizeof(int32_t);

// The key slots of one chunk, tile t holding slots [t * kBlockN, +kBlockN) of its K keys,
// gathered through the sorted index; slots past K are zero rows, and so are the values of
// padding positions (>= L).
template <class Tr>
struct ChunkKeys {
  const LshChunkMmaArgs& a;
  const int32_t *sortedRow, *maskRow;
  const uint16_t *keys, *v;
  int64_t ld, K;  // K within int32; tile starts may step past it
  int chunk;
  int2* keyInfo;  // [2][kBlockN]
  __device__ __forceinline__ int count() const { return int((K + Tr::kBlockN - 1) / Tr::kBlockN); }
  __device__ __forceinline__ int tokenPos(int slot) const { return lsh::slotToken(sortedRow, slot, a.Lp).pos; }
  // Each copying thread looks its row's position up itself, so the copies need no barrier.
  __device__ __forceinline__ void load(int t, uint16_t* ks, uint16_t* vs, int stage) const {
    const int64_t j0 = int64_t(t) * Tr::kBlockN;
    auto keyPos = [&](int r) { return j0 + r < K ? tokenPos(lsh::keySlot(a.geometry, chunk, j0 + r)) : -1; };
    copyRowsAsync<Tr::kD, Tr::kBlockN, kAttentionThreads>(ks, keys, Tr::kD, keyPos);
    copyRowsAsync<Tr::kD, Tr::kBlockN, kAttentionThreads>(vs, v, ld, [&](int r) {
      const int pos = keyPos(r);
      return pos < a.L ? pos : -1;
    });
    if (threadIdx.x < Tr::kBlockN) {
      const int pos = keyPos(int(threadIdx.x));
      keyInfo[stage * Tr::kBlockN + threadIdx.x] =
          make_int2(pos, pos < 0 ? 0 : lsh::firstAllowedQuery(pos, lsh::isPaddingToken(maskRow, pos, a.L), a.causal));
    }
  }
};

// The replacement masks of 1.7 on the raw scores of one key tile; slots past the key list have
// no score at all.
template <class Tr>
struct LshMask {
  static constexpr bool kMayHide = false;
  const ChunkKeys<Tr>& keys;
  lsh::MaskValues values;
  int queryPos[2];  // of the thread's two rows
  struct Tile {
    const int2* keyInfo;  // (position, first allowed query) per slot
    int validKeys;
  };
  __device__ __forceinline__ bool mayHide(int) const { return false; }
  __device__ __forceinline__ Tile publish(int t, int stage) const {
    __syncthreads();
    return {keys.keyInfo + stage * Tr::kBlockN, int(min(keys.K - int64_t(t) * Tr::kBlockN, int64_t(Tr::kBlockN)))};
  }
  template <int NTiles>
  __device__ __forceinline__ void apply(float (&sc)[1][NTiles][4], const Tile& tile, int, int lane) const {
#pragma unroll
    for (int n = 0; n < NTiles; ++n)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int col = 8 * n + 2 * (lane % 4) + e;
        const int2 key = tile.keyInfo[col];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          float& x = sc[0][n][2 * h + e];
          x = col < tile.validKeys ? lsh::maskedScore(x, queryPos[h], key.x, key.y, values) : -INFINITY;
        }
      }
  }
  __device__ __forceinline__ bool visible(const Tile&, int, int) const { return true; }
};

struct ChunkPointers {
  const uint16_t *qk, *keys, *v;
  uint16_t* out;
};

// Grid: one block per (query tile, chunk, batch x head), tilesPerChunk = ceil(chunkLength / 64).
template <DType T, int D>
__global__ void __launch_bounds__(kAttentionThreads) lshChunkMmaKernel(LshChunkMmaArgs a, ChunkPointers p,
                                                                       int tilesPerChunk) {
#if SA_CUDA_SM80_CODE  // cp.async and bfloat16 mma.sync; older devices never launch it
  using Tr = ChunkTraits<D>;
  constexpr int kBlockM = Tr::kBlockM, kBlockN = Tr::kBlockN;
  SA_DYNAMIC_SHARED(uint4, smemChunks);
  const AttentionSmem<Tr> sm(smemChunks);
  int2* keyInfo = sm.template extra<int2>();       // [2][kBlockN]
  int* queryPos = reinterpret_cast<int*>(keyInfo + 2 * kBlockN);  // [kBlockM]

  const lsh::ChunkGeometry& g = a.geometry;
  const int tile = int(blockIdx.x % unsigned(tilesPerChunk));
  const int chunk = int((blockIdx.x / unsigned(tilesPerChunk)) % unsigned(g.nChunks));
  const int64_t bh = int64_t(blockIdx.x) / tilesPerChunk / g.nChunks;
  const int rows = min(kBlockM, g.chunkLength - tile * kBlockM);
  const int firstSlot = chunk * g.chunkLength + tile * kBlockM;
  const int64_t ld = a.layout.rowStride();
  const ChunkKeys<Tr> keys{a,
                           a.sorted ? a.sorted + bh * g.nChunks * g.chunkLength : nullptr,
                           a.paddingMask ? a.paddingMask + (bh / a.H) * a.L : nullptr,
                           p.keys + bh * a.Lp * D, p.v + a.layout.base(bh), ld, lsh::keysPerQuery(g), chunk, keyInfo};
  auto tokenOf = [&](int slot) { return lsh::slotToken(keys.sortedRow, slot, a.Lp); };

  copyRowsAsync<D, kBlockM, kAttentionThreads>(sm.q, p.qk + a.layout.base(bh), ld, [&](int r) {
    if (r >= rows) return -1;
    const int pos = tokenOf(firstSlot + r).pos;
    return pos < a.L ? pos : -1;
  });
  static_assert(kBlockM <= kAttentionThreads, "one thread per query slot looks its position up");
  const int slotRow = int(threadIdx.x);
  if (slotRow < kBlockM) queryPos[slotRow] = slotRow < rows ? tokenOf(firstSlot + slotRow).pos : -1;
  AttentionWarp<Tr> w;
  LshMask<Tr> mask{keys, a.maskValues, {}};
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = w.row(0, h);
    mask.queryPos[h] = r < rows ? tokenOf(firstSlot + r).pos : -1;
  }
  attentionMainloop<T>(sm, keys, mask, w, 1.0f);  // the scores are used unscaled (1.6)

  // exp(score - lse) = exp(score - M) * exp(M - lse), lse rounded as in 1.9.
  float rowScale[1][2], lse[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const float max = w.softmax.max[0][h] / kLog2e, sum = quadSum(w.softmax.sum[0][h]);
    lse[h] = lsh::logSumExpFromMax(max, sum);
    rowScale[0][h] = expf(max - lse[h]);
  }
  if (a.rounds == 1) {
    storeRows<T, D>(sm.q, w.o, rowScale, w.warpRow0, w.lane, [&](int r) {
      const int pos = queryPos[r];
      return pos >= 0 && pos < a.L ? p.out + a.layout.row(bh, pos) : nullptr;
    });
    return;
  }
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = w.row(0, h), pos = mask.queryPos[h];
    if (pos < 0 || pos >= a.L) continue;
    const int64_t roundRow = (bh * a.rounds + tokenOf(firstSlot + r).round) * a.L + pos;
    float* dst = a.roundOut + roundRow * D + 2 * (w.lane % 4);
    const float f = rowScale[0][h];
#pragma unroll
    for (int d = 0; d < D / 8; ++d)
      *reinterpret_cast<float2*>(dst + 8 * d) = make_float2(w.o[0][d][2 * h] * f, w.o[0][d][2 * h + 1] * f);
    if (w.lane % 4 == 0) a.roundLse[roundRow] = lse[h];
  }
#endif
}

template <DType T, int D>
void launch(cudaStream_t stream, const LshChunkMmaArgs& a) {
  using Tr = ChunkTraits<D>;
  constexpr auto kernel = lshChunkMmaKernel<T, D>;
  constexpr size_t kBytes = kChunkSmemBytes<Tr>;
  SA_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kBytes)),
              "lshAttention");
  const int tilesPerChunk = (a.geometry.chunkLength + Tr::kBlockM - 1) / Tr::kBlockM;
  const ChunkPointers p{static_cast<const uint16_t*>(a.qk), static_cast<const uint16_t*>(a.keys),
                        static_cast<const uint16_t*>(a.v), static_cast<uint16_t*>(a.out)};
  cuda::launchKernel<kernel>(unsigned(a.heads * a.geometry.nChunks * tilesPerChunk), kAttentionThreads, kBytes, stream,
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

void lshChunkMma(cudaStream_t stream, DType dtype, const LshChunkMmaArgs& args) {
  if (dtype == DType::Float16) return launchForHeadDim<DType::Float16>(stream, args);
  return launchForHeadDim<DType::BFloat16>(stream, args);
}

}  // namespace sa
