// CPU kernels compute in float32: half-precision tensors are widened on the way in and
// rounded (to nearest even) on the way out. float32 tensors pass through without a copy.
#pragma once

#include <vector>

#include "addon/tensor_arg.h"

namespace sa::addon {

class HostFloatIn {
 public:
  explicit HostFloatIn(const TensorArg& t);
  const float* get() const { return ptr_; }

 private:
  std::vector<float> widened_;
  const float* ptr_;
};

class HostFloatOut {
 public:
  explicit HostFloatOut(const TensorArg& t);
  float* get() { return ptr_; }
  void commit();  // writes the float32 results back in the tensor's dtype

 private:
  const TensorArg& target_;
  std::vector<float> staging_;
  float* ptr_;
};

}  // namespace sa::addon
