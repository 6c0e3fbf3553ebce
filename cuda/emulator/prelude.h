// Included before every cuda/*.cu when the emulation build compiles them as C++ (g++
// -include): the CUDA keywords and built-in variables in terms of the emulated device. The
// kernels themselves are not changed for it.
#pragma once

// Static __shared__ variables are plain statics: the blocks of the device run one at a time,
// so one instance serves every block. (Dynamic shared memory, which holds every tile of the
// kernels, is allocated per launch and poisoned before each block: cuda/dynamic_shared.cuh.)
#define __shared__ static
#define __launch_bounds__(...)
#define __grid_constant__

#include <cuda_runtime.h>

#undef __forceinline__
#define __forceinline__ inline

// cuda_runtime.h declares its C++ overloads for nvcc only.
template <class T>
inline cudaError_t cudaFuncSetAttribute(T* entry, cudaFuncAttribute attr, int value) {
  return ::cudaFuncSetAttribute(reinterpret_cast<const void*>(entry), attr, value);
}

#include "cuda/emulator/intrinsics.h"
#include "cuda/emulator/thread.h"

#define threadIdx (::sa::emu::self().threadIdx)
#define blockIdx (::sa::emu::currentBlock().blockIdx)
#define blockDim (::sa::emu::currentBlock().blockDim)
#define gridDim (::sa::emu::currentBlock().gridDim)
#define warpSize 32
