#include <algorithm>
#include <cstring>

#include "kernels/copy_blocks.h"

namespace sa {

void copyBlocksCpu(const CpuContext& ctx, const BlockCopy& c, const void* src, void* dst) {
  if (c.blocks == 0 || c.length == 0) return;
  const size_t bytes = size_t(c.length) * c.elemSize;
  const int64_t blocksPerTask = std::max<int64_t>(1, (int64_t(1) << 20) / int64_t(bytes));
  parallelFor(ctx, (c.blocks + blocksPerTask - 1) / blocksPerTask, [&](int64_t task) {
    const int64_t end = std::min(c.blocks, (task + 1) * blocksPerTask);
    for (int64_t i = task * blocksPerTask; i < end; ++i)
      std::memcpy(static_cast<char*>(dst) + (c.dstOffset + i * c.dstStride) * c.elemSize,
                  static_cast<const char*>(src) + (c.srcOffset + i * c.srcStride) * c.elemSize, bytes);
  });
}

}  // namespace sa
