// Sliding-window attention with global tokens on CUDA (kernels/local.h). Three launches:
//   1. globalListKernel: one block per batch row lists the row's global tokens in order (a
//      block scan of per-thread counts; the mask never leaves the device) and flags mask
//      values other than -1, 0 or 1.
//   2. bandKernel: flash-style. A block keeps a tile of queries in shared memory while the
//      32-key tiles of the global columns, then of the tile's band, stream through; each warp
//      owns query rows and runs an online softmax. Tiles outside the band are never visited.
//      In float16 / bfloat16 at D = 64 and 128, cuda/local_band_mma.cu runs it on tensor cores.
//   3. globalRowsKernel: one block per global token; its warps split all keys of the row
//      (each an online softmax over its share), then merge in shared memory.
// Padding rows are written by the band kernel, global rows by the global-rows kernel only.
#include <cuda_runtime.h>

#include <cub/block/block_scan.cuh>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "cuda/local_band_mma.h"
#include "cuda/warp_softmax.cuh"
#include "kernels/half.h"
#include "kernels/local.h"

namespace sa {

namespace {

using cuda::kMaxDPerLane;
using cuda::kWarp;

constexpr int kListThreads = 256;
constexpr int kBandWarps = 4;
constexpr int kRowsPerWarp = 4;
constexpr int kQueryTile = kBandWarps * kRowsPerWarp;
constexpr int kKeyTile = kWarp;
static_assert(kQueryTile <= kBandWarps * kWarp, "the band kernel checks one query row per thread");
constexpr int kGlobalWarps = 8;
// At most this many blocks per (batch, head) for global rows; each loops over the row's
// global tokens, so this only bounds the launch (the number of global tokens is known on the
// device only, and reading it back would cost a host round trip).
constexpr int kGlobalBlocksPerHead = 32;

// Workspace layout: globals [B, L] (row b's global tokens first, ascending), counts [B].
struct GlobalLists {
  int32_t* tokens;
  int32_t* counts;
};

GlobalLists globalLists(const LocalShape& s, void* workspace) {
  auto* base = static_cast<int32_t*>(workspace);
  return {base, base + int64_t(s.B) * s.L};
}

__device__ __forceinline__ TokenRole roleOf(const int32_t* maskRow, int t) {
  return maskRow ? tokenRole(maskRow[t]) : TokenRole::Local;
}

__global__ void globalListKernel(int L, const int32_t* mask, GlobalLists lists, int32_t* errorFlag) {
  using Scan = cub::BlockScan<int, kListThreads>;
  __shared__ typename Scan::TempStorage scanStorage;
  const int b = blockIdx.x;
  const int32_t* maskRow = mask + int64_t(b) * L;
  const int slice = (L + kListThreads - 1) / kListThreads;
  const int begin = min(L, int(threadIdx.x) * slice), end = min(L, begin + slice);
  for (int t = begin; t < end; ++t)
    if (!validMaskValue(maskRow[t])) atomicExch(errorFlag, 1);
  int offset = 0, total = 0;
  Scan(scanStorage).ExclusiveSum(countGlobalTokens(maskRow, begin, end), offset, total);
  listGlobalTokens(maskRow, begin, end, lists.tokens + int64_t(b) * L + offset);
  if (threadIdx.x == 0) lists.counts[b] = total;
}

// ---- Band kernel ------------------------------------------------------------------------

template <DType T>
struct Projections {
  using E = typename Storage<T>::type;
  const E *q, *k, *v, *qGlobal, *kGlobal, *vGlobal;
};

// Rows rowOf(0..n) of src (row i at src + i * srcLd) into shared memory as float, `ld` apart.
template <DType T, typename RowOf>
__device__ void loadRows(float* dst, int ld, const typename Storage<T>::type* src, int64_t srcLd, int n, int D,
                         float scale, RowOf rowOf) {
  for (int idx = threadIdx.x; idx < n * D; idx += blockDim.x) {
    const int r = idx / D, d = idx % D;
    dst[r * ld + d] = Storage<T>::load(src[rowOf(r) * srcLd + d]) * scale;
  }
}

__device__ __forceinline__ float rowDot(const float* a, const float* b, int D) {
  float dot = 0.0f;
  for (int d = 0; d < D; ++d) dot += a[d] * b[d];
  return dot;
}

template <DType T>
__global__ void __launch_bounds__(kBandWarps * kWarp)
    bandKernel(LocalShape s, Projections<T> in, const int32_t* mask, GlobalLists lists,
               typename Storage<T>::type* out) {
  SA_DYNAMIC_SHARED(float, smem);
  const int D = s.D, ld = D + 1;  // +1 spreads rows over banks
  float* qs = smem;
  float* ks = qs + kQueryTile * ld;
  float* vs = ks + kKeyTile * ld;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int tilesPerHead = (s.L + kQueryTile - 1) / kQueryTile;
  const int64_t bh = blockIdx.x / tilesPerHead;
  const int b = int(bh / s.H);
  const int i0 = int(blockIdx.x % tilesPerHead) * kQueryTile, i1 = min(i0 + kQueryTile, s.L);
  const HeadLayout layout = headLayout(s);
  const int64_t head = layout.base(bh), rowStride = layout.rowStride();
  const int32_t* maskRow = mask ? mask + int64_t(b) * s.L : nullptr;
  const int32_t* globals = mask ? lists.tokens + int64_t(b) * s.L : nullptr;
  // A tile of global and padding queries only has nothing to attend: it just writes zeros.
  const int row = int(threadIdx.x);
  const bool anyLocal = __syncthreads_or(i0 + row < i1 && roleOf(maskRow, i0 + row) == TokenRole::Local);
  const int nGlobal = mask && anyLocal ? lists.counts[b] : 0;

  loadRows<T>(qs, ld, in.q + head, rowStride, i1 - i0, D, s.scale, [i0](int r) { return i0 + r; });
  cuda::OnlineRow rows[kRowsPerWarp];

  // Global columns: the local k/v of the row's global tokens, visible to every local query.
  for (int g0 = 0; g0 < nGlobal; g0 += kKeyTile) {
    const int n = min(kKeyTile, nGlobal - g0);
    __syncthreads();
    loadRows<T>(ks, ld, in.k + head, rowStride, n, D, 1.0f, [globals, g0](int r) { return globals[g0 + r]; });
    loadRows<T>(vs, ld, in.v + head, rowStride, n, D, 1.0f, [globals, g0](int r) { return globals[g0 + r]; });
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int r = warp * kRowsPerWarp + rr, i = i0 + r;
      if (i >= i1 || roleOf(maskRow, i) != TokenRole::Local) continue;  // warp-uniform
      const float score = lane < n ? rowDot(qs + r * ld, ks + lane * ld, D) : -INFINITY;
      rows[rr].addTile(score, lane < n, n, vs, ld, D);
    }
  }

