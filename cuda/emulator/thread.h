// The emulated CUDA thread: what every fiber of a running block knows about itself, and the
// rendezvous that warp-wide operations (shuffles, votes, ldmatrix, mma.sync) are built on.
// Part of the emulated device (cuda/emulator/), compiled only into the emulation build.
#pragma once

#include <vector_types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sa::emu {

constexpr int kWarpSize = 32;

// cp.async copies a thread has issued and not yet seen land (cuda/emulator/ptx.h): `pending`
// in issue order; `groupEnds[i]` is the number of pending copies that belong to committed
// groups 0..i (the copies after the last group end are not committed yet).
struct CpAsyncCopy {
  void* dst;
  const void* src;
  int bytes;     // copy size: 4, 8 or 16
  int srcBytes;  // bytes read from src; the rest of dst is zero-filled
};
struct CpAsyncState {
  std::vector<CpAsyncCopy> pending;
  std::vector<size_t> groupEnds;
};

struct ThreadContext {
  uint3 threadIdx;
  int linear;  // threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)
  int lane;    // linear % 32
  int warp;    // linear / 32
  CpAsyncState cpAsync;
};

// The calling fiber's thread. Only valid inside a kernel.
ThreadContext& self();

// Whether [p, p + bytes) lies inside the running block's shared memory (static or dynamic).
bool inSharedMemory(const void* p, size_t bytes);

// Reports a kernel fault (with the kernel's name, the block and the thread) and aborts the
// process: what would hang or be undefined on a GPU.
[[noreturn]] void fail(const std::string& what);

// A warp-wide rendezvous. Every lane named in `mask` (the caller among them) calls this with
// the same `mask` and `op`, passing a pointer to its own slot (inputs and room for its
// outputs). When the last of them arrives, `combine(slots)` runs once, with slots[lane] for
// each lane of the mask and nullptr for the others; then every lane returns and reads its
// outputs from its own slot. A lane of the mask that never arrives (it exited, or waits at
// another barrier), or a lane arriving with a different mask or op, is a fault (fail()).
// (`combine` is called through a plain function pointer: warp operations are the emulator's
// hottest path, and a std::function would allocate for most lambdas.)
using CombineThunk = void (*)(const void* combine, void* const* slots);
void warpSyncWith(unsigned mask, const char* op, void* slot, CombineThunk thunk, const void* combine);

template <typename Combine>
void warpSync(unsigned mask, const char* op, void* slot, const Combine& combine) {
  warpSyncWith(mask, op, slot, [](const void* f, void* const* slots) { (*static_cast<const Combine*>(f))(slots); },
               &combine);
}

}  // namespace sa::emu
