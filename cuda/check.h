// Turns every cudaError_t into a KernelError naming the error, the op and the place.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "kernels/common.h"

namespace sa::cuda {

[[noreturn]] inline void throwCudaError(cudaError_t err, const char* what, const char* file, int line) {
  ErrorCode code = err == cudaErrorMemoryAllocation ? ErrorCode::OutOfMemory
                   : (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver) ? ErrorCode::NoDevice
                                                                                        : ErrorCode::CudaError;
  cudaGetLastError();  // clear a non-sticky error so the process stays usable
  throw KernelError(code, std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ") in " + what +
                              " at " + file + ":" + std::to_string(line));
}

}  // namespace sa::cuda

#define SA_CUDA_TRY(call, what)                                                   \
  do {                                                                            \
    cudaError_t sa_err_ = (call);                                                 \
    if (sa_err_ != cudaSuccess) ::sa::cuda::throwCudaError(sa_err_, what, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: reports launch-configuration errors immediately.
#define SA_CUDA_CHECK_LAUNCH(what) SA_CUDA_TRY(cudaGetLastError(), what)
