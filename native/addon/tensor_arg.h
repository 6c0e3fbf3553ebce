// A tensor as the glue sees it: dtype, shape, device and a raw pointer, checked again here
// (cheaply) so that a caller bypassing lib/ gets an exception instead of a crash.
//
// JS side: { dtype: 0..3, shape: number[], device: -1 (cpu) | n (cuda:n),
//            host?: TypedArray of the dtype's kind (cpu), buffer?: DeviceBuffer (cuda) }
// The host array must hold exactly the shape's bytes, the buffer exactly as many.
#pragma once

#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/cuda_device.h"

namespace sa::addon {

struct TensorArg {
  DType dtype = DType::Float32;
  std::vector<int> shape;
  int device = -1;
  void* data = nullptr;  // may be null when numel == 0
  int64_t numel = 0;
  bool present = false;  // false only for an absent optional tensor
  cuda::Block block;     // keeps device memory alive while an op runs
  // The JS object that owns `data` (the host ArrayBuffer or the DeviceBuffer): the op must
  // keep it alive, not the descriptor, whose properties a caller could swap. Main thread only.
  Napi::Value owner;

  int dim(int i) const { return shape[size_t(i)]; }
  int rank() const { return int(shape.size()); }
  size_t bytes() const { return size_t(numel) * size_t(dtypeSize(dtype)); }
  bool isFloat() const { return dtype != DType::Int32; }
  std::string shapeText() const;
};

TensorArg tensorArg(const Napi::Value& value, const char* op, const char* name);
// Same, but `undefined`/`null` yields an absent TensorArg (present == false, data == nullptr).
TensorArg optionalTensorArg(const Napi::Value& value, const char* op, const char* name);

// Throws a RangeError unless `t` has exactly `expected` as its shape (int64 so that callers
// can pass sums and products of dimensions without overflowing int).
void requireShape(Napi::Env env, const TensorArg& t, const std::vector<int64_t>& expected, const char* op,
                  const char* name);
// Another tensor's shape (std::vector<int>) as the expected one.
template <class Int>
void requireShape(Napi::Env env, const TensorArg& t, const std::vector<Int>& expected, const char* op, const char* name) {
  requireShape(env, t, std::vector<int64_t>(expected.begin(), expected.end()), op, name);
}
void requireDevice(Napi::Env env, const TensorArg& t, int device, const char* op, const char* name);
// Kernels write their output while reading their inputs: memory shared by `out` and an input
// would give wrong results, so it is a RangeError.
void requireNoOverlap(Napi::Env env, const TensorArg& out, std::initializer_list<const TensorArg*> inputs,
                      const char* op);

}  // namespace sa::addon
