// A tensor as the glue sees it: dtype, shape, device and a raw pointer, checked again here
// (cheaply) so that a caller bypassing lib/ gets an exception instead of a crash.
//
// JS side: { dtype: 0..3, shape: number[], device: -1 (cpu) | n (cuda:n),
//            host?: TypedArray (cpu), buffer?: DeviceBuffer (cuda) }
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/cuda_device.h"

namespace sa::addon {

struct TensorArg {
  DType dtype = DType::Float32;
  std::vector<int> shape;
  int device = -1;
  void* data = nullptr;
  int64_t numel = 0;
  cuda::Block block;  // keeps device memory alive while an op runs

  int dim(int i) const { return shape[size_t(i)]; }
  int rank() const { return int(shape.size()); }
  size_t bytes() const { return size_t(numel) * size_t(dtypeSize(dtype)); }
  bool isFloat() const { return dtype != DType::Int32; }
  std::string shapeText() const;
};

TensorArg tensorArg(const Napi::Value& value, const char* op, const char* name);
// Same, but `undefined`/`null` yields an empty TensorArg with data == nullptr.
TensorArg optionalTensorArg(const Napi::Value& value, const char* op, const char* name);

// Throws a RangeError unless `t` has exactly `expected` as its shape.
void requireShape(Napi::Env env, const TensorArg& t, const std::vector<int>& expected, const char* op, const char* name);
void requireDevice(Napi::Env env, const TensorArg& t, int device, const char* op, const char* name);

}  // namespace sa::addon
