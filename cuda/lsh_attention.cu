// LSH attention on CUDA: hash, sort, normalise keys, chunked attention, combine rounds, all
// queued on one stream with no host synchronisation.
//
// Chunked attention: a block takes 16 query slots of one chunk of one head; its warps own four
// query rows each. The chunk's key slots stream through shared memory 32 at a time, gathered
// through the sorted index straight from the original layout (normalised keys, values); each
// lane scores one key, applies the masks and feeds an online softmax in float32. Neither the
// sorted sequence nor a score matrix is ever stored in global memory; results are written to
// the tokens' original positions. In float16 / bfloat16 at D = 64 and 128 the chunks run on
// tensor cores instead (cuda/lsh_chunk_mma.cu), with keys normalised into the input dtype.
#include <cuda_runtime.h>

#include <algorithm>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/lsh_chunk_mma.h"
#include "cuda/warp_softmax.cuh"
#include "kernels/half.h"
#include "kernels/lsh.h"

namespace sa {

namespace {

using cuda::kWarp;
using lsh::ChunkGeometry;
constexpr int kWarps = 4;
constexpr int kRowsPerWarp = 4;
constexpr int kQueryTile = kWarps * kRowsPerWarp;
constexpr int kKeyTile = kWarp;
constexpr int kRowWarpsPerBlock = 8;  // element-wise kernels: one warp per row

struct ChunkParams {
  int H, L, Lp, D;
  ChunkGeometry geometry;
  bool causal;
  lsh::MaskValues maskValues;
  int rounds;  // 1: results go to out; else to the per-round buffers
};

// keys [heads, Lp, D] float32: n(qk[t]) for t < L, zero rows for the padding positions.
template <DType T>
__global__ void normalizeKeysKernel(int64_t heads, int L, int Lp, int D, const typename Storage<T>::type* qk,
                                    float* keys) {
  const int64_t row = int64_t(blockIdx.x) * kRowWarpsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= heads * Lp) return;
  const int64_t bh = row / Lp;
  const int t = int(row % Lp);
  float* key = keys + row * D;
  if (t >= L) {
    for (int d = lane; d < D; d += kWarp) key[d] = 0.0f;
    return;
  }
  const typename Storage<T>::type* x = qk + (bh * L + t) * D;
  float sumSquares = 0.0f;
  for (int d = lane; d < D; d += kWarp) {
    const float value = Storage<T>::load(x[d]);
    sumSquares += value * value;
  }
  const float scale = lsh::keyNormScale(cuda::warpSum(sumSquares), D);
  const float sqrtD = sqrtf(float(D));
  for (int d = lane; d < D; d += kWarp) key[d] = lsh::normalizedKeyComponent(Storage<T>::load(x[d]), scale, sqrtD);
}

// Shared memory: queries [kQueryTile, D + 1], keys and values [kKeyTile, D + 1] (+1 spreads
// rows over banks), key positions and firstAllowedQuery [kKeyTile].
template <DType T>
__global__ void chunkKernel(ChunkParams p, const typename Storage<T>::type* qk, const float* keys,
                            const typename Storage<T>::type* v, const int32_t* sorted, const int32_t* paddingMask,
                            typename Storage<T>::type* out, float* roundOut, float* roundLse) {
  SA_DYNAMIC_SHARED(float, smem);
  __shared__ lsh::SlotToken queryTokens[kQueryTile];
  const int D = p.D, ld = D + 1;
  float* qs = smem;
  float* ks = qs + kQueryTile * ld;
  float* vs = ks + kKeyTile * ld;
  int* keyPos = reinterpret_cast<int*>(vs + kKeyTile * ld);
  int* keyAllowed = keyPos + kKeyTile;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;

  const ChunkGeometry& g = p.geometry;
  const int tilesPerChunk = (g.chunkLength + kQueryTile - 1) / kQueryTile;
  const int tile = int(blockIdx.x % tilesPerChunk);
  const int chunk = int((blockIdx.x / tilesPerChunk) % g.nChunks);
  const int64_t bh = int64_t(blockIdx.x) / tilesPerChunk / g.nChunks;
  const int rows = min(kQueryTile, g.chunkLength - tile * kQueryTile);
  const int32_t* sortedRow = sorted ? sorted + bh * g.nChunks * g.chunkLength : nullptr;
  const int32_t* maskRow = paddingMask ? paddingMask + (bh / p.H) * p.L : nullptr;

  if (threadIdx.x < rows)
    queryTokens[threadIdx.x] = lsh::slotToken(sortedRow, chunk * g.chunkLength + tile * kQueryTile + threadIdx.x, p.Lp);
  __syncthreads();
  for (int idx = threadIdx.x; idx < rows * D; idx += blockDim.x) {
    const int r = idx / D, d = idx % D, pos = queryTokens[r].pos;
    qs[r * ld + d] = pos < p.L ? Storage<T>::load(qk[(bh * p.L + pos) * D + d]) : 0.0f;
  }

  cuda::OnlineRow acc[kRowsPerWarp];
  const int64_t K = lsh::keysPerQuery(g);
  for (int64_t j0 = 0; j0 < K; j0 += kKeyTile) {
    const int n = int(min(int64_t(kKeyTile), K - j0));
    __syncthreads();  // the previous tile has been read (and the queries written)
    if (threadIdx.x < n) {
      const int pos = lsh::slotToken(sortedRow, lsh::keySlot(g, chunk, j0 + threadIdx.x), p.Lp).pos;
      keyPos[threadIdx.x] = pos;
      keyAllowed[threadIdx.x] = lsh::firstAllowedQuery(pos, lsh::isPaddingToken(maskRow, pos, p.L), p.causal);
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < n * D; idx += blockDim.x) {
      const int r = idx / D, d = idx % D, pos = keyPos[r];
      ks[r * ld + d] = keys[(bh * p.Lp + pos) * D + d];
      vs[r * ld + d] = pos < p.L ? Storage<T>::load(v[(bh * p.L + pos) * D + d]) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int r = warp * kRowsPerWarp + rr;
      if (r >= rows) break;
      float score = -INFINITY;
      if (lane < n) {
        float dot = 0.0f;
        for (int d = 0; d < D; ++d) dot += qs[r * ld + d] * ks[lane * ld + d];
        score = lsh::maskedScore(dot, queryTokens[r].pos, keyPos[lane], keyAllowed[lane], p.maskValues);
      }
      acc[rr].addTile(score, lane < n, n, vs, ld, D);  // masked keys are present (-1e9), as in Reformer
    }
  }

#pragma unroll
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    const int r = warp * kRowsPerWarp + rr;
    if (r >= rows) break;
    const lsh::SlotToken token = queryTokens[r];
    if (token.pos >= p.L) continue;  // a padding row of 1.10, dropped
    // exp(score - lse) = exp(score - M) * exp(M - lse), with lse rounded as in 1.9.
    const float lse = lsh::logSumExpFromMax(acc[rr].max, acc[rr].sum);
    const float scale = expf(acc[rr].max - lse);
    const int64_t roundRow = (bh * p.rounds + token.round) * p.L + token.pos;
#pragma unroll
    for (int c = 0; c < cuda::kMaxDPerLane; ++c) {
      const int d = lane + kWarp * c;
      if (d >= D) break;
      const float value = acc[rr].acc[c] * scale;
      if (p.rounds == 1) {
        out[(bh * p.L + token.pos) * D + d] = Storage<T>::store(value);
      } else {
        roundOut[roundRow * D + d] = value;
      }
    }
    if (p.rounds > 1 && lane == 0) roundLse[roundRow] = lse;
  }
}

