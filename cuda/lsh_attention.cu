// LSH attention on CUDA: hash, sort, normalise keys, chunked attention, combine rounds, all
// queued on one stream with no host synchronisation.
//
// Chunked attention: the CUDA-core mainloop (cuda/warp_attention.cuh) for 16 query slots of one
// chunk of one head, over the chunk's key slots 32 at a time, gathered through the sorted index
// straight from the original layout (normalised keys, values), with LSH's masks. Neither the
// sorted sequence nor a score matrix is ever stored in global memory; results are written to
// the tokens' original positions. In float16 / bfloat16 at D = 64 and 128 the chunks run on
// tensor cores instead (cuda/lsh_chunk_mma.cu), with keys normalised into the input dtype.
//
// Reformer's local attention runs the same chunk stage over the identity order: separate
// queries and keys (divided by sqrt(D) instead of normalised), no hashing, no self mask.
#include <cuda_runtime.h>

#include <algorithm>
#include <type_traits>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/lsh_chunk_mma.h"
#include "cuda/warp_attention.cuh"
#include "kernels/half.h"
#include "kernels/lsh.h"
#include "kernels/reformer_local.h"

namespace sa {

namespace {

using cuda::kWarp;
using lsh::ChunkGeometry;
using cuda::kKeyTile;
using cuda::kQueryTile;
using cuda::kRowsPerWarp;
constexpr int kRowWarpsPerBlock = 8;  // element-wise kernels: one warp per row

struct ChunkParams {
  HeadLayout layout;  // of the queries, v and out
  int H, L, Lp, D;
  ChunkGeometry geometry;
  bool causal;
  lsh::MaskValues maskValues;
  int rounds;  // 1: results go to out; else to the per-round buffers
};

// keys [heads, Lp, D] of element type K: n(x[t]) (or x[t] / sqrt(D) when !normalize) for t < L,
// zero rows for the padding positions; x's rows follow `layout`. K is float for the general
// chunk kernel, the input's storage type for the tensor-core one (cuda/lsh_chunk_mma.cu).
template <DType T, class K>
__global__ void normalizeKeysKernel(int64_t heads, HeadLayout layout, int Lp, bool normalize,
                                    const typename Storage<T>::type* source, K* keys) {
  auto store = [](float x) {
    if constexpr (std::is_same_v<K, float>) return x;
    else return Storage<T>::store(x);
  };
  const int64_t row = int64_t(blockIdx.x) * kRowWarpsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  const int L = layout.L, D = layout.D;
  if (row >= heads * Lp) return;
  const int64_t bh = row / Lp;
  const int t = int(row % Lp);
  K* key = keys + row * D;
  if (t >= L) {
    for (int d = lane; d < D; d += kWarp) key[d] = store(0.0f);
    return;
  }
  const typename Storage<T>::type* x = source + layout.row(bh, t);
  float sumSquares = 0.0f;
  for (int d = lane; d < D; d += kWarp) {
    const float value = Storage<T>::load(x[d]);
    sumSquares += value * value;
  }
  const float total = cuda::warpSum(sumSquares);
  const float scale = normalize ? lsh::keyNormScale(total, D) : lsh::kUnnormalizedKey;
  const float sqrtD = sqrtf(float(D));
  for (int d = lane; d < D; d += kWarp)
    key[d] = store(lsh::normalizedKeyComponent(Storage<T>::load(x[d]), scale, sqrtD));
}

// The key slots of one chunk, gathered through the sorted index: tile t holds slots
// [t * kKeyTile, +kKeyTile) of its K keys. Their positions and first allowed queries go to
// keyPos and keyAllowed [kKeyTile] first, then the rows are copied (values of padding
// positions, >= L, as zeros).
template <DType T>
struct ChunkKeys {
  const ChunkParams& p;
  const float* keys;
  const typename Storage<T>::type* v;
  const int32_t *sortedRow, *maskRow;
  int64_t bh, K;
  int chunk;
  int *keyPos, *keyAllowed;
  __device__ __forceinline__ int count() const { return int((K + kKeyTile - 1) / kKeyTile); }
  __device__ __forceinline__ int size(int t) const { return int(min(int64_t(kKeyTile), K - int64_t(t) * kKeyTile)); }
  __device__ __forceinline__ void load(int t, float* ks, float* vs, int ld) const {
    const int n = size(t), D = p.D;
    if (int(threadIdx.x) < n) {
      const int pos = lsh::slotToken(sortedRow, lsh::keySlot(p.geometry, chunk, int64_t(t) * kKeyTile + threadIdx.x),
                                     p.Lp).pos;
      keyPos[threadIdx.x] = pos;
      keyAllowed[threadIdx.x] = lsh::firstAllowedQuery(pos, lsh::isPaddingToken(maskRow, pos, p.L), p.causal);
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < n * D; idx += blockDim.x) {
      const int r = idx / D, d = idx % D, pos = keyPos[r];
      ks[r * ld + d] = keys[(bh * p.Lp + pos) * D + d];
      vs[r * ld + d] = pos < p.L ? Storage<T>::load(v[p.layout.row(bh, pos) + d]) : 0.0f;
    }
  }
};

// The replacement masks of 1.7: a masked key is present with its mask value (-1e9 or -1e4),
// as in Reformer.
struct LshMask {
  const ChunkParams& p;
  const lsh::SlotToken* queryTokens;
  const int *keyPos, *keyAllowed;
  int rows;
  __device__ __forceinline__ bool takesPart(int, int r) const { return r < rows; }
  __device__ __forceinline__ bool present(int, int, int) const { return true; }
  __device__ __forceinline__ float score(int, int r, int j, float dot) const {
    return lsh::maskedScore(dot, queryTokens[r].pos, keyPos[j], keyAllowed[j], p.maskValues);
  }
};

// Shared memory: the mainloop's (cuda/warp_attention.cuh), then the key positions and
// firstAllowedQuery [kKeyTile].
template <DType T>
__global__ void chunkKernel(ChunkParams p, const typename Storage<T>::type* qk, const float* keys,
                            const typename Storage<T>::type* v, const int32_t* sorted, const int32_t* paddingMask,
                            typename Storage<T>::type* out, float* roundOut, float* roundLse) {
  SA_DYNAMIC_SHARED(float, smem);
  __shared__ lsh::SlotToken queryTokens[kQueryTile];
  const int D = p.D;
  const cuda::WarpAttentionSmem sm(smem, D);
  int* keyPos = reinterpret_cast<int*>(sm.extra());
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
    sm.q[r * sm.ld + d] = pos < p.L ? Storage<T>::load(qk[p.layout.row(bh, pos) + d]) : 0.0f;
  }

