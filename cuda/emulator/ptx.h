// The inline PTX of the kernels (cuda/ptx.cuh) for the emulated device, with the semantics of the
// PTX ISA. Part of the emulated device (cuda/emulator/), compiled only into the emulation build;
// cuda/ptx.cuh includes it when the sources are not compiled by nvcc. Implementation:
// cuda/emulator/ptx.cc.
//
// Two layers:
//   sa::emu::ptx   the semantics as plain functions over explicit state: a CpAsyncState for
//                  cp.async, the 32 lanes' operands for ldmatrix and mma. They know nothing of
//                  fibers (shared-memory membership is a parameter) and report misuse by
//                  returning a message; test/cuda/ptx_tables.cc checks them against the ISA's
//                  tables.
//   sa::cuda::ptx  the functions the kernels call, one CUDA thread at a time: cp.async works on
//                  self().cpAsync; ldmatrix and mma.sync meet the other lanes in warpSync (full
//                  mask) and the last lane to arrive runs the warp-wide function for all 32 in
//                  the combine step; every misuse ends in fail().
//
// Semantics chosen where the ISA leaves freedom (each the latest or the plainest the ISA allows,
// so that a kernel that depends on more fails here rather than on some GPU):
//   - A cp.async copy reads its source and writes its destination only when a wait_group /
//     wait_all of the issuing thread completes its group; before that the destination keeps its
//     old contents. Copies land in issue order. __syncthreads does not land anything.
//   - mma accumulates in float32 in a fixed order, see mmaWarp.
//   - ex2.approx.ftz.f32 returns 2^x rounded to float32 (within the ISA's approximation bound).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "cuda/emulator/thread.h"