  // The band: only key tiles that intersect some query's window.
  const IndexRange band = anyLocal ? tileBandKeys(s.window, s.L, i0, i1) : IndexRange{0, 0};
  for (int j0 = band.begin; j0 < band.end; j0 += kKeyTile) {
    const int n = min(kKeyTile, band.end - j0);
    __syncthreads();
    loadRows<T>(ks, ld, in.k + head, rowStride, n, D, 1.0f, [j0](int r) { return j0 + r; });
    loadRows<T>(vs, ld, in.v + head, rowStride, n, D, 1.0f, [j0](int r) { return j0 + r; });
    __syncthreads();
    const int j = j0 + lane;
    const int32_t keyMask = maskRow && lane < n ? maskRow[j] : 0;
    const IndexRange reaching = queriesReaching(s.window, s.L, j0, j0 + n);
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int r = warp * kRowsPerWarp + rr, i = i0 + r;
      if (i >= i1 || roleOf(maskRow, i) != TokenRole::Local) continue;  // warp-uniform
      if (i < reaching.begin || i >= reaching.end) continue;             // no key of this tile in its window
      const bool visible = lane < n && classifyWindowKey(s.window, s.L, i, j, keyMask) == WindowKey::Visible;
      const float score = visible ? rowDot(qs + r * ld, ks + lane * ld, D) : -INFINITY;
      rows[rr].addTile(score, visible, n, vs, ld, D);
    }
  }

#pragma unroll
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    const int i = i0 + warp * kRowsPerWarp + rr;
    if (i >= i1) break;
    const TokenRole role = roleOf(maskRow, i);
    if (role == TokenRole::Global) continue;
    const float inv = role == TokenRole::Local ? 1.0f / rows[rr].sum : 0.0f;
#pragma unroll
    for (int c = 0; c < kMaxDPerLane; ++c) {
      const int d = lane + kWarp * c;
      if (d < D) out[head + i * rowStride + d] = Storage<T>::store(rows[rr].acc[c] * inv);
    }
  }
}

// ---- Global rows kernel -----------------------------------------------------------------