  cuda::OnlineRow acc[kRowsPerWarp];
  const ChunkKeys<T> chunkKeys{p, keys, v, sortedRow, maskRow, bh, lsh::keysPerQuery(g), chunk, keyPos, keyAllowed};
  cuda::warpAttentionMainloop(sm, D, chunkKeys, LshMask{p, queryTokens, keyPos, keyAllowed, rows}, acc);

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
        out[p.layout.row(bh, token.pos) + d] = Storage<T>::store(value);
      } else {
        roundOut[roundRow * D + d] = value;
      }
    }
    if (p.rounds > 1 && lane == 0) roundLse[roundRow] = lse;
  }
}

// out[t] = Σ_r w_r · roundOut[r, t] with the weights of docs/semantics.md 1.8; one warp per token.
template <DType T>
__global__ void combineRoundsKernel(int64_t heads, HeadLayout layout, int rounds, const float* roundOut,
                                    const float* roundLse, typename Storage<T>::type* out) {
  const int64_t row = int64_t(blockIdx.x) * kRowWarpsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  const int L = layout.L, D = layout.D;
  if (row >= heads * L) return;
  const int64_t bh = row / L;
  const int t = int(row % L);
  const float* lse = roundLse + bh * rounds * L + t;
  const float total = lsh::roundsLogSumExp(lse, rounds, L);
  for (int d = lane; d < D; d += kWarp) {
    float sum = 0.0f;
    for (int r = 0; r < rounds; ++r)
      sum = fmaf(lsh::roundWeight(lse[int64_t(r) * L], total), roundOut[((bh * rounds + r) * L + t) * D + d], sum);
    out[layout.row(bh, t) + d] = Storage<T>::store(sum);
  }
}

