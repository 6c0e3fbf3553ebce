// cub::BlockScan for the emulated device: the same interface as CUB's (the parts the kernels
// use), computed through the block's shared storage between two real barriers, so that a
// caller that reuses the storage without a barrier, or a block that does not reach the scan
// with every thread, fails as it would on a GPU.
#pragma once

#include <string>

#include "cuda/emulator/block.h"
#include "cuda/emulator/intrinsics.h"
#include "cuda/emulator/thread.h"

namespace cub {

template <typename T, int BlockDimX, int Algorithm = 0, int BlockDimY = 1, int BlockDimZ = 1, int Arch = 0>
class BlockScan {
 public:
  static constexpr int kThreads = BlockDimX * BlockDimY * BlockDimZ;
  struct TempStorage {
    T values[kThreads];
  };

  explicit BlockScan(TempStorage& storage) : storage_(storage) {
    if (::sa::emu::blockThreads() != kThreads)
      ::sa::emu::fail("cub::BlockScan of " + std::to_string(kThreads) + " threads in a block of another size");
  }

  void ExclusiveSum(T input, T& output, T& aggregate) {
    const int me = ::sa::emu::self().linear;
    storage_.values[me] = input;
    __syncthreads();
    T prefix = T(0), total = T(0);
    for (int i = 0; i < kThreads; ++i) {
      if (i == me) prefix = total;
      total = total + storage_.values[i];
    }
    __syncthreads();
    output = prefix;
    aggregate = total;
  }

  void ExclusiveSum(T input, T& output) {
    T aggregate;
    ExclusiveSum(input, output, aggregate);
  }

  void InclusiveSum(T input, T& output, T& aggregate) {
    ExclusiveSum(input, output, aggregate);
    output = output + input;
  }

  void InclusiveSum(T input, T& output) {
    T aggregate;
    InclusiveSum(input, output, aggregate);
  }

 private:
  TempStorage& storage_;
};

}  // namespace cub
