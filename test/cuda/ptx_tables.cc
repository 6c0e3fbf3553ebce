// Table tests of the emulated PTX (cuda/emulator/ptx.h): the warp-wide and per-thread semantics
// as plain functions, without fibers. Every expectation is written from the PTX ISA's own
// statements (the lane -> (row, col) formulas of its fragment tables, its description of
// ldmatrix, cp.async groups and ex2), or from IEEE 754 and CUDA's host-side conversions for the
// operand encodings; none from the kernels or from the emulation's code. The two checks of
// choices the ISA leaves open (the summation order of mma, signed zeros) are labelled so.
//   g++ -std=c++17 -I/usr/local/cuda/include -Inative -I. test/cuda/ptx_tables.cc cuda/emulator/ptx.cc
//     -o ptx_tables && ./ptx_tables
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "cuda/emulator/ptx.h"

namespace {

using namespace sa::emu::ptx;
using sa::emu::CpAsyncState;
constexpr int kLanes = 32;

int totalPassed = 0, totalFailed = 0;

// One line per group: its name, how many checks passed and failed, and the first few failures.
class Group {
 public:
  explicit Group(const char* name) : name_(name) {}
  ~Group() {
    std::printf("%-66s %6d passed, %d failed\n", name_, passed_, failed_);
    for (const std::string& f : failures_) std::printf("    FAIL %s\n", f.c_str());
    totalPassed += passed_, totalFailed += failed_;
  }
  void check(bool ok, const char* fmt, ...) {
    if (ok) {
      ++passed_;
      return;
    }
    ++failed_;
    if (failures_.size() >= 8) return;
    char buffer[400];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buffer, sizeof buffer, fmt, args);
    va_end(args);
    failures_.push_back(buffer);
  }

 private:
  const char* name_;
  int passed_ = 0, failed_ = 0;
  std::vector<std::string> failures_;
};

bool sameFloat(float a, float b) {  // bit-equal, or both NaN
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  uint32_t x, y;
  std::memcpy(&x, &a, 4), std::memcpy(&y, &b, 4);
  return x == y;
}

uint16_t f16Bits(float x) { return __half_as_ushort(__float2half_rn(x)); }
uint16_t bf16Bits(float x) { return __bfloat16_as_ushort(__float2bfloat16_rn(x)); }
template <MmaType T>
uint16_t bits16(float x) {
  return T == MmaType::F16 ? f16Bits(x) : bf16Bits(x);
}
template <MmaType T>
float roundTrip(float x) {
  return T == MmaType::F16 ? __half2float(__float2half_rn(x)) : __bfloat162float(__float2bfloat16_rn(x));
}
template <MmaType T>
const char* typeName() {
  return T == MmaType::F16 ? "f16" : "bf16";
}

// ---- operand encodings ----------------------------------------------------------------------

// IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits; exponent 0 = zero or
// subnormal (fraction * 2^-24), 31 = infinity or NaN.
void checkF16Decoding() {
  Group g("f16 operand decoding (IEEE binary16, all 65536 patterns)");
  struct Case {
    uint16_t bits;
    float value;
    bool negative;
  };
  const Case cases[] = {
      {0x0000, 0.0f, false},
      {0x8000, -0.0f, true},
      {0x0001, std::ldexp(1.0f, -24), false},  // smallest subnormal
      {0x8001, -std::ldexp(1.0f, -24), true},
      {0x0200, std::ldexp(1.0f, -15), false},
      {0x03ff, std::ldexp(1023.0f, -24), false},  // largest subnormal
      {0x0400, std::ldexp(1.0f, -14), false},     // smallest normal
      {0x3c00, 1.0f, false},
      {0x3c01, 1.0f + std::ldexp(1.0f, -10), false},
      {0xc000, -2.0f, true},
      {0x3555, 0.333251953125f, false},
      {0x7bff, 65504.0f, false},  // largest finite
      {0xfbff, -65504.0f, true},
      {0x7c00, std::numeric_limits<float>::infinity(), false},
      {0xfc00, -std::numeric_limits<float>::infinity(), true},
  };
  for (const Case& c : cases) {
    const float v = decodeF16(c.bits);
    g.check(sameFloat(v, c.value) && std::signbit(v) == c.negative, "0x%04x -> %a, expected %a", c.bits, v, c.value);
  }
  for (uint16_t nan : {uint16_t(0x7c01), uint16_t(0x7e00), uint16_t(0xfe00), uint16_t(0x7fff)})
    g.check(std::isnan(decodeF16(nan)), "0x%04x is a NaN", nan);
  for (uint32_t h = 0; h <= 0xffff; ++h) {  // against CUDA's own host conversion
    const float expected = __half2float(__ushort_as_half(uint16_t(h)));
    g.check(sameFloat(decodeF16(uint16_t(h)), expected), "0x%04x -> %a, __half2float %a", h, decodeF16(uint16_t(h)),
            expected);
  }
}