float* scratchFloats(int device, int64_t count, CudaScratch& scratch) {
  scratch.push_back(cuda::allocate(device, size_t(count) * sizeof(float)));
  return static_cast<float*>(scratch.back().get());
}

int rowWarpBlocks(int64_t rows) { return int((rows + kRowWarpsPerBlock - 1) / kRowWarpsPerBlock); }

template <DType T, class K>
void normalizeKeys(cudaStream_t stream, int64_t heads, const HeadLayout& layout, int Lp, bool normalize,
                   const void* source, K* keys) {
  cuda::launchKernel<normalizeKeysKernel<T, K>>(rowWarpBlocks(heads * Lp), kRowWarpsPerBlock * kWarp, 0, stream,
      heads, layout, Lp, normalize, static_cast<const typename Storage<T>::type*>(source), keys);
  SA_CUDA_CHECK_LAUNCH("chunked attention");
}

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
  lshHashCuda(stream, device, LshHashShape{s.B, s.H, s.L, Lp, s.D, s.nHashes, s.factors, s.tokenMajor}, dtype,
              rotationsDtype, qk, rotations, paddingMask, buckets, scratch);
  const int64_t maxBucket = int64_t(s.nHashes) * (lsh::bucketCount(s.factors) + 1) - 1;
  sortByBucketCuda(stream, device, int(heads), int(n), bucketKeyBits(maxBucket), buckets, sorted, nullptr, scratch);
  return sorted;
}

// The chunk stage shared by LSH attention and Reformer's local attention.
struct ChunkJob {
  int64_t heads;
  HeadLayout layout;   // of queries, keySource, v and out
  int Lp;
  ChunkGeometry geometry;
  bool causal;
  bool selfMask;       // LSH's; Reformer's local attention has none
  bool normalizeKeys;  // LSH's n(x); else x / sqrt(D)
  int rounds;
  const void *queries, *keySource, *v;
  const int32_t* sorted;  // null: the identity order
  const int32_t* paddingMask;
  void* out;
};

lsh::MaskValues chunkMaskValues(bool halfPrecision, bool selfMask) {
  return selfMask ? lsh::maskValues(halfPrecision) : lsh::localMaskValues(halfPrecision);
}

// Keys, chunked attention (on tensor cores where they apply) and the combination of rounds.
template <DType T>
void runChunks(cudaStream_t stream, int device, const ChunkJob& j, CudaScratch& scratch) {
  using E = typename Storage<T>::type;
  const int L = j.layout.L, D = j.layout.D;
  float* roundOut = j.rounds > 1 ? scratchFloats(device, j.heads * j.rounds * L * D, scratch) : nullptr;
  float* roundLse = j.rounds > 1 ? scratchFloats(device, j.heads * j.rounds * L, scratch) : nullptr;
  if (lshChunkMmaSupports(T, D, j.queries, j.v, j.out)) {  // half precision at D = 64, 128: tensor cores
    scratch.push_back(cuda::allocate(device, size_t(j.heads * j.Lp * D) * sizeof(E)));
    E* keys = static_cast<E*>(scratch.back().get());
    normalizeKeys<T>(stream, j.heads, j.layout, j.Lp, j.normalizeKeys, j.keySource, keys);
    lshChunkMma(stream, T,
                LshChunkMmaArgs{j.heads, j.layout.H, L, j.Lp, D, j.layout, j.geometry, j.causal,
                                chunkMaskValues(true, j.selfMask), j.rounds, j.queries, keys, j.v, j.sorted,
                                j.paddingMask, j.out, roundOut, roundLse});
  } else {
    float* keys = scratchFloats(device, j.heads * j.Lp * D, scratch);
    normalizeKeys<T>(stream, j.heads, j.layout, j.Lp, j.normalizeKeys, j.keySource, keys);
    const ChunkParams params{j.layout, j.layout.H, L, j.Lp, D, j.geometry, j.causal,
                             chunkMaskValues(T != DType::Float32, j.selfMask), j.rounds};
    const size_t shared = cuda::WarpAttentionSmem::bytes(D) + 2 * kKeyTile * sizeof(int);
    SA_CUDA_TRY(cudaFuncSetAttribute(chunkKernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)),
                "chunked attention");
    const int64_t blocks = j.heads * j.geometry.nChunks * ((j.geometry.chunkLength + kQueryTile - 1) / kQueryTile);
    cuda::launchKernel<chunkKernel<T>>(unsigned(blocks), cuda::kAttentionWarps * kWarp, shared, stream,
        params, static_cast<const E*>(j.queries), keys, static_cast<const E*>(j.v), j.sorted, j.paddingMask,
        static_cast<E*>(j.out), roundOut, roundLse);
    SA_CUDA_CHECK_LAUNCH("chunked attention");
  }
  if (j.rounds == 1) return;
  cuda::launchKernel<combineRoundsKernel<T>>(rowWarpBlocks(j.heads * L), kRowWarpsPerBlock * kWarp, 0, stream,
      j.heads, j.layout, j.rounds, roundOut, roundLse, static_cast<E*>(j.out));
  SA_CUDA_CHECK_LAUNCH("chunked attention");
}

