// LSH hashing on CUDA, one fused kernel. A block keeps a tile of tokens of one head in shared
// memory and streams that head's rotations through shared memory, 32 columns at a time; lane j
// of a warp projects the warp's tokens on column j and the warp reduces the signed argmax
// candidates (first index on ties, so the reduction order does not matter). Projections never
// leave registers. Each dot product is a float32 FMA chain over d = 0..D-1, as on the CPU.
// Head dimensions up to kResidentD keep the tokens in shared memory for the whole block; wider
// ones (any D the CPU takes) stream tokens and columns through it in slices of kResidentD
// features, the chain still running over d in order.
#include <cuda_runtime.h>

#include <algorithm>

#include "cuda/check.h"
#include "cuda/dynamic_shared.cuh"
#include "cuda/launch.cuh"
#include "kernels/half.h"
#include "kernels/lsh.h"

namespace sa {

namespace {

constexpr int kWarp = 32;
constexpr int kWarps = 4;
constexpr int kTokensPerWarp = 8;
constexpr int kTokenTile = kWarps * kTokensPerWarp;
constexpr int kColumnTile = kWarp;
constexpr unsigned kFullMask = 0xffffffffu;
// Features of the tokens and columns in shared memory at a time: (32 + 32) * 256 * 4 = 64 KiB,
// within every supported device's opt-in limit. lshAttention's head dimensions (<= 256) fit.
constexpr int kResidentD = 256;

// *flag = 1 if any mask entry is 0 (the batch-wide padding rule). Every writer stores the
// same value, so the race is benign.
__global__ void anyPaddingKernel(const int32_t* mask, int64_t n, int32_t* flag) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    if (mask[i] == 0) *flag = 1;
}

__device__ __forceinline__ lsh::ArgmaxEntry warpFirstMax(lsh::ArgmaxEntry e) {
  for (int offset = kWarp / 2; offset > 0; offset >>= 1) {
    const lsh::ArgmaxEntry other{__shfl_xor_sync(kFullMask, e.value, offset),
                                 __shfl_xor_sync(kFullMask, e.index, offset)};
    e = lsh::firstMax(e, other);
  }
  return e;
}

// Shared memory: tokens [kTokenTile, dTile] and one tile of rotation columns [dTile, kColumnTile],
// dTile = min(D, kResidentD). With D <= kResidentD the tokens are loaded once.
template <DType T, DType R>
__global__ void hashKernel(LshHashShape s, const typename Storage<T>::type* qk,
                           const typename Storage<R>::type* rotations, const int32_t* paddingMask,
                           const int32_t* anyPaddingFlag, int32_t* buckets) {
  SA_DYNAMIC_SHARED(float, smem);
  const int D = s.D, dTile = min(D, kResidentD);
  const bool resident = D <= kResidentD;
  float* tokens = smem;
  float* columns = tokens + kTokenTile * dTile;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int tilesPerHead = (s.Lp + kTokenTile - 1) / kTokenTile;
  const int64_t bh = blockIdx.x / tilesPerHead;
  const int b = int(bh / s.H), h = int(bh % s.H);
  const int t0 = int(blockIdx.x % tilesPerHead) * kTokenTile;

  const HeadLayout layout{s.H, s.L, D, s.tokenMajor};
  // Features [d0, d0 + dn) of the block's tokens, rows dn apart.
  auto loadTokens = [&](int d0, int dn) {
    for (int idx = threadIdx.x; idx < kTokenTile * dn; idx += blockDim.x) {
      const int t = t0 + idx / dn;
      tokens[idx] = t < s.L ? Storage<T>::load(qk[layout.row(bh, t) + d0 + idx % dn]) : 0.0f;
    }
  };
  if (resident) loadTokens(0, D);
  const int half = lsh::rotationSize(s.factors) / 2;
  const int N = lsh::bucketCount(s.factors);
  const bool anyPadding = s.Lp > s.L || (anyPaddingFlag && *anyPaddingFlag);
  const int nPrime = lsh::bucketsWithPadding(N, anyPadding);
  const int32_t* maskRow = paddingMask ? paddingMask + int64_t(b) * s.L : nullptr;

  for (int r = 0; r < s.nHashes; ++r) {
    int bucket[kTokensPerWarp] = {};
    for (int f = 0; f < s.factors.count; ++f) {
      const int factorHalf = s.factors.size[f] / 2, column0 = lsh::factorColumn(s.factors, f);
      lsh::ArgmaxEntry best[kTokensPerWarp];
#pragma unroll
      for (int i = 0; i < kTokensPerWarp; ++i) best[i] = lsh::noCandidate();
      for (int k0 = 0; k0 < factorHalf; k0 += kColumnTile) {
        const int k = k0 + lane;
        float y[kTokensPerWarp] = {};
        for (int d0 = 0; d0 < D; d0 += dTile) {
          const int dn = min(dTile, D - d0);
          __syncthreads();  // the previous slice has been read (and the tokens written)
          if (!resident) loadTokens(d0, dn);
          for (int idx = threadIdx.x; idx < dn * kColumnTile; idx += blockDim.x) {
            const int d = d0 + idx / kColumnTile, kk = k0 + idx % kColumnTile;
            const int64_t at = ((int64_t(h) * D + d) * s.nHashes + r) * half + column0 + kk;
            columns[idx] = kk < factorHalf ? Storage<R>::load(rotations[at]) : 0.0f;
          }
          __syncthreads();
#pragma unroll
          for (int i = 0; i < kTokensPerWarp; ++i) {
            const float* token = tokens + (warp * kTokensPerWarp + i) * dn;
            for (int d = 0; d < dn; ++d) y[i] = fmaf(token[d], columns[d * kColumnTile + lane], y[i]);
          }
        }
#pragma unroll
        for (int i = 0; i < kTokensPerWarp; ++i) {
          const lsh::ArgmaxEntry candidate =
              k < factorHalf ? lsh::signedCandidates(y[i], k, factorHalf) : lsh::noCandidate();
          best[i] = lsh::firstMax(best[i], warpFirstMax(candidate));
        }
      }
      const int place = lsh::factorPlaceValue(s.factors, f);
#pragma unroll
      for (int i = 0; i < kTokensPerWarp; ++i) bucket[i] += place * best[i].index;
    }
#pragma unroll
    for (int i = 0; i < kTokensPerWarp; ++i) {
      const int t = t0 + warp * kTokensPerWarp + i;
      if (lane == 0 && t < s.Lp) {
        const bool padding = lsh::isPaddingToken(maskRow, t, s.L);
        buckets[(bh * s.nHashes + r) * s.Lp + t] = lsh::roundBucket(bucket[i], padding, N, r, nPrime);
      }
    }
  }
}

// Device flag for the batch-wide padding rule, or null without a mask.
const int32_t* anyPaddingFlag(cudaStream_t stream, int device, const int32_t* paddingMask, int64_t n,
                              CudaScratch& scratch) {
  if (!paddingMask) return nullptr;
  scratch.push_back(cuda::allocate(device, sizeof(int32_t)));
  int32_t* flag = static_cast<int32_t*>(scratch.back().get());
  SA_CUDA_TRY(cudaMemsetAsync(flag, 0, sizeof(int32_t), stream), "lshHash");
  if (n == 0) return flag;
  const int threads = 256;
  const int blocks = int(std::min<int64_t>((n + threads - 1) / threads, 1024));
  cuda::launchKernel<anyPaddingKernel>(blocks, threads, 0, stream, paddingMask, n, flag);
  SA_CUDA_CHECK_LAUNCH("lshHash");
  return flag;
}

template <DType T, DType R>
void launchHash(cudaStream_t stream, const LshHashShape& s, const void* qk, const void* rotations,
                const int32_t* paddingMask, const int32_t* flag, int32_t* buckets) {
  const size_t shared = size_t(kTokenTile + kColumnTile) * std::min(s.D, kResidentD) * sizeof(float);
  SA_CUDA_TRY(cudaFuncSetAttribute(hashKernel<T, R>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)),
              "lshHash");
  const int64_t blocks = int64_t(s.B) * s.H * ((s.Lp + kTokenTile - 1) / kTokenTile);
  cuda::launchKernel<hashKernel<T, R>>(unsigned(blocks), kWarps * kWarp, shared, stream,
      s, static_cast<const typename Storage<T>::type*>(qk), static_cast<const typename Storage<R>::type*>(rotations),
      paddingMask, flag, buckets);
  SA_CUDA_CHECK_LAUNCH("lshHash");
}

