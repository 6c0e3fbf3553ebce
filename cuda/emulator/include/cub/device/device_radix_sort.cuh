// cub::DeviceRadixSort for the emulated device: the same interface and guarantees as CUB's
// SortPairs (a stable sort on the key bits [beginBit, endBit), temporary storage sized by a
// first call with a null pointer, work queued on the stream), run on the stream's thread.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <vector>

#include "cuda/emulator/device.h"

namespace cub {

struct DeviceRadixSort {
  template <typename KeyT, typename ValueT, typename NumItemsT>
  static cudaError_t SortPairs(void* tempStorage, size_t& tempBytes, const KeyT* keysIn, KeyT* keysOut,
                               const ValueT* valuesIn, ValueT* valuesOut, NumItemsT numItems, int beginBit = 0,
                               int endBit = int(sizeof(KeyT) * 8), cudaStream_t stream = nullptr) {
    const size_t n = size_t(numItems);
    // CUB sorts through double buffers of keys and values in its temporary storage.
    const size_t required = 256 + n * (sizeof(KeyT) + sizeof(ValueT));
    if (!tempStorage) {
      tempBytes = required;
      return cudaSuccess;
    }
    if (tempBytes < required || beginBit < 0 || endBit > int(sizeof(KeyT) * 8) || beginBit > endBit)
      return cudaErrorInvalidValue;
    if (n == 0) return cudaSuccess;
    using sa::emu::isDeviceRange;
    if (!isDeviceRange(tempStorage, required) || !isDeviceRange(keysIn, n * sizeof(KeyT)) ||
        !isDeviceRange(keysOut, n * sizeof(KeyT)) || !isDeviceRange(valuesIn, n * sizeof(ValueT)) ||
        !isDeviceRange(valuesOut, n * sizeof(ValueT)))
      return cudaErrorInvalidValue;
    sa::emu::streamEnqueue(sa::emu::streamOf(stream), [=] {
      const int bits = endBit - beginBit;
      auto digit = [&](KeyT k) {
        return bits >= int(sizeof(KeyT) * 8) ? k : KeyT((k >> beginBit) & ((KeyT(1) << bits) - 1));
      };
      std::vector<size_t> order(n);
      std::iota(order.begin(), order.end(), size_t(0));
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return digit(keysIn[a]) < digit(keysIn[b]); });
      std::vector<KeyT> keys(n);
      std::vector<ValueT> values(n);
      for (size_t i = 0; i < n; ++i) keys[i] = keysIn[order[i]], values[i] = valuesIn[order[i]];
      std::copy(keys.begin(), keys.end(), keysOut);
      std::copy(values.begin(), values.end(), valuesOut);
    });
    return cudaSuccess;
  }
};

}  // namespace cub