// The online softmax of one query row held by a whole warp (lane owns d = lane + 32 * c),
// fed 32 keys at a time: lane j holds key j's score and whether it is present (not padding).
// The rules of cuda::OnlineRow (every present key enters the sum, even with weight 0), but the
// values are read from global memory in their storage type (a row is used once, staging would
// not pay).
struct WarpRow {
  float max = -INFINITY;
  float sum = 0.0f;
  float acc[kMaxDPerLane] = {};

  // values: the rows of the tile's keys, `ld` elements apart.
  template <DType T>
  __device__ __forceinline__ void addTile(float score, bool present, int nKeys,
                                          const typename Storage<T>::type* values, int64_t ld, int D) {
    const unsigned presentKeys = __ballot_sync(0xffffffffu, present);
    if (presentKeys == 0) return;  // every key of the tile is padding
    const float newMax = fmaxf(max, cuda::warpMax(present ? score : -INFINITY));
    const float correction = newMax == max ? 1.0f : expf(max - newMax);
    const float p = !present || score == -INFINITY ? 0.0f : expf(score - newMax);
    sum = sum * correction + cuda::warpSum(p);
    max = newMax;
#pragma unroll
    for (int c = 0; c < kMaxDPerLane; ++c) acc[c] *= correction;
    for (int j = 0; j < nKeys; ++j) {
      if (!((presentKeys >> j) & 1u)) continue;  // warp-uniform
      const float pj = __shfl_sync(0xffffffffu, p, j);
#pragma unroll
      for (int c = 0; c < kMaxDPerLane; ++c) {
        const int d = threadIdx.x % kWarp + kWarp * c;
        if (d < D) acc[c] += pj * Storage<T>::load(values[j * ld + d]);
      }
    }
  }
};

// query . key with the key read coalesced (lane d reads elements d, d + 32, ...); every lane
// gets the result.
template <DType T>
__device__ __forceinline__ float warpDot(const float* query, const typename Storage<T>::type* key, int D) {
  float partial = 0.0f;
#pragma unroll
  for (int c = 0; c < kMaxDPerLane; ++c) {
    const int d = threadIdx.x % kWarp + kWarp * c;
    if (d < D) partial += query[d] * Storage<T>::load(key[d]);
  }
  return cuda::warpSum(partial);
}

// Shared memory: the scaled query [D], then per warp its (max, sum, acc [D]).
template <DType T>
__global__ void __launch_bounds__(kGlobalWarps * kWarp)
    globalRowsKernel(LocalShape s, Projections<T> in, const int32_t* mask, GlobalLists lists, int blocksPerHead,
                     typename Storage<T>::type* out) {
  SA_DYNAMIC_SHARED(float, smem);
  const int D = s.D, stride = D + 2;
  float* query = smem;
  float* partials = query + D;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int64_t bh = blockIdx.x / blocksPerHead;
  const int b = int(bh / s.H);
  const HeadLayout layout = headLayout(s);
  const int64_t head = layout.base(bh), rowStride = layout.rowStride();
  const int32_t* maskRow = mask + int64_t(b) * s.L;
  const int32_t* globals = lists.tokens + int64_t(b) * s.L;
  const int nGlobal = lists.counts[b];

  for (int gi = int(blockIdx.x % blocksPerHead); gi < nGlobal; gi += blocksPerHead) {
    const int g = globals[gi];
    __syncthreads();
    for (int d = threadIdx.x; d < D; d += blockDim.x)
      query[d] = Storage<T>::load(in.qGlobal[head + g * rowStride + d]) * s.scale;
    __syncthreads();
    // Each warp takes every kGlobalWarps-th tile of 32 keys; padding keys have no score.
    WarpRow row;
    for (int j0 = warp * kKeyTile; j0 < s.L; j0 += kGlobalWarps * kKeyTile) {
      const int n = min(kKeyTile, s.L - j0);
      float score = -INFINITY;
      bool present = false;
      for (int j = 0; j < n; ++j) {
        if (tokenRole(maskRow[j0 + j]) == TokenRole::Padding) continue;  // warp-uniform
        const float dot = warpDot<T>(query, in.kGlobal + head + (j0 + j) * rowStride, D);
        if (lane == j) score = dot, present = true;
      }
      row.addTile<T>(score, present, n, in.vGlobal + head + j0 * rowStride, rowStride, D);
    }
    float* mine = partials + warp * stride;
    if (lane == 0) {
      mine[0] = row.max;
      mine[1] = row.sum;
    }
#pragma unroll
    for (int c = 0; c < kMaxDPerLane; ++c)
      if (lane + kWarp * c < D) mine[2 + lane + kWarp * c] = row.acc[c];
    __syncthreads();
    // g itself is not padding, so some warp saw a key and the merged maximum is finite; a
    // warp that saw none has max -inf and weight 0.
    float merged = -INFINITY;
    for (int w = 0; w < kGlobalWarps; ++w) merged = fmaxf(merged, partials[w * stride]);
    float total = 0.0f;
    for (int w = 0; w < kGlobalWarps; ++w) total += partials[w * stride + 1] * expf(partials[w * stride] - merged);
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
      float value = 0.0f;
      for (int w = 0; w < kGlobalWarps; ++w)
        value += partials[w * stride + 2 + d] * expf(partials[w * stride] - merged);
      out[head + g * rowStride + d] = Storage<T>::store(value / total);
    }
  }
}

