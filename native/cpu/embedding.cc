#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/embedding.h"

namespace sa {

void embeddingCpu(const CpuContext& ctx, const EmbeddingShape& s, const int32_t* ids, const void* table, void* out) {
  const size_t rowBytes = size_t(s.width) * s.elemSize;
  constexpr int kIdsPerTask = 256;
  parallelFor(ctx, (s.n + kIdsPerTask - 1) / kIdsPerTask, [&](int64_t task) {
    const int end = std::min<int>(s.n, int(task + 1) * kIdsPerTask);
    for (int i = int(task) * kIdsPerTask; i < end; ++i) {
      const int32_t id = ids[i];
      if (id < 0 || id >= s.rows)
        throw KernelError(ErrorCode::InvalidArgument, "ids[" + std::to_string(i) + "] = " + std::to_string(id) +
                                                          " must be in [0, " + std::to_string(s.rows) + ")");
      // A zero-width table may have no memory at all, and memcpy wants valid pointers.
      if (rowBytes)
        std::memcpy(static_cast<char*>(out) + i * rowBytes, static_cast<const char*>(table) + id * rowBytes, rowBytes);
    }
  });
}

}  // namespace sa
