#include <cstring>
#include <string>

#include "kernels/axial.h"

namespace sa {

void axialPositionEncodingCpu(const CpuContext& ctx, const AxialShape& s, const void* w0, const void* w1,
                              const int32_t* positionIds, void* out) {
  const size_t row0 = size_t(s.d0) * s.elemSize, row1 = size_t(s.d1) * s.elemSize;
  const int64_t rows = int64_t(s.B) * s.L;
  constexpr int64_t kRowsPerTask = 256;
  parallelFor(ctx, (rows + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task) {
    int64_t end = std::min(rows, (task + 1) * kRowsPerTask);
    for (int64_t row = task * kRowsPerTask; row < end; ++row) {
      int p = positionIds ? positionIds[row] : int(row % s.L);
      if (!axialPositionValid(p, s.n0, s.n1))
        throw KernelError(ErrorCode::InvalidArgument,
                          "positionIds[" + std::to_string(row / s.L) + "," + std::to_string(row % s.L) + "] = " +
                              std::to_string(p) + " must be in [0, " + std::to_string(int64_t(s.n0) * s.n1) + ")");
      AxialRows r = axialRows(p, s.n0, s.n1, s.layout);
      char* dst = static_cast<char*>(out) + row * (row0 + row1);
      // Zero-width weights may have no memory at all, and memcpy wants valid pointers.
      if (row0) std::memcpy(dst, static_cast<const char*>(w0) + r.r0 * row0, row0);
      if (row1) std::memcpy(dst + row0, static_cast<const char*>(w1) + r.r1 * row1, row1);
    }
  });
}

}  // namespace sa