// bfloat16: the upper 16 bits of a binary32 (1 sign, 8 exponent, 7 fraction bits).
void checkBf16Decoding() {
  Group g("bf16 operand decoding (upper half of binary32, all patterns)");
  struct Case {
    uint16_t bits;
    float value;
    bool negative;
  };
  const Case cases[] = {
      {0x0000, 0.0f, false},
      {0x8000, -0.0f, true},
      {0x0001, std::ldexp(1.0f, -133), false},  // smallest subnormal
      {0x007f, std::ldexp(127.0f, -133), false},
      {0x0080, std::ldexp(1.0f, -126), false},
      {0x3f80, 1.0f, false},
      {0xc000, -2.0f, true},
      {0x4049, 3.140625f, false},
      {0x7f7f, std::ldexp(255.0f, 120), false},  // largest finite: (2^8 - 1) * 2^-7 * 2^127
      {0x7f80, std::numeric_limits<float>::infinity(), false},
      {0xff80, -std::numeric_limits<float>::infinity(), true},
  };
  for (const Case& c : cases) {
    const float v = decodeBf16(c.bits);
    g.check(sameFloat(v, c.value) && std::signbit(v) == c.negative, "0x%04x -> %a, expected %a", c.bits, v, c.value);
  }
  for (uint16_t nan : {uint16_t(0x7f81), uint16_t(0x7fc0), uint16_t(0xffc0)})
    g.check(std::isnan(decodeBf16(nan)), "0x%04x is a NaN", nan);
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float expected = __bfloat162float(__ushort_as_bfloat16(uint16_t(h)));
    g.check(sameFloat(decodeBf16(uint16_t(h)), expected), "0x%04x -> %a, __bfloat162float %a", h,
            decodeBf16(uint16_t(h)), expected);
  }
}

// ---- mma.m16n8k16, fragments as the PTX ISA tabulates them ------------------------------------
// "Matrix Fragments for mma.m16n8k16 with floating point type", .f16 / .bf16 operands, .f32
// accumulators: groupID = %laneid >> 2, threadID_in_group = %laneid % 4.
//   A: four .f16x2 registers holding a0..a7 (low to high)
//      row = groupID for ai where 0 <= i < 2 || 4 <= i < 6, groupID + 8 otherwise
//      col = (threadID_in_group * 2) + (i & 0x1) for ai where i < 4, ... + 8 for ai where i >= 4
//   B: two .f16x2 registers holding b0..b3
//      row = (threadID_in_group * 2) + (i & 0x1) for bi where i < 2, ... + 8 for bi where i >= 2
//      col = groupID
//   C, D: four .f32 registers c0..c3
//      row = groupID for ci where i < 2, groupID + 8 for ci where i >= 2
//      col = (threadID_in_group * 2) + (i & 0x1) for ci where i = {0,..,3}

int isaARow(int lane, int i) {
  const int groupID = lane >> 2;
  return ((0 <= i && i < 2) || (4 <= i && i < 6)) ? groupID : groupID + 8;
}
int isaACol(int lane, int i) {
  const int threadID_in_group = lane % 4;
  return i < 4 ? (threadID_in_group * 2) + (i & 0x1) : (threadID_in_group * 2) + (i & 0x1) + 8;
}
int isaBRow(int lane, int i) {
  const int threadID_in_group = lane % 4;
  return i < 2 ? (threadID_in_group * 2) + (i & 0x1) : (threadID_in_group * 2) + (i & 0x1) + 8;
}
int isaBCol(int lane, int) { return lane >> 2; }
int isaCRow(int lane, int i) { return i < 2 ? (lane >> 2) : (lane >> 2) + 8; }
int isaCCol(int lane, int i) { return (lane % 4) * 2 + (i & 0x1); }

struct Problem {
  uint16_t a[16][16];  // operand bits
  uint16_t b[16][8];
  float c[16][8];
};

// Each lane's registers, element i of a fragment in register i / 2 (the lower-numbered element
// in the low half: "Elements (low to high)").
void buildLanes(const Problem& p, MmaLane lanes[kLanes]) {
  for (int lane = 0; lane < kLanes; ++lane) {
    MmaLane& l = lanes[lane];
    std::memset(&l, 0, sizeof l);
    for (int i = 0; i < 8; ++i) l.a[i / 2] |= uint32_t(p.a[isaARow(lane, i)][isaACol(lane, i)]) << (16 * (i % 2));
    for (int i = 0; i < 4; ++i) l.b[i / 2] |= uint32_t(p.b[isaBRow(lane, i)][isaBCol(lane, i)]) << (16 * (i % 2));
    for (int i = 0; i < 4; ++i) l.c[i] = p.c[isaCRow(lane, i)][isaCCol(lane, i)];
  }
}

// Runs mmaWarp and returns D as a 16x8 matrix, read back through the ISA's C/D table.
template <MmaType T>
void runMma(const Problem& p, float d[16][8]) {
  MmaLane lanes[kLanes];
  buildLanes(p, lanes);
  float out[kLanes][4];
  mmaWarp<T>(lanes, out);
  for (int lane = 0; lane < kLanes; ++lane)
    for (int i = 0; i < 4; ++i) d[isaCRow(lane, i)][isaCCol(lane, i)] = out[lane][i];
}

