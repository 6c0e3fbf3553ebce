// float16 / bfloat16 <-> float32 on raw bits, round to nearest even, NaN and infinities kept.
// Host and device: the CPU path converts half inputs with these, CUDA kernels load with them.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/common.h"

namespace sa {

SA_HD uint32_t floatBits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

SA_HD float bitsFloat(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

SA_HD float bfloat16ToFloat(uint16_t h) { return bitsFloat(uint32_t(h) << 16); }

SA_HD uint16_t floatToBFloat16(float f) {
  uint32_t u = floatBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

SA_HD float float16ToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return bitsFloat(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    if (man == 0) return bitsFloat(sign);
    // Subnormal: man * 2^-24 is exact in float32.
    float v = float(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bitsFloat(sign | ((exp + 112u) << 23) | (man << 13));
}

SA_HD uint16_t floatToFloat16(float f) {
  uint32_t u = floatBits(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to infinity
  if (a < 0x38800000u) {
    // Result is subnormal or zero: round a * 2^24 to an integer, nearest even.
    uint32_t exp = a >> 23;
    if (exp < 102) return sign;  // below half the smallest subnormal
    uint32_t man = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - exp;  // 14..24
    uint32_t q = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (q & 1u))) q++;
    return uint16_t(sign | q);
  }
  uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - 0x38000000u;  // rebias 127 -> 15, round
  return uint16_t(sign | (r >> 13));
}

template <DType T>
struct Storage;
template <>
struct Storage<DType::Float32> {
  using type = float;
  static SA_HD float load(float x) { return x; }
  static SA_HD float store(float x) { return x; }
};
template <>
struct Storage<DType::Float16> {
  using type = uint16_t;
  static SA_HD float load(uint16_t x) { return float16ToFloat(x); }
  static SA_HD uint16_t store(float x) { return floatToFloat16(x); }
};
template <>
struct Storage<DType::BFloat16> {
  using type = uint16_t;
  static SA_HD float load(uint16_t x) { return bfloat16ToFloat(x); }
  static SA_HD uint16_t store(float x) { return floatToBFloat16(x); }
};

}  // namespace sa