template <DType T>
void runAttention(cudaStream_t stream, int device, const LshAttentionShape& s, DType rotationsDtype, const void* qkData,
                  const void* vData, const void* rotations, const int32_t* paddingMask, void* outData,
                  CudaScratch& scratch) {
  const bool standard = s.L <= s.chunkLength;
  const int Lp = lshPaddedLength(s.L, s.chunkLength);
  const ChunkGeometry geometry = standard ? ChunkGeometry{s.L, 0, 0, 1}
                                          : ChunkGeometry{s.chunkLength, s.chunksBefore, s.chunksAfter,
                                                          s.nHashes * Lp / s.chunkLength};
  const int32_t* sorted =
      standard ? nullptr
               : hashAndSort(stream, device, s, Lp, T, rotationsDtype, qkData, rotations, paddingMask, scratch);
  runChunks<T>(stream, device,
               ChunkJob{int64_t(s.B) * s.H, headLayout(s), Lp, geometry, s.causal, true, true, standard ? 1 : s.nHashes,
                        qkData, qkData, vData, sorted, paddingMask, outData},
               scratch);
}

template <DType T>
void runLocal(cudaStream_t stream, int device, const ReformerLocalShape& s, const void* q, const void* k,
              const void* v, const int32_t* paddingMask, void* out, CudaScratch& scratch) {
  const ChunkGeometry geometry = reformerLocalGeometry(s);
  runChunks<T>(stream, device,
               ChunkJob{int64_t(s.B) * s.H, headLayout(s), geometry.nChunks * geometry.chunkLength, geometry, s.causal,
                        false, false, 1, q, k, v, nullptr, paddingMask, out},
               scratch);
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

void reformerLocalAttentionCuda(cuda::Stream stream, int device, const ReformerLocalShape& s, DType dtype,
                                const void* q, const void* k, const void* v, const int32_t* paddingMask, void* out,
                                CudaScratch& scratch) {
  if (s.D > cuda::kMaxHeadDim)
    throw KernelError(ErrorCode::InvalidArgument, "reformerLocalAttention on CUDA supports head dimensions up to 256");
  if (int64_t(s.B) * s.H * s.L * s.D == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::Float32: return runLocal<DType::Float32>(st, device, s, q, k, v, paddingMask, out, scratch);
    case DType::Float16: return runLocal<DType::Float16>(st, device, s, q, k, v, paddingMask, out, scratch);
    case DType::BFloat16: return runLocal<DType::BFloat16>(st, device, s, q, k, v, paddingMask, out, scratch);
    default: throw KernelError(ErrorCode::InvalidArgument, "reformerLocalAttention: unsupported dtype");
  }
}

}  // namespace sa