// D = A * B + C by the textbook triple loop, in double, from the values the operands stand for.
template <MmaType T>
void referenceMma(const float a[16][16], const float b[16][8], const float c[16][8], double d[16][8]) {
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double sum = c[m][n];
      for (int k = 0; k < 16; ++k) sum += double(a[m][k]) * double(b[k][n]);
      d[m][n] = sum;
    }
}

// Integer operands, all distinct, small enough that every partial sum is exact in float32: D is
// then the exact product whatever the summation order, and any misplaced element shows.
template <MmaType T>
void checkMmaDistinct() {
  std::string name = std::string("mma m16n8k16 ") + typeName<T>() + ": distinct A, B, C vs triple loop";
  Group g(name.c_str());
  float a[16][16], b[16][8], c[16][8];
  Problem p;
  for (int m = 0; m < 16; ++m)
    for (int k = 0; k < 16; ++k) a[m][k] = float(m * 16 + k - 128), p.a[m][k] = bits16<T>(a[m][k]);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 8; ++n) b[k][n] = float(k * 8 + n - 64), p.b[k][n] = bits16<T>(b[k][n]);
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) c[m][n] = p.c[m][n] = float(1000 * m + 7 * n + 3);
  // The operands must be what they claim (exact in the 16-bit type) for the test to mean anything.
  for (int m = 0; m < 16; ++m)
    for (int k = 0; k < 16; ++k) g.check(roundTrip<T>(a[m][k]) == a[m][k], "A(%d,%d) exact", m, k);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 8; ++n) g.check(roundTrip<T>(b[k][n]) == b[k][n], "B(%d,%d) exact", k, n);
  double ref[16][8];
  referenceMma<T>(a, b, c, ref);
  float d[16][8];
  runMma<T>(p, d);
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) g.check(double(d[m][n]) == ref[m][n], "D(%d,%d) = %g, expected %g", m, n, d[m][n], ref[m][n]);
  // Fractions too: A = (16m + k + 1) / 256, B = (8k + n + 1) / 128, exact in both types.
  for (int m = 0; m < 16; ++m)
    for (int k = 0; k < 16; ++k) a[m][k] = float(m * 16 + k + 1) / 256.0f, p.a[m][k] = bits16<T>(a[m][k]);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 8; ++n) b[k][n] = float(k * 8 + n + 1) / 128.0f, p.b[k][n] = bits16<T>(b[k][n]);
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) c[m][n] = p.c[m][n] = float(m - 8) / 4.0f + float(n) / 32.0f;
  referenceMma<T>(a, b, c, ref);
  runMma<T>(p, d);
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n)
      g.check(double(d[m][n]) == ref[m][n], "fractions: D(%d,%d) = %a, expected %a", m, n, d[m][n], ref[m][n]);
}

// One-hot operands: A = e(m0, k0) puts row k0 of B into row m0 of D and nothing elsewhere, so
// each element of A (then of B) is located exactly; C = D when A = 0 locates C and D.
template <MmaType T>
void checkMmaOneHot() {
  std::string name = std::string("mma m16n8k16 ") + typeName<T>() + ": one-hot A, one-hot B, C passthrough";
  Group g(name.c_str());
  const uint16_t one = bits16<T>(1.0f);
  for (int m0 = 0; m0 < 16; ++m0)
    for (int k0 = 0; k0 < 16; ++k0) {
      Problem p{};
      p.a[m0][k0] = one;
      for (int k = 0; k < 16; ++k)
        for (int n = 0; n < 8; ++n) p.b[k][n] = bits16<T>(float(k * 8 + n + 1));
      float d[16][8];
      runMma<T>(p, d);
      for (int m = 0; m < 16; ++m)
        for (int n = 0; n < 8; ++n) {
          const float expected = m == m0 ? float(k0 * 8 + n + 1) : 0.0f;
          g.check(d[m][n] == expected, "A = e(%d,%d): D(%d,%d) = %g, expected %g", m0, k0, m, n, d[m][n], expected);
        }
    }
  for (int k0 = 0; k0 < 16; ++k0)
    for (int n0 = 0; n0 < 8; ++n0) {
      Problem p{};
      p.b[k0][n0] = one;
      for (int m = 0; m < 16; ++m)
        for (int k = 0; k < 16; ++k) p.a[m][k] = bits16<T>(float(m * 16 + k + 1));
      float d[16][8];
      runMma<T>(p, d);
      for (int m = 0; m < 16; ++m)
        for (int n = 0; n < 8; ++n) {
          const float expected = n == n0 ? float(m * 16 + k0 + 1) : 0.0f;
          g.check(d[m][n] == expected, "B = e(%d,%d): D(%d,%d) = %g, expected %g", k0, n0, m, n, d[m][n], expected);
        }
    }
  Problem p{};
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) p.c[m][n] = float(m * 8 + n) + 0.5f;
  float d[16][8];
  runMma<T>(p, d);
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) g.check(d[m][n] == p.c[m][n], "A = 0: D(%d,%d) = %g, expected C = %g", m, n, d[m][n], p.c[m][n]);
}

