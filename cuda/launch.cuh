// Every kernel launch of the package goes through launchKernel: the triple-chevron launch when
// nvcc compiles, the emulated device (cuda/emulator/) when the same sources are compiled as
// C++ for the emulation build. The kernel is a template argument, so that the emulator knows
// its full name without a registry.
//
//   launchKernel<myKernel<T>>(grid, block, dynamicSharedBytes, stream, args...);
//
// Launch-configuration errors are reported as by a real launch: through cudaGetLastError().
#pragma once

#include <cuda_runtime.h>

#include <utility>

#if defined(__CUDACC__)

namespace sa::cuda {

template <auto Kernel, typename... Args>
inline void launchKernel(dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream, Args&&... args) {
  Kernel<<<grid, block, sharedBytes, stream>>>(std::forward<Args>(args)...);
}

}  // namespace sa::cuda

#else
#include "cuda/emulator/launch.h"
#endif
