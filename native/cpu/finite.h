// Whether a block of float32 values holds no NaN or infinity. Kernels that multiply masked
// entries by zero weights use it to keep one matrix product where that is exact: zero times a
// finite value adds nothing, zero times NaN or infinity is NaN.
#pragma once

#include <cstdint>
#include <cstring>

namespace sa::cpu {

// rows × cols values, `ld` floats apart from row to row.
inline bool allFinite(const float* x, int rows, int cols, int ld) {
  constexpr uint32_t kExponent = 0x7f800000u;  // all ones: infinity or NaN
  uint32_t nonFinite = 0;
  for (int r = 0; r < rows; ++r) {
    const float* row = x + int64_t(r) * ld;
    for (int c = 0; c < cols; ++c) {
      uint32_t bits;
      std::memcpy(&bits, row + c, sizeof bits);
      nonFinite |= uint32_t((bits & kExponent) == kExponent);
    }
  }
  return nonFinite == 0;
}

}  // namespace sa::cpu
