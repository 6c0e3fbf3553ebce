// The layout option every attention op takes: { layout: 'bhld' | 'blhd', heads } (heads only
// with 'blhd'), and the (B, H, L, D) of a tensor in that layout.
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

#include "addon/tensor_arg.h"

namespace sa::addon {

struct AttentionLayout {
  bool tokenMajor;  // 'blhd': [B, L, H * D]
  int heads;        // H, with 'blhd'
};

AttentionLayout layoutOption(Napi::Env env, const Napi::Object& opts, const char* op);

struct AttentionDims {
  int B, H, L, D;
};

// Throws a RangeError unless `t` is a float tensor of rank 4 ('bhld') or 3 with H dividing its
// last dimension ('blhd').
AttentionDims attentionDims(Napi::Env env, const TensorArg& t, const AttentionLayout& layout, const char* op,
                            const char* name);

// The shape of a tensor of `dims` in `layout`.
std::vector<int64_t> attentionShape(const AttentionDims& dims, const AttentionLayout& layout);

}  // namespace sa::addon