// Operand values at the edges of the 16-bit formats, through the whole mma.
void checkMmaOperandValues() {
  Group g("mma operand values: subnormals, extremes, inf, NaN, -0");
  const float inf = std::numeric_limits<float>::infinity();
  {  // f16 subnormals: 16 products 2^-24 * 2^-24 = 2^-48 each, exact in float32
    Problem p{};
    for (int k = 0; k < 16; ++k) p.a[0][k] = 0x0001, p.b[k][0] = 0x0001;
    float d[16][8];
    runMma<MmaType::F16>(p, d);
    g.check(d[0][0] == std::ldexp(1.0f, -44), "f16 2^-24 * 2^-24 summed 16 times = %a", d[0][0]);
  }
  {  // f16 largest subnormal * largest finite, and 65504^2
    Problem p{};
    p.a[1][3] = 0x03ff, p.b[3][2] = 0x7bff;  // 1023 * 2^-24 * 65504
    p.a[2][5] = 0x7bff, p.b[5][4] = 0x7bff;  // 65504^2 = 4290774016, exact in float32
    float d[16][8];
    runMma<MmaType::F16>(p, d);
    g.check(d[1][2] == float(1023.0 * 65504.0 / 16777216.0), "f16 0x03ff * 0x7bff = %a", d[1][2]);
    g.check(d[2][4] == 4290774016.0f, "f16 65504^2 = %a", d[2][4]);
  }
  {  // bf16 subnormal operand times 2^100: 2^-133 * 2^100 = 2^-33
    Problem p{};
    p.a[4][7] = 0x0001, p.b[7][1] = bf16Bits(std::ldexp(1.0f, 100));
    float d[16][8];
    runMma<MmaType::BF16>(p, d);
    g.check(d[4][1] == std::ldexp(1.0f, -33), "bf16 2^-133 * 2^100 = %a", d[4][1]);
  }
  for (int type = 0; type < 2; ++type) {  // inf * 1 = inf, inf * 0 = NaN, NaN propagates
    Problem p{};
    const uint16_t pinf = type == 0 ? 0x7c00 : 0x7f80, ninf = type == 0 ? 0xfc00 : 0xff80;
    const uint16_t nan = type == 0 ? 0x7e00 : 0x7fc0, one = type == 0 ? 0x3c00 : 0x3f80;
    p.a[0][0] = pinf, p.b[0][0] = one;  // D(0,0) = +inf; D(0,n>0) = inf * 0 = NaN
    p.a[1][1] = ninf, p.b[1][1] = one;  // D(1,1) = -inf, D(1,n!=1) = NaN
    p.a[2][2] = nan;                    // row 2 all NaN
    float d[16][8];
    if (type == 0) runMma<MmaType::F16>(p, d);
    else runMma<MmaType::BF16>(p, d);
    const char* t = type == 0 ? "f16" : "bf16";
    g.check(d[0][0] == inf, "%s +inf * 1 = %g", t, d[0][0]);
    g.check(std::isnan(d[0][3]), "%s +inf * 0 = %g", t, d[0][3]);
    g.check(d[1][1] == -inf, "%s -inf * 1 = %g", t, d[1][1]);
    g.check(std::isnan(d[1][0]), "%s -inf * 0 = %g", t, d[1][0]);
    for (int n = 0; n < 8; ++n) g.check(std::isnan(d[2][n]), "%s NaN row: D(2,%d) = %g", t, n, d[2][n]);
    g.check(d[5][5] == 0.0f, "%s untouched rows stay 0", t);
  }
  for (int type = 0; type < 2; ++type) {  // -0 operands (IEEE signed zeros: -0 * 1 + -0 = -0)
    Problem p{};
    const uint16_t nzero = 0x8000, one = type == 0 ? 0x3c00 : 0x3f80;
    for (int m = 0; m < 16; ++m)
      for (int k = 0; k < 16; ++k) p.a[m][k] = nzero;
    for (int k = 0; k < 16; ++k)
      for (int n = 0; n < 8; ++n) p.b[k][n] = one;
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 8; ++n) p.c[m][n] = (n % 2) ? 0.0f : -0.0f;
    float d[16][8];
    if (type == 0) runMma<MmaType::F16>(p, d);
    else runMma<MmaType::BF16>(p, d);
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 8; ++n)
        g.check(d[m][n] == 0.0f && std::signbit(d[m][n]) == (n % 2 == 0), "%s: (-0 * 1) * 16 + %s0 = %g (sign %d)",
                type == 0 ? "f16" : "bf16", n % 2 ? "+" : "-", d[m][n], int(std::signbit(d[m][n])));
  }
}

