// Strided copies of equal blocks between two tensors of one element type: the slices and
// concatenations the models need (cropping a padded sequence, joining two streams).
//
//   block i (i < blocks) of `length` elements goes from src[srcOffset + i * srcStride]
//   to dst[dstOffset + i * dstStride]
#pragma once

#include <cstdint>

#include "kernels/common.h"
#include "kernels/cpu_context.h"
#include "kernels/cuda_device.h"

namespace sa {

struct BlockCopy {
  int64_t blocks, length;
  int64_t srcOffset, srcStride;
  int64_t dstOffset, dstStride;
  int elemSize;  // 2 or 4 bytes
};

// The highest element index + 1 the copy touches on each side (0 when it copies nothing).
SA_HD int64_t blockCopySrcEnd(const BlockCopy& c) {
  return c.blocks == 0 || c.length == 0 ? 0 : c.srcOffset + (c.blocks - 1) * c.srcStride + c.length;
}
SA_HD int64_t blockCopyDstEnd(const BlockCopy& c) {
  return c.blocks == 0 || c.length == 0 ? 0 : c.dstOffset + (c.blocks - 1) * c.dstStride + c.length;
}

void copyBlocksCpu(const CpuContext& ctx, const BlockCopy& c, const void* src, void* dst);
void copyBlocksCuda(cuda::Stream stream, const BlockCopy& c, const void* src, void* dst);

}  // namespace sa