// ---- Launches ---------------------------------------------------------------------------

template <DType T>
Projections<T> typed(const LocalInputs<void>& in) {
  using E = typename Storage<T>::type;
  return {static_cast<const E*>(in.q),       static_cast<const E*>(in.k),       static_cast<const E*>(in.v),
          static_cast<const E*>(in.qGlobal), static_cast<const E*>(in.kGlobal), static_cast<const E*>(in.vGlobal)};
}

template <DType T>
void launchLocal(cudaStream_t stream, const LocalShape& s, const LocalInputs<void>& in, const int32_t* mask, void* out,
                 GlobalLists lists) {
  using E = typename Storage<T>::type;
  if (localBandMmaSupports(s, T, in, out)) {  // half precision at D = 64, 128: tensor cores
    localBandMma(stream, s, T, in, mask, lists.tokens, lists.counts, out);
  } else {
    const size_t bandShared = size_t(kQueryTile + 2 * kKeyTile) * (s.D + 1) * sizeof(float);
    SA_CUDA_TRY(cudaFuncSetAttribute(bandKernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bandShared)),
                "localAttention");
    const int64_t tilesPerHead = (s.L + kQueryTile - 1) / kQueryTile;
    cuda::launchKernel<bandKernel<T>>(unsigned(tilesPerHead * s.B * s.H), kBandWarps * kWarp, bandShared, stream,
        s, typed<T>(in), mask, lists, static_cast<E*>(out));
    SA_CUDA_CHECK_LAUNCH("localAttention");
  }
  if (!mask) return;  // no global tokens
  const size_t globalShared = size_t(s.D + kGlobalWarps * (s.D + 2)) * sizeof(float);
  const int blocksPerHead = s.L < kGlobalBlocksPerHead ? s.L : kGlobalBlocksPerHead;  // B * H * L fits 32 bits
  cuda::launchKernel<globalRowsKernel<T>>(unsigned(int64_t(blocksPerHead) * s.B * s.H), kGlobalWarps * kWarp,
                                          globalShared, stream,
      s, typed<T>(in), mask, lists, blocksPerHead, static_cast<E*>(out));
  SA_CUDA_CHECK_LAUNCH("localAttention");
}

}  // namespace

size_t localAttentionCudaWorkspaceBytes(const LocalShape& s) {
  return size_t(int64_t(s.B) * s.L + s.B) * sizeof(int32_t);
}

void localAttentionCuda(cuda::Stream stream, const LocalShape& s, DType dtype, const LocalInputs<void>& in,
                        const int32_t* attentionMask, void* out, void* workspace, int32_t* errorFlag) {
  if (s.D > cuda::kMaxHeadDim)
    throw KernelError(ErrorCode::InvalidArgument, "localAttention on CUDA supports head dimensions up to 256");
  if (int64_t(s.B) * s.H * s.L * s.D == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  const GlobalLists lists = globalLists(s, workspace);
  if (attentionMask) {
    cuda::launchKernel<globalListKernel>(unsigned(s.B), kListThreads, 0, st, s.L, attentionMask, lists, errorFlag);
    SA_CUDA_CHECK_LAUNCH("localAttention");
  }
  switch (dtype) {
    case DType::Float32: return launchLocal<DType::Float32>(st, s, in, attentionMask, out, lists);
    case DType::Float16: return launchLocal<DType::Float16>(st, s, in, attentionMask, out, lists);
    case DType::BFloat16: return launchLocal<DType::BFloat16>(st, s, in, attentionMask, out, lists);
    default: throw KernelError(ErrorCode::InvalidArgument, "localAttention: unsupported dtype");
  }
}

}  // namespace sa