// The order the emulation documents (C first, then k = 0..15, each a float32 addition): the
// ISA leaves it open, so this checks the emulator's own promise, not the ISA.
void checkMmaSummationOrder() {
  Group g("mma summation order as documented (not in the ISA)");
  Problem p{};
  for (int k = 0; k < 16; ++k) p.a[0][k] = 0x3c00, p.b[k][0] = 0x3c00;  // 16 products of 1
  p.c[0][0] = 16777216.0f;                                              // 2^24: 2^24 + 1 rounds back to 2^24
  p.a[1][0] = f16Bits(4096.0f), p.b[0][1] = f16Bits(4096.0f);           // p_0 = 2^24
  for (int k = 1; k < 16; ++k) p.a[1][k] = 0x3c00, p.b[k][1] = 0x3c00;  // then 15 times 1
  p.a[2][15] = f16Bits(4096.0f), p.b[15][2] = f16Bits(4096.0f);         // the 2^24 last
  for (int k = 0; k < 15; ++k) p.a[2][k] = 0x3c00, p.b[k][2] = 0x3c00;  // after 15 times 1
  float d[16][8];
  runMma<MmaType::F16>(p, d);
  g.check(d[0][0] == 16777216.0f, "C = 2^24, then 16 x 1: %.1f (an exact sum would give 2^24 + 16)", d[0][0]);
  g.check(d[1][1] == 16777216.0f, "p_0 = 2^24, then 15 x 1: %.1f (an exact sum would give 2^24 + 16)", d[1][1]);
  g.check(d[2][2] == 16777232.0f, "15 x 1, then p_15 = 2^24: %.1f (k descending would give 2^24)", d[2][2]);
}

// ---- ldmatrix -------------------------------------------------------------------------------------
// ldmatrix.sync.aligned.m8n8.x{1,2,4}{.trans}.shared.b16 (PTX ISA, "Warp-level matrix load
// instruction: ldmatrix"): the eight addresses of each matrix come from eight threads, "threads
// 0-7" for .x1, "0-15" for .x2, "0-31" for .x4; "addresses addr0-addr7 correspond to the rows of
// the first matrix, addr8-addr15 to the rows of the second", each "the start of a matrix row",
// 16 bytes, naturally aligned, rows need not be contiguous. "Each thread in a warp loads fragments
// of a row, with thread 0 receiving the first fragment in its register r": a group of four threads
// holds a row, lane l receiving row l / 4, elements 2 (l % 4) and 2 (l % 4) + 1, the k-th matrix
// in the k-th destination register. ".trans: the matrix is loaded in column-major format": the
// loaded matrix's element (row, col) is element `row` of the addressed row `col`.

alignas(16) uint16_t gShared[64 * 8 + 64];  // 64 row slots of 8 elements, then slack
alignas(16) unsigned char gGlobal[1024];     // "global memory": not shared

bool inTestShared(const void* p, size_t bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(gShared);
  const auto* q = static_cast<const unsigned char*>(p);
  return q >= b && q + bytes <= b + sizeof gShared && q + bytes >= q;
}

uint16_t elementValue(int matrix, int row, int element) { return uint16_t(0x8000 | (matrix << 8) | (row << 4) | element); }
int rowSlot(int matrix, int row) { return (37 * (8 * matrix + row) + 11) % 64; }  // scattered, not contiguous

void checkLdmatrix() {
  Group g("ldmatrix m8n8 x1/x2/x4 (.trans): ISA row addresses and fragments");
  for (int m = 0; m < 4; ++m)
    for (int r = 0; r < 8; ++r)
      for (int e = 0; e < 8; ++e) gShared[rowSlot(m, r) * 8 + e] = elementValue(m, r, e);
  for (int num : {1, 2, 4})
    for (bool trans : {false, true}) {
      LdmatrixLane in[kLanes];
      for (int lane = 0; lane < kLanes; ++lane) {
        if (lane < 8 * num) {
          in[lane].row = &gShared[rowSlot(lane / 8, lane % 8) * 8];
        } else {  // lanes whose addresses the ISA ignores: unaligned, outside shared memory, null
          in[lane].row = lane % 3 == 0 ? static_cast<const void*>(reinterpret_cast<const unsigned char*>(gShared) + 1)
                         : lane % 3 == 1 ? static_cast<const void*>(gGlobal)
                                         : nullptr;
        }
      }
      uint32_t out[kLanes][4];
      const std::string error = ldmatrixWarp(num, trans, in, out, &inTestShared);
      g.check(error.empty(), "x%d%s: unexpected error: %s", num, trans ? ".trans" : "", error.c_str());
      if (!error.empty()) continue;
      for (int lane = 0; lane < kLanes; ++lane)
        for (int k = 0; k < num; ++k) {
          const int fragRow = lane / 4, fragCol = 2 * (lane % 4);
          uint16_t lo, hi;
          if (!trans) {
            lo = elementValue(k, fragRow, fragCol), hi = elementValue(k, fragRow, fragCol + 1);
          } else {  // element (fragRow, c) of the loaded matrix = element fragRow of addressed row c
            lo = elementValue(k, fragCol, fragRow), hi = elementValue(k, fragCol + 1, fragRow);
          }
          const uint32_t expected = uint32_t(lo) | (uint32_t(hi) << 16);
          g.check(out[lane][k] == expected, "x%d%s lane %d register %d = 0x%08x, expected 0x%08x", num,
                  trans ? ".trans" : "", lane, k, out[lane][k], expected);
        }
    }
}