// Rotations are float32 or the dtype of qk.
template <DType T>
void launchHashFor(cudaStream_t stream, const LshHashShape& s, DType rotationsDtype, const void* qk,
                   const void* rotations, const int32_t* paddingMask, const int32_t* flag, int32_t* buckets) {
  if (rotationsDtype == DType::Float32)
    return launchHash<T, DType::Float32>(stream, s, qk, rotations, paddingMask, flag, buckets);
  if (rotationsDtype == T) return launchHash<T, T>(stream, s, qk, rotations, paddingMask, flag, buckets);
  throw KernelError(ErrorCode::InvalidArgument, "lshHash: rotations must be float32 or qk's dtype");
}

}  // namespace

void lshHashCuda(cuda::Stream stream, int device, const LshHashShape& s, DType dtype, DType rotationsDtype,
                 const void* qk, const void* rotations, const int32_t* paddingMask, int32_t* buckets,
                 CudaScratch& scratch) {
  if (int64_t(s.B) * s.H * s.Lp == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  const int32_t* flag = anyPaddingFlag(st, device, paddingMask, int64_t(s.B) * s.L, scratch);
  switch (dtype) {
    case DType::Float32:
      return launchHashFor<DType::Float32>(st, s, rotationsDtype, qk, rotations, paddingMask, flag, buckets);
    case DType::Float16:
      return launchHashFor<DType::Float16>(st, s, rotationsDtype, qk, rotations, paddingMask, flag, buckets);
    case DType::BFloat16:
      return launchHashFor<DType::BFloat16>(st, s, rotationsDtype, qk, rotations, paddingMask, flag, buckets);
    default: throw KernelError(ErrorCode::InvalidArgument, "lshHash: unsupported dtype");
  }
}

}  // namespace sa