namespace sa::emu::ptx {

constexpr unsigned kFullMask = 0xffffffffu;

// Whether [p, p + bytes) lies in the running block's shared memory: inSharedMemory in the
// emulated device, anything a test likes in the table tests.
using SharedCheck = bool (*)(const void* p, size_t bytes);

// ---- 16-bit operands -----------------------------------------------------------------------

// The exact float32 value of IEEE binary16 bits (every binary16 value is a float32 value:
// subnormals included; zeros and infinities keep their sign; NaNs stay NaN).
inline float decodeF16(uint16_t h) {
  const uint32_t sign = uint32_t(h >> 15) << 31, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: mantissa * 2^-24, normal in float32
    int shift = 0;
    uint32_t m = mantissa;
    while (!(m & 0x400u)) m <<= 1, ++shift;  // normalise: leading one to bit 10
    bits = sign | ((uint32_t(127 - 14 - shift)) << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// The exact float32 value of bfloat16 bits: the upper half of a float32.
inline float decodeBf16(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

enum class MmaType { F16, BF16 };

// ---- cp.async -------------------------------------------------------------------------------

// Issues one copy of `bytes` (4, 8 or 16) into `state`: `srcBytes` (0..bytes) bytes are read
// from src, the rest of dst is zero-filled, all when the copy lands. dst must lie in shared
// memory, src must not, both aligned to `bytes`. Returns "" or what is wrong (nothing is issued).
std::string cpAsyncIssue(CpAsyncState& state, void* dst, const void* src, int bytes, int srcBytes,
                         SharedCheck inShared);
// cp.async.commit_group: the copies issued since the last commit form a group (possibly empty).
void cpAsyncCommitGroup(CpAsyncState& state);
// cp.async.wait_group n: every committed group but the n most recent lands, oldest first.
// Copies not committed yet stay pending.
void cpAsyncWaitGroup(CpAsyncState& state, int n);
// cp.async.wait_all (= commit_group; wait_group 0): every pending copy lands.
void cpAsyncWaitAll(CpAsyncState& state);

// ---- warp-wide operations (.sync.aligned: all 32 lanes, same instruction) ----------------------

// "" when every lane of the warp has a slot (slots[lane] != nullptr), else which are missing.
std::string checkFullWarp(const void* const* slots);

// ldmatrix.sync.aligned.m8n8.x{num}{.trans}.shared.b16. in[l].row is lane l's address operand:
// lanes 0..8*num-1 supply, in order, rows 0..7 of matrix 0, 1, ... (each 8 contiguous 16-bit
// elements, 16-byte aligned, in shared memory); the other lanes' addresses are ignored. Lane
// l = 4g + t receives in out[l][i] (i < num; the rest are set to 0) row g, columns 2t and 2t+1
// of matrix i, the lower column in the low half; with .trans the matrix is read column-major:
// rows 2t and 2t+1 of column g as stored. Returns "" or what is wrong (out is then undefined).
struct LdmatrixLane {
  const void* row;
};
std::string ldmatrixWarp(int num, bool trans, const LdmatrixLane in[kWarpSize], uint32_t out[kWarpSize][4],
                         SharedCheck inShared);

// mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32: D = A * B + C, A 16x16,
// B 16x8, C and D 16x8 float32, lane l = 4g + t holding (PTX ISA, fragments for m16n8k16 with
// floating point type; two 16-bit elements per register, the lower-numbered in the low half)
//   a[0] = A(g, 2t..2t+1)  a[1] = A(g+8, 2t..2t+1)  a[2] = A(g, 2t+8..2t+9)  a[3] = A(g+8, 2t+8..2t+9)
//   b[0] = B(2t..2t+1, g)  b[1] = B(2t+8..2t+9, g)
//   c[i], d[l][i] = C, D(g + 8 * (i / 2), 2t + i % 2)
// Arithmetic: the operands are decoded exactly; each product A(m,k) * B(k,n) is exact, then
// rounded to float32 (a no-op for float16; for bfloat16 only products beyond float32's range,
// over 2^128 or under 2^-126, round); D(m,n) = (...((C(m,n) + p_0) + p_1) + ... + p_15) with
// p_k = A(m,k) * B(k,n), k ascending, every addition a float32 addition rounded to nearest even.
// No denormal flushing; IEEE rules for infinities, NaN and signed zeros.
struct MmaLane {
  uint32_t a[4];
  uint32_t b[2];
  float c[4];
};
template <MmaType T>
void mmaWarp(const MmaLane in[kWarpSize], float d[kWarpSize][4]);

// ---- ex2.approx.ftz.f32 -------------------------------------------------------------------------

// 2^x: subnormal inputs count as (signed) zero, subnormal results are flushed to +0;
// 2^±0 = 1, 2^-inf = +0, 2^+inf = +inf, NaN -> NaN; large inputs overflow to +inf. Works on the
// bits, so that it holds under -ffast-math too.
inline float ex2ApproxFtz(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const uint32_t exponent = (bits >> 23) & 0xffu, mantissa = bits & 0x7fffffu;
  if (exponent == 0xff && mantissa != 0) return x;  // NaN
  if (exponent == 0) return 1.0f;                     // ±0 and the flushed subnormals
  if (exponent == 0xff) return (bits >> 31) ? 0.0f : x;
  const float y = static_cast<float>(std::exp2(static_cast<double>(x)));
  uint32_t yBits;
  std::memcpy(&yBits, &y, sizeof yBits);
  return ((yBits >> 23) & 0xffu) == 0 ? 0.0f : y;  // subnormal result -> +0
}

}  // namespace sa::emu::ptx

// The functions of cuda/ptx.cuh, for one emulated CUDA thread.
namespace sa::cuda::ptx {

namespace detail {

constexpr const char* ldmatrixName(int num, bool trans) {
  return num == 1   ? (trans ? "ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16" : "ldmatrix.sync.aligned.m8n8.x1.shared.b16")
         : num == 2 ? (trans ? "ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16" : "ldmatrix.sync.aligned.m8n8.x2.shared.b16")
                    : (trans ? "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16" : "ldmatrix.sync.aligned.m8n8.x4.shared.b16");
}

template <emu::ptx::MmaType T>
constexpr const char* mmaName() {
  return T == emu::ptx::MmaType::F16 ? "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"
                                     : "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32";
}

template <int Num, bool Trans>
inline void ldmatrix(uint32_t* r, const void* row) {
  struct Slot {
    const void* row;
    uint32_t r[4];
  };
  Slot slot{row, {}};
  emu::warpSync(emu::ptx::kFullMask, ldmatrixName(Num, Trans), &slot, [](void* const* slots) {
    std::string error = emu::ptx::checkFullWarp(slots);
    emu::ptx::LdmatrixLane in[emu::kWarpSize];
    uint32_t out[emu::kWarpSize][4];
    if (error.empty()) {
      for (int lane = 0; lane < emu::kWarpSize; ++lane) in[lane].row = static_cast<const Slot*>(slots[lane])->row;
      error = emu::ptx::ldmatrixWarp(Num, Trans, in, out, &emu::inSharedMemory);
    }
    if (!error.empty()) emu::fail(std::string(ldmatrixName(Num, Trans)) + ": " + error);
    for (int lane = 0; lane < emu::kWarpSize; ++lane)
      std::memcpy(static_cast<Slot*>(slots[lane])->r, out[lane], sizeof out[lane]);
  });
  for (int i = 0; i < Num; ++i) r[i] = slot.r[i];
}

template <emu::ptx::MmaType T>
inline void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  struct Slot {
    emu::ptx::MmaLane in;
    float d[4];
  };
  Slot slot{{{a[0], a[1], a[2], a[3]}, {b0, b1}, {d[0], d[1], d[2], d[3]}}, {}};
  emu::warpSync(emu::ptx::kFullMask, mmaName<T>(), &slot, [](void* const* slots) {
    const std::string error = emu::ptx::checkFullWarp(slots);
    if (!error.empty()) emu::fail(std::string(mmaName<T>()) + ": " + error);
    emu::ptx::MmaLane in[emu::kWarpSize];
    float out[emu::kWarpSize][4];
    for (int lane = 0; lane < emu::kWarpSize; ++lane) in[lane] = static_cast<const Slot*>(slots[lane])->in;
    emu::ptx::mmaWarp<T>(in, out);
    for (int lane = 0; lane < emu::kWarpSize; ++lane)
      std::memcpy(static_cast<Slot*>(slots[lane])->d, out[lane], sizeof out[lane]);
  });
  for (int i = 0; i < 4; ++i) d[i] = slot.d[i];
}

}  // namespace detail

inline void cpAsync16(void* smemDst, const void* gmemSrc, int srcBytes) {
  const std::string error =
      emu::ptx::cpAsyncIssue(emu::self().cpAsync, smemDst, gmemSrc, 16, srcBytes, &emu::inSharedMemory);
  if (!error.empty()) emu::fail("cp.async.cg.shared.global: " + error);
}
inline void cpAsyncCommit() { emu::ptx::cpAsyncCommitGroup(emu::self().cpAsync); }
template <int N>
inline void cpAsyncWait() {
  static_assert(N >= 0, "cp.async.wait_group takes a non-negative group count");
  emu::ptx::cpAsyncWaitGroup(emu::self().cpAsync, N);
}
inline void cpAsyncWaitAll() { emu::ptx::cpAsyncWaitAll(emu::self().cpAsync); }

inline void ldmatrixX1(uint32_t& r, const void* smemRow) { detail::ldmatrix<1, false>(&r, smemRow); }
inline void ldmatrixX2(uint32_t (&r)[2], const void* smemRow) { detail::ldmatrix<2, false>(r, smemRow); }
inline void ldmatrixX4(uint32_t (&r)[4], const void* smemRow) { detail::ldmatrix<4, false>(r, smemRow); }
inline void ldmatrixX1Trans(uint32_t& r, const void* smemRow) { detail::ldmatrix<1, true>(&r, smemRow); }
inline void ldmatrixX2Trans(uint32_t (&r)[2], const void* smemRow) { detail::ldmatrix<2, true>(r, smemRow); }
inline void ldmatrixX4Trans(uint32_t (&r)[4], const void* smemRow) { detail::ldmatrix<4, true>(r, smemRow); }

inline void mmaM16N8K16F16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  detail::mma<emu::ptx::MmaType::F16>(d, a, b0, b1);
}
inline void mmaM16N8K16Bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  detail::mma<emu::ptx::MmaType::BF16>(d, a, b0, b1);
}

inline float ex2Approx(float x) { return emu::ptx::ex2ApproxFtz(x); }

}  // namespace sa::cuda::ptx
