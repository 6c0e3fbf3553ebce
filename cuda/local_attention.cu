// Sliding-window attention with global tokens on CUDA (kernels/local.h). Three launches:
//   1. globalListKernel: one block per batch row lists the row's global tokens in order (a
//      block scan of per-thread counts; the mask never leaves the device) and flags mask
//      values other than -1, 0 or 1.
//   2. bandKernel: the CUDA-core mainloop (cuda/warp_attention.cuh) over the 32-key tiles of
//      the global columns, then of the tile's band, with the window and padding mask. Tiles
//      outside the band are never visited.
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
#include "cuda/warp_attention.cuh"
#include "kernels/half.h"
#include "kernels/local.h"

namespace sa {

namespace {

using cuda::kMaxDPerLane;
using cuda::kWarp;

constexpr int kListThreads = 256;
constexpr int kBandWarps = cuda::kAttentionWarps;
using cuda::kKeyTile;
using cuda::kQueryTile;
using cuda::kRowsPerWarp;
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

// The key tiles one query tile visits: the batch row's global columns (the local k/v of its
// global tokens, visible to every local query), then the tiles of its band.
template <DType T>
struct BandKeys {
  const typename Storage<T>::type *k, *v;
  int64_t rowStride;
  const int32_t* globals;
  int nGlobal, globalTiles;
  IndexRange band;
  int D;
  __device__ __forceinline__ bool inBand(int t) const { return t >= globalTiles; }
  __device__ __forceinline__ int firstKey(int t) const {
    return inBand(t) ? band.begin + (t - globalTiles) * kKeyTile : t * kKeyTile;
  }
  __device__ __forceinline__ int count() const { return globalTiles + (band.size() + kKeyTile - 1) / kKeyTile; }
  __device__ __forceinline__ int size(int t) const {
    return min(kKeyTile, (inBand(t) ? band.end : nGlobal) - firstKey(t));
  }
  __device__ __forceinline__ void load(int t, float* ks, float* vs, int ld) const {
    const int j0 = firstKey(t), n = size(t);
    const bool band = inBand(t);
    for (int idx = threadIdx.x; idx < n * D; idx += blockDim.x) {
      const int r = idx / D, d = idx % D;
      const int64_t row = (band ? j0 + r : globals[j0 + r]) * rowStride + d;
      ks[r * ld + d] = Storage<T>::load(k[row]);
      vs[r * ld + d] = Storage<T>::load(v[row]);
    }
  }
};

// Local queries see every global column and the keys of their window that are not padding or
// global tokens; other queries see nothing.
template <DType T>
struct WindowMask {
  const BandKeys<T>& keys;
  const LocalShape& s;
  const int32_t* maskRow;
  int i0, i1;
  __device__ __forceinline__ bool takesPart(int t, int r) const {
    const int i = i0 + r;
    if (i >= i1 || roleOf(maskRow, i) != TokenRole::Local) return false;
    if (!keys.inBand(t)) return true;
    const int j0 = keys.firstKey(t);
    const IndexRange reaching = queriesReaching(s.window, s.L, j0, j0 + keys.size(t));
    return i >= reaching.begin && i < reaching.end;  // else no key of this tile is in its window
  }
  __device__ __forceinline__ bool present(int t, int r, int j) const {
    if (!keys.inBand(t)) return true;
    const int key = keys.firstKey(t) + j;
    return classifyWindowKey(s.window, s.L, i0 + r, key, maskRow ? maskRow[key] : 0) == WindowKey::Visible;
  }
  __device__ __forceinline__ float score(int, int, int, float dot) const { return dot; }
};

template <DType T>
__global__ void __launch_bounds__(kBandWarps * kWarp)
    bandKernel(LocalShape s, Projections<T> in, const int32_t* mask, GlobalLists lists,
               typename Storage<T>::type* out) {
  SA_DYNAMIC_SHARED(float, smem);
  const int D = s.D;
  const cuda::WarpAttentionSmem sm(smem, D);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int tilesPerHead = (s.L + kQueryTile - 1) / kQueryTile;
  const int64_t bh = blockIdx.x / tilesPerHead;
  const int b = int(bh / s.H);
  const int i0 = int(blockIdx.x % tilesPerHead) * kQueryTile, i1 = min(i0 + kQueryTile, s.L);
  const HeadLayout layout = headLayout(s);
  const int64_t head = layout.base(bh), rowStride = layout.rowStride();
  const int32_t* maskRow = mask ? mask + int64_t(b) * s.L : nullptr;
  // A tile of global and padding queries only has nothing to attend: it just writes zeros.
  const int row = int(threadIdx.x);
  const bool anyLocal = __syncthreads_or(i0 + row < i1 && roleOf(maskRow, i0 + row) == TokenRole::Local);
  const int nGlobal = mask && anyLocal ? lists.counts[b] : 0;

  for (int idx = threadIdx.x; idx < (i1 - i0) * D; idx += blockDim.x) {
    const int r = idx / D, d = idx % D;
    sm.q[r * sm.ld + d] = Storage<T>::load(in.q[head + (i0 + r) * rowStride + d]) * s.scale;
  }
  const BandKeys<T> keys{in.k + head, in.v + head, rowStride, mask ? lists.tokens + int64_t(b) * s.L : nullptr,
                         nGlobal, (nGlobal + kKeyTile - 1) / kKeyTile,
                         anyLocal ? tileBandKeys(s.window, s.L, i0, i1) : IndexRange{0, 0}, D};
  cuda::OnlineRow rows[kRowsPerWarp];
  cuda::warpAttentionMainloop(sm, D, keys, WindowMask<T>{keys, s, maskRow, i0, i1}, rows);

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
    // The rules of cuda::OnlineRow, with the values read from global memory in their storage
    // type (a row is used once, staging would not pay).
    cuda::OnlineRow row;
    for (int j0 = warp * kKeyTile; j0 < s.L; j0 += kGlobalWarps * kKeyTile) {
      const int n = min(kKeyTile, s.L - j0);
      float score = -INFINITY;
      bool present = false;
      for (int j = 0; j < n; ++j) {
        if (tokenRole(maskRow[j0 + j]) == TokenRole::Padding) continue;  // warp-uniform
        const float dot = warpDot<T>(query, in.kGlobal + head + (j0 + j) * rowStride, D);
        if (lane == j) score = dot, present = true;
      }
      const typename Storage<T>::type* values = in.vGlobal + head + j0 * rowStride;
      row.addTile(score, present, n, [values, rowStride](int j, int d) { return Storage<T>::load(values[j * rowStride + d]); }, D);
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
    const size_t bandShared = cuda::WarpAttentionSmem::bytes(s.D);
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