// out[t] = Σ_r w_r · roundOut[r, t] with the weights of SEMANTICS 1.8; one warp per token.
template <DType T>
__global__ void combineRoundsKernel(int64_t heads, int L, int D, int rounds, const float* roundOut,
                                    const float* roundLse, typename Storage<T>::type* out) {
  const int64_t row = int64_t(blockIdx.x) * kRowWarpsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= heads * L) return;
  const int64_t bh = row / L;
  const int t = int(row % L);
  const float* lse = roundLse + bh * rounds * L + t;
  const float total = lsh::roundsLogSumExp(lse, rounds, L);
  for (int d = lane; d < D; d += kWarp) {
    float sum = 0.0f;
    for (int r = 0; r < rounds; ++r)
      sum = fmaf(lsh::roundWeight(lse[int64_t(r) * L], total), roundOut[((bh * rounds + r) * L + t) * D + d], sum);
    out[row * D + d] = Storage<T>::store(sum);
  }
}

float* scratchFloats(int device, int64_t count, CudaScratch& scratch) {
  scratch.push_back(cuda::allocate(device, size_t(count) * sizeof(float)));
  return static_cast<float*>(scratch.back().get());
}

int rowWarpBlocks(int64_t rows) { return int((rows + kRowWarpsPerBlock - 1) / kRowWarpsPerBlock); }

// The key width sortByBucketCuda needs for buckets in [0, maxBucket]: at least 1 bit, and
// below 32 since bucket ids are non-negative int32 values.
int bucketKeyBits(int64_t maxBucket) {
  int bits = 1;
  while (bits < 31 && (int64_t(1) << bits) <= maxBucket) ++bits;
  return bits;
}

// The sorted index [heads, nHashes * Lp] of the chunked path.
const int32_t* hashAndSort(cudaStream_t stream, int device, const LshAttentionShape& s, int Lp, DType dtype,
                           DType rotationsDtype, const void* qk, const void* rotations, const int32_t* paddingMask,
                           CudaScratch& scratch) {
  const int64_t heads = int64_t(s.B) * s.H, n = int64_t(s.nHashes) * Lp;
  scratch.push_back(cuda::allocate(device, size_t(heads * n) * sizeof(int32_t)));
  int32_t* buckets = static_cast<int32_t*>(scratch.back().get());
  scratch.push_back(cuda::allocate(device, size_t(heads * n) * sizeof(int32_t)));
  int32_t* sorted = static_cast<int32_t*>(scratch.back().get());
  lshHashCuda(stream, device, LshHashShape{s.B, s.H, s.L, Lp, s.D, s.nHashes, s.factors}, dtype, rotationsDtype, qk,
              rotations, paddingMask, buckets, scratch);
  const int64_t maxBucket = int64_t(s.nHashes) * (lsh::bucketCount(s.factors) + 1) - 1;
  sortByBucketCuda(stream, device, int(heads), int(n), bucketKeyBits(maxBucket), buckets, sorted, nullptr, scratch);
  return sorted;
}

