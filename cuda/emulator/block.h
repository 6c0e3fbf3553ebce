// One thread block of the emulated device: a fiber per CUDA thread, run on the calling OS
// thread in an order drawn from a seed, with __syncthreads and the warp rendezvous of
// cuda/emulator/thread.h as the only points where a thread gives way to another.
#pragma once

#include <vector_types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace sa::emu {

struct BlockSpec {
  const std::string* kernel;  // the kernel's full name, for fault reports
  dim3 gridDim, blockDim, blockIdx;
  void* dynamicShared;  // this launch's dynamic shared memory (poisoned before each block)
  size_t dynamicSharedBytes;
  uint64_t seed;  // the order in which runnable threads are resumed
};

// Runs `body` once per thread of the block and returns when every thread has returned.
// A barrier or warp rendezvous that can never complete is a fault: fail() aborts the process.
void runBlock(const BlockSpec& spec, const std::function<void()>& body);

// The running block (inside a kernel only).
const BlockSpec& currentBlock();

// The number of threads of the running block.
int blockThreads();

// __syncthreads and its reductions: every thread of the block must arrive; returns the
// count of threads whose `predicate` was non-zero.
int blockBarrier(int predicate, const char* op);

}  // namespace sa::emu
