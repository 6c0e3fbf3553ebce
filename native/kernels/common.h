// Shared definitions of the kernel library: plain C++ (and CUDA), no N-API.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#if defined(__CUDACC__)
#define SA_HD __host__ __device__ __forceinline__
#else
#define SA_HD inline
#endif

namespace sa {

enum class DType : int { Float32 = 0, Float16 = 1, BFloat16 = 2, Int32 = 3 };

SA_HD int dtypeSize(DType t) { return (t == DType::Float16 || t == DType::BFloat16) ? 2 : 4; }

// Failure categories the addon maps onto AttentionError codes.
// Internal: a failure that is none of these (a bug of the package): a plain Error, no code.
enum class ErrorCode { InvalidArgument, OutOfMemory, CudaError, NoDevice, Aborted, Internal };

class KernelError : public std::runtime_error {
 public:
  KernelError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace sa