void checkLdmatrixFaults() {
  Group g("ldmatrix misuse is reported");
  LdmatrixLane good[kLanes];
  for (int lane = 0; lane < kLanes; ++lane) good[lane].row = &gShared[rowSlot(lane / 8, lane % 8) * 8];
  uint32_t out[kLanes][4];
  auto expectError = [&](int num, const LdmatrixLane* in, const char* mention, const char* what) {
    const std::string error = ldmatrixWarp(num, false, in, out, &inTestShared);
    g.check(!error.empty() && error.find(mention) != std::string::npos, "%s: got \"%s\"", what, error.c_str());
  };
  LdmatrixLane in[kLanes];
  std::memcpy(in, good, sizeof in);
  in[3].row = reinterpret_cast<const unsigned char*>(in[3].row) + 8;  // 8- but not 16-byte aligned
  expectError(1, in, "lane 3", "x1, lane 3 unaligned");
  std::memcpy(in, good, sizeof in);
  in[12].row = gGlobal;
  expectError(2, in, "lane 12", "x2, lane 12 outside shared memory");
  expectError(4, in, "lane 12", "x4, lane 12 outside shared memory");
  std::memcpy(in, good, sizeof in);
  in[31].row = reinterpret_cast<const unsigned char*>(gShared) + sizeof gShared;  // aligned, just past the end
  expectError(4, in, "lane 31", "x4, lane 31 past the end of shared memory");
  std::memcpy(in, good, sizeof in);
  in[31].row = reinterpret_cast<const unsigned char*>(gShared) + sizeof gShared - 8;  // straddles the end
  expectError(4, in, "lane 31", "x4, lane 31 straddling the end (8-byte aligned)");
  g.check(ldmatrixWarp(2, false, in, out, &inTestShared).empty(), "x2 ignores lane 31's address");
  g.check(!ldmatrixWarp(3, false, good, out, &inTestShared).empty(), ".x3 is not a shape");
  // .sync.aligned: all 32 lanes
  const void* slots[kLanes];
  int dummy[kLanes];
  for (int lane = 0; lane < kLanes; ++lane) slots[lane] = &dummy[lane];
  g.check(checkFullWarp(slots).empty(), "a full warp passes");
  slots[7] = nullptr, slots[30] = nullptr;
  const std::string error = checkFullWarp(slots);
  g.check(error.find("7") != std::string::npos && error.find("30") != std::string::npos, "lanes 7 and 30 missing: \"%s\"",
          error.c_str());
}

// ---- cp.async -------------------------------------------------------------------------------------
// PTX ISA, cp.async: copies cp-size (4, 8, 16) bytes from global src to shared dst; with
// src-size < cp-size the rest of dst is zero-filled; both addresses naturally aligned. No other
// mechanism than wait_group / wait_all (or an mbarrier) guarantees completion.
// cp.async.commit_group: the prior uncommitted cp.async operations form a cp.async-group (empty
// if there are none). cp.async.wait_group N: waits until only N or fewer of the most recent
// groups are pending and all prior groups committed by the thread are complete.
// cp.async.wait_all = cp.async.commit_group; cp.async.wait_group 0.

constexpr uint16_t kPoison = 0xdead;

uint16_t* slot16(int i) { return &gShared[8 * i]; }  // 16-byte shared slot i
void poisonShared() {
  for (auto& v : gShared) v = kPoison;
}
bool slotIsPoison(int i) {
  for (int e = 0; e < 8; ++e)
    if (slot16(i)[e] != kPoison) return false;
  return true;
}
// Slot i holds srcBytes bytes of global chunk j, then zeros.
bool slotHolds(int i, int j, int srcBytes) {
  const auto* s = reinterpret_cast<const unsigned char*>(slot16(i));
  for (int b = 0; b < 16; ++b)
    if (s[b] != (b < srcBytes ? gGlobal[16 * j + b] : 0)) return false;
  return true;
}

