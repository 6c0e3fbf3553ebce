// Stable sort by bucket on CUDA with CUB's radix sort from the toolkit. All rows sort at once:
// the key of entry i of row `row` is (row, bucket) packed into one unsigned integer, the value
// its position in the row. Radix sorting is stable, so equal buckets keep their position
// order, and rows stay in their own ranges. O(n) work and memory; only the bits that can
// differ are sorted; no host round trip (CUB's scratch size is a host-side computation).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cub/device/device_radix_sort.cuh>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "kernels/lsh.h"

namespace sa {

namespace {

constexpr int kThreads = 256;

int gridFor(int64_t n) { return int(std::min<int64_t>((n + kThreads - 1) / kThreads, 65535)); }

// Bits that hold every value in [0, maxValue].
int bitsFor(int64_t maxValue) {
  int bits = 0;
  while (bits < 63 && (int64_t(1) << bits) <= maxValue) ++bits;
  return bits;
}

// packed[i] = row << keyBits | the bucket as an unsigned digit; with 32 key bits the buckets
// are any int32 and flipping the sign bit maps their order onto unsigned order. Also
// positions[i] = i mod n, the value the sort carries along.
template <typename Packed>
__global__ void packKeysKernel(int64_t total, int n, int keyBits, const int32_t* buckets, Packed* packed,
                               int32_t* positions) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const uint32_t digit = keyBits == 32 ? uint32_t(buckets[i]) ^ 0x80000000u : uint32_t(buckets[i]);
    // A single row with 32 key bits fills a 32-bit key: no row bits (and no shift by 32).
    const Packed row = keyBits < int(sizeof(Packed) * 8) ? Packed(i / n) << keyBits : Packed(0);
    packed[i] = row | Packed(digit);
    positions[i] = int32_t(i % n);
  }
}

// undo[row, sorted[row, j]] = j.
__global__ void invertKernel(int64_t total, int n, const int32_t* sorted, int32_t* undo) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t rowStart = i - i % n;
    undo[rowStart + sorted[i]] = int32_t(i - rowStart);
  }
}

void* scratchBytes(int device, size_t bytes, CudaScratch& scratch) {
  scratch.push_back(cuda::allocate(device, bytes));
  return scratch.back().get();
}

template <typename Packed>
void packedSort(cudaStream_t stream, int device, int64_t total, int n, int keyBits, int endBit, const int32_t* buckets,
                int32_t* sortedIndex, CudaScratch& scratch) {
  auto* keys = static_cast<Packed*>(scratchBytes(device, size_t(total) * sizeof(Packed), scratch));
  auto* sortedKeys = static_cast<Packed*>(scratchBytes(device, size_t(total) * sizeof(Packed), scratch));
  auto* positions = static_cast<int32_t*>(scratchBytes(device, size_t(total) * sizeof(int32_t), scratch));
  cuda::launchKernel<packKeysKernel<Packed>>(gridFor(total), kThreads, 0, stream,
      total, n, keyBits, buckets, keys, positions);
  SA_CUDA_CHECK_LAUNCH("sortByBucket");
  size_t tempBytes = 0;
  SA_CUDA_TRY(cub::DeviceRadixSort::SortPairs(nullptr, tempBytes, keys, sortedKeys, positions, sortedIndex, int(total),
                                              0, endBit, stream),
              "sortByBucket");
  void* temp = scratchBytes(device, tempBytes, scratch);
  SA_CUDA_TRY(cub::DeviceRadixSort::SortPairs(temp, tempBytes, keys, sortedKeys, positions, sortedIndex, int(total), 0,
                                              endBit, stream),
              "sortByBucket");
}

}  // namespace

void sortByBucketCuda(cuda::Stream stream, int device, int rows, int n, int keyBits, const int32_t* buckets,
                      int32_t* sortedIndex, int32_t* undoIndex, CudaScratch& scratch) {
  const int64_t total = int64_t(rows) * n;
  if (total == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  const int endBit = keyBits + bitsFor(rows - 1);
  if (endBit <= 32) {
    packedSort<uint32_t>(st, device, total, n, keyBits, endBit, buckets, sortedIndex, scratch);
  } else {
    packedSort<uint64_t>(st, device, total, n, keyBits, endBit, buckets, sortedIndex, scratch);
  }
  if (!undoIndex) return;
  cuda::launchKernel<invertKernel>(gridFor(total), kThreads, 0, st, total, n, sortedIndex, undoIndex);
  SA_CUDA_CHECK_LAUNCH("sortByBucket");
}

}  // namespace sa