template <DType T>
void runAttention(cudaStream_t stream, int device, const LshAttentionShape& s, DType rotationsDtype, const void* qkData,
                  const void* vData, const void* rotations, const int32_t* paddingMask, void* outData,
                  CudaScratch& scratch) {
  using E = typename Storage<T>::type;
  const E* qk = static_cast<const E*>(qkData);
  const int64_t heads = int64_t(s.B) * s.H;
  const bool standard = s.L <= s.chunkLength;
  const int Lp = lshPaddedLength(s.L, s.chunkLength);
  const int rounds = standard ? 1 : s.nHashes;
  const ChunkGeometry geometry = standard ? ChunkGeometry{s.L, 0, 0, 1}
                                          : ChunkGeometry{s.chunkLength, s.chunksBefore, s.chunksAfter,
                                                          s.nHashes * Lp / s.chunkLength};
  const int32_t* sorted =
      standard ? nullptr
               : hashAndSort(stream, device, s, Lp, T, rotationsDtype, qkData, rotations, paddingMask, scratch);

  float* roundOut = rounds > 1 ? scratchFloats(device, heads * rounds * s.L * s.D, scratch) : nullptr;
  float* roundLse = rounds > 1 ? scratchFloats(device, heads * rounds * s.L, scratch) : nullptr;
  if (lshChunkMmaSupports(T, s.D, qkData, vData, outData)) {  // half precision at D = 64, 128: tensor cores
    scratch.push_back(cuda::allocate(device, size_t(heads * Lp * s.D) * sizeof(E)));
    void* keys = scratch.back().get();
    lshNormalizeKeysMma(stream, T, heads, s.L, Lp, s.D, qkData, keys);
    lshChunkMma(stream, T,
                LshChunkMmaArgs{heads, s.H, s.L, Lp, s.D, geometry, s.causal, lsh::maskValues(true), rounds, qkData,
                                keys, vData, sorted, paddingMask, outData, roundOut, roundLse});
  } else {
    float* keys = scratchFloats(device, heads * Lp * s.D, scratch);
    cuda::launchKernel<normalizeKeysKernel<T>>(rowWarpBlocks(heads * Lp), kRowWarpsPerBlock * kWarp, 0, stream,
        heads, s.L, Lp, s.D, qk, keys);
    SA_CUDA_CHECK_LAUNCH("lshAttention");
    const ChunkParams params{s.H, s.L, Lp, s.D, geometry, s.causal, lsh::maskValues(T != DType::Float32), rounds};
    const size_t shared = size_t(kQueryTile + 2 * kKeyTile) * (s.D + 1) * sizeof(float) + 2 * kKeyTile * sizeof(int);
    SA_CUDA_TRY(cudaFuncSetAttribute(chunkKernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)),
                "lshAttention");
    const int64_t blocks = heads * geometry.nChunks * ((geometry.chunkLength + kQueryTile - 1) / kQueryTile);
    cuda::launchKernel<chunkKernel<T>>(unsigned(blocks), kWarps * kWarp, shared, stream,
        params, qk, keys, static_cast<const E*>(vData), sorted, paddingMask, static_cast<E*>(outData), roundOut,
        roundLse);
    SA_CUDA_CHECK_LAUNCH("lshAttention");
  }
  if (rounds == 1) return;
  cuda::launchKernel<combineRoundsKernel<T>>(rowWarpBlocks(heads * s.L), kRowWarpsPerBlock * kWarp, 0, stream,
      heads, s.L, s.D, rounds, roundOut, roundLse, static_cast<E*>(outData));
  SA_CUDA_CHECK_LAUNCH("lshAttention");
}

}  // namespace

void lshAttentionCuda(cuda::Stream stream, int device, const LshAttentionShape& s, DType dtype,
                      DType rotationsDtype, const void* qk, const void* v, const void* rotations,
                      const int32_t* paddingMask, void* out, CudaScratch& scratch) {
  if (s.D > cuda::kMaxHeadDim)
    throw KernelError(ErrorCode::InvalidArgument, "lshAttention on CUDA supports head dimensions up to 256");
  if (int64_t(s.B) * s.H * s.L * s.D == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::Float32:
      return runAttention<DType::Float32>(st, device, s, rotationsDtype, qk, v, rotations, paddingMask, out, scratch);
    case DType::Float16:
      return runAttention<DType::Float16>(st, device, s, rotationsDtype, qk, v, rotations, paddingMask, out, scratch);
    case DType::BFloat16:
      return runAttention<DType::BFloat16>(st, device, s, rotationsDtype, qk, v, rotations, paddingMask, out, scratch);
    default: throw KernelError(ErrorCode::InvalidArgument, "lshAttention: unsupported dtype");
  }
}

}  // namespace sa
