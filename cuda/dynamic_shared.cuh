// The block's dynamic shared memory (the bytes given at launch) as an array of T.
//
//   SA_DYNAMIC_SHARED(float, smem);  // extern __shared__ float smem[];
//
// nvcc: the extern __shared__ array. The emulated device (cuda/emulator/) gives each launch
// its own buffer of exactly that many bytes, so that an access past it is caught.
#pragma once

#if defined(__CUDACC__)
#define SA_DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#else
#include "cuda/emulator/block.h"
#define SA_DYNAMIC_SHARED(T, name) T* const name = static_cast<T*>(::sa::emu::currentBlock().dynamicShared)
#endif