void checkCpAsyncGroups() {
  Group g("cp.async: commit_group, wait_group 0/1/2, wait_all");
  for (int i = 0; i < int(sizeof gGlobal); ++i) gGlobal[i] = uint8_t(i * 7 + 1);
  poisonShared();
  CpAsyncState s;
  auto issue = [&](int slot, int chunk, int srcBytes) {
    const std::string e = cpAsyncIssue(s, slot16(slot), gGlobal + 16 * chunk, 16, srcBytes, &inTestShared);
    g.check(e.empty(), "issue slot %d: %s", slot, e.c_str());
  };
  issue(0, 0, 16);
  g.check(slotIsPoison(0), "nothing lands at issue");
  cpAsyncCommitGroup(s);  // group A = {0}
  g.check(slotIsPoison(0), "nothing lands at commit");
  issue(1, 1, 5);
  issue(2, 2, 16);
  cpAsyncCommitGroup(s);  // group B = {1, 2}
  issue(3, 3, 0);
  cpAsyncCommitGroup(s);  // group C = {3}
  issue(4, 4, 16);        // uncommitted
  cpAsyncWaitGroup(s, 3);
  g.check(slotIsPoison(0) && slotIsPoison(1) && slotIsPoison(3), "wait_group 3 with 3 groups: nothing lands");
  cpAsyncWaitGroup(s, 2);
  g.check(slotHolds(0, 0, 16), "wait_group 2: the oldest group (A) landed");
  g.check(slotIsPoison(1) && slotIsPoison(2) && slotIsPoison(3) && slotIsPoison(4), "wait_group 2: B, C, uncommitted pending");
  cpAsyncWaitGroup(s, 2);
  g.check(slotIsPoison(1), "wait_group 2 again: B still pending");
  cpAsyncWaitGroup(s, 1);
  g.check(slotHolds(1, 1, 5) && slotHolds(2, 2, 16), "wait_group 1: B landed, 5 bytes then zeros");
  g.check(slotIsPoison(3) && slotIsPoison(4), "wait_group 1: C and uncommitted pending");
  cpAsyncWaitGroup(s, 0);
  g.check(slotHolds(3, 3, 0), "wait_group 0: C landed (src-size 0: all zeros)");
  g.check(slotIsPoison(4), "wait_group 0: the uncommitted copy does not land");
  cpAsyncCommitGroup(s);
  cpAsyncWaitGroup(s, 0);
  g.check(slotHolds(4, 4, 16), "commit, wait_group 0: it lands");
  g.check(s.pending.empty() && s.groupEnds.empty(), "nothing left pending");

  issue(5, 5, 16);
  cpAsyncWaitAll(s);
  g.check(slotHolds(5, 5, 16), "wait_all lands uncommitted copies");
  g.check(s.pending.empty() && s.groupEnds.empty(), "wait_all leaves nothing pending");

  // Empty groups are groups: [empty, D] with wait_group 1 completes only the empty one.
  cpAsyncCommitGroup(s);
  issue(6, 6, 16);
  cpAsyncCommitGroup(s);
  cpAsyncWaitGroup(s, 1);
  g.check(slotIsPoison(6), "[empty, D], wait_group 1: D still pending");
  cpAsyncCommitGroup(s);  // [D, empty]
  cpAsyncWaitGroup(s, 1);
  g.check(slotHolds(6, 6, 16), "[D, empty], wait_group 1: D landed");
  cpAsyncWaitAll(s);

  // Several groups landing at once, and copies landing in issue order.
  poisonShared();
  for (int grp = 0; grp < 4; ++grp) {
    issue(2 * grp, grp, 16);
    issue(2 * grp + 1, 10 + grp, 3 + grp);
    cpAsyncCommitGroup(s);
  }
  cpAsyncWaitGroup(s, 1);
  bool ok = true;
  for (int grp = 0; grp < 3; ++grp) ok = ok && slotHolds(2 * grp, grp, 16) && slotHolds(2 * grp + 1, 10 + grp, 3 + grp);
  g.check(ok, "4 groups, wait_group 1: the 3 oldest landed");
  g.check(slotIsPoison(6) && slotIsPoison(7), "4 groups, wait_group 1: the newest pending");
  cpAsyncWaitGroup(s, 0);
  g.check(slotHolds(6, 3, 16) && slotHolds(7, 13, 6), "then wait_group 0: all landed");
  // Zero fill at every source size, and the 4- and 8-byte copies of .ca.
  poisonShared();
  for (int n = 0; n <= 16; ++n) issue(n, n, n);
  cpAsyncWaitAll(s);
  for (int n = 0; n <= 16; ++n) g.check(slotHolds(n, n, n), "src-size %d: %d bytes copied, %d zero-filled", n, n, 16 - n);
  poisonShared();
  g.check(cpAsyncIssue(s, slot16(0), gGlobal + 4, 4, 3, &inTestShared).empty(), "4-byte copy issues");
  g.check(cpAsyncIssue(s, reinterpret_cast<unsigned char*>(slot16(1)) + 8, gGlobal + 24, 8, 8, &inTestShared).empty(),
          "8-byte copy issues");
  cpAsyncWaitAll(s);
  const auto* b0 = reinterpret_cast<const unsigned char*>(slot16(0));
  const auto* b1 = reinterpret_cast<const unsigned char*>(slot16(1));
  g.check(b0[0] == gGlobal[4] && b0[2] == gGlobal[6] && b0[3] == 0 && slot16(0)[2] == kPoison, "4-byte copy, src-size 3");
  g.check(std::memcmp(b1 + 8, gGlobal + 24, 8) == 0 && slot16(1)[0] == kPoison, "8-byte copy");
}

