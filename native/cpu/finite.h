// Whether a block of float32 values holds no NaN or infinity. Kernels that multiply masked
// entries by zero weights use it to keep one matrix product where that is exact: zero times a
// finite value adds nothing, zero times NaN or infinity is NaN.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

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

// The weights, in place, of a row of scores whose running maximum is still -inf: every score
// the row has seen is -inf, or the row holds a NaN that the maximum passed over (tile_math.h's
// rowMax). A score of -inf weighs exactly 0 whatever maximum comes later, and its key still
// counts (0 times a NaN value is NaN, as in softmax(q·kᵀ)·v); any other score can only sit next
// to a NaN here, so it becomes NaN, as the whole row will be. Returns the weights' sum.
inline float weightsBeforeAnyMaximum(float* x, int n) {
  float sum = 0.0f;
  for (int c = 0; c < n; ++c) sum += (x[c] = x[c] == -std::numeric_limits<float>::infinity()
                                                 ? 0.0f
                                                 : std::numeric_limits<float>::quiet_NaN());
  return sum;
}

}  // namespace sa::cpu