void checkCpAsyncFaults() {
  Group g("cp.async misuse is reported, nothing issued");
  CpAsyncState s;
  auto expectError = [&](void* dst, const void* src, int bytes, int srcBytes, const char* mention, const char* what) {
    const std::string e = cpAsyncIssue(s, dst, src, bytes, srcBytes, &inTestShared);
    g.check(!e.empty() && e.find(mention) != std::string::npos, "%s: got \"%s\"", what, e.c_str());
    g.check(s.pending.empty(), "%s: nothing pending", what);
  };
  unsigned char* sh = reinterpret_cast<unsigned char*>(gShared);
  expectError(sh + 8, gGlobal, 16, 16, "aligned", "destination 8- not 16-byte aligned");
  expectError(sh, gGlobal + 4, 16, 16, "aligned", "source 4- not 16-byte aligned");
  expectError(sh + 4, gGlobal, 8, 8, "aligned", "8-byte copy, destination 4-byte aligned");
  expectError(gGlobal + 16, gGlobal, 16, 16, "shared", "destination in global memory");
  expectError(sh + sizeof gShared - 16 + 16, gGlobal, 16, 16, "shared", "destination past the end of shared memory");
  expectError(sh, sh + 32, 16, 16, "source", "source in shared memory");
  expectError(sh, gGlobal, 16, 17, "17", "src-size 17 > cp-size 16");
  expectError(sh, gGlobal, 16, -1, "-1", "negative src-size");
  expectError(sh, gGlobal, 12, 12, "12", "cp-size 12");
  expectError(sh, nullptr, 16, 4, "null", "null source with src-size 4");
  g.check(cpAsyncIssue(s, sh, nullptr, 16, 0, &inTestShared).empty(), "null source with src-size 0 reads nothing: allowed");
  cpAsyncWaitAll(s);
  g.check(slotHolds(0, 0, 0), "and zero-fills");
}

// ---- ex2.approx.ftz.f32 ---------------------------------------------------------------------------
// PTX ISA, ex2: d = 2^a; ex2.approx.f32 is a fast approximation (checked here to 2^-22 relative,
// the order of the ISA's stated maximum error); .ftz flushes subnormal inputs and results to
// sign-preserving zero. Special values: -Inf -> +0; -subnormal, -0, +0, +subnormal -> +1;
// +Inf -> +Inf; NaN -> NaN.

void checkEx2() {
  Group g("ex2.approx.ftz.f32: special values, flush to zero, accuracy");
  const float inf = std::numeric_limits<float>::infinity();
  const float sub = std::numeric_limits<float>::denorm_min() * 1000.0f;
  struct Case {
    float x, y;
  };
  const Case cases[] = {
      {0.0f, 1.0f},     {-0.0f, 1.0f},      {sub, 1.0f},   {-sub, 1.0f},  {std::numeric_limits<float>::denorm_min(), 1.0f},
      {1.0f, 2.0f},     {-1.0f, 0.5f},      {10.0f, 1024.0f},             {-10.0f, 1.0f / 1024.0f},
      {127.0f, std::ldexp(1.0f, 127)},      {-126.0f, std::ldexp(1.0f, -126)},  // smallest normal result stays
      {-127.0f, 0.0f},  {-149.0f, 0.0f},    {-126.5f, 0.0f},                    // subnormal results -> +0
      {-200.0f, 0.0f},  {-1e30f, 0.0f},     {128.0f, inf}, {1e30f, inf},  {inf, inf}, {-inf, 0.0f},
  };
  for (const Case& c : cases) {
    const float y = ex2ApproxFtz(c.x);
    g.check(sameFloat(y, c.y), "2^%a = %a, expected %a", c.x, y, c.y);
    if (y == 0.0f) g.check(!std::signbit(y), "2^%a is +0", c.x);
  }
  g.check(std::isnan(ex2ApproxFtz(std::numeric_limits<float>::quiet_NaN())), "2^NaN is NaN");
  g.check(std::isnan(ex2ApproxFtz(-std::numeric_limits<float>::quiet_NaN())), "2^-NaN is NaN");
  // Not from the ISA: the emulation rounds 2^x from double, so integer powers come out exact.
  for (int k = -126; k <= 127; ++k) g.check(ex2ApproxFtz(float(k)) == std::ldexp(1.0f, k), "2^%d exact", k);
  for (int i = -12600; i <= 12700; i += 7) {  // relative error within 2^-22 where the result is normal
    const float x = float(i) / 100.0f;
    const long double exact = std::exp2l((long double)x);
    const float y = ex2ApproxFtz(x);
    g.check(std::fabs((long double)y - exact) <= exact * std::ldexp(1.0L, -22), "2^%g = %a, exact %La", x, y, exact);
  }
}

}  // namespace

int main() {
  checkF16Decoding();
  checkBf16Decoding();
  checkMmaDistinct<MmaType::F16>();
  checkMmaDistinct<MmaType::BF16>();
  checkMmaOneHot<MmaType::F16>();
  checkMmaOneHot<MmaType::BF16>();
  checkMmaOperandValues();
  checkMmaSummationOrder();
  checkLdmatrix();
  checkLdmatrixFaults();
  checkCpAsyncGroups();
  checkCpAsyncFaults();
  checkEx2();
  std::printf("%d passed, %d failed\n", totalPassed, totalFailed);
  return totalFailed == 0 ? 0 : 1;
}
