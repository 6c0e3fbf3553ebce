// The PTX semantics of the emulated device: cp.async groups, ldmatrix and mma.sync.m16n8k16 as
// plain functions (cuda/emulator/ptx.h says what each does and which choices it makes).
#include "cuda/emulator/ptx.h"

#include <cstdarg>
#include <cstdio>

#if defined(__FAST_MATH__)
#error "cuda/emulator/ptx.cc needs IEEE float arithmetic: mma's summation order is part of its contract"
#endif

namespace sa::emu::ptx {

namespace {

std::string format(const char* fmt, ...) {
  char buffer[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buffer, sizeof buffer, fmt, args);
  va_end(args);
  return buffer;
}

bool aligned(const void* p, int bytes) { return reinterpret_cast<uintptr_t>(p) % uintptr_t(bytes) == 0; }

// Lands the copies of the oldest `groups` committed groups, in issue order.
void landGroups(CpAsyncState& state, size_t groups) {
  if (groups == 0) return;
  const size_t copies = state.groupEnds[groups - 1];
  for (size_t i = 0; i < copies; ++i) {
    const CpAsyncCopy& c = state.pending[i];
    auto* dst = static_cast<unsigned char*>(c.dst);
    if (c.srcBytes > 0) std::memcpy(dst, c.src, size_t(c.srcBytes));
    std::memset(dst + c.srcBytes, 0, size_t(c.bytes - c.srcBytes));
  }
  state.pending.erase(state.pending.begin(), state.pending.begin() + std::ptrdiff_t(copies));
  state.groupEnds.erase(state.groupEnds.begin(), state.groupEnds.begin() + std::ptrdiff_t(groups));
  for (size_t& end : state.groupEnds) end -= copies;
}

template <MmaType T>
float decode(uint32_t bits16) {
  return T == MmaType::F16 ? decodeF16(uint16_t(bits16)) : decodeBf16(uint16_t(bits16));
}

}  // namespace

std::string cpAsyncIssue(CpAsyncState& state, void* dst, const void* src, int bytes, int srcBytes,
                         SharedCheck inShared) {
  if (bytes != 4 && bytes != 8 && bytes != 16) return format("copy size %d is not 4, 8 or 16", bytes);
  if (srcBytes < 0 || srcBytes > bytes)
    return format("source size %d is outside 0..%d (the copy size)", srcBytes, bytes);
  if (!aligned(dst, bytes)) return format("shared destination %p is not %d-byte aligned", dst, bytes);
  if (!aligned(src, bytes)) return format("global source %p is not %d-byte aligned", src, bytes);
  if (!inShared(dst, size_t(bytes)))
    return format("destination [%p, +%d) is not in the block's shared memory", dst, bytes);
  if (src == nullptr && srcBytes > 0) return format("null source with source size %d", srcBytes);
  if (src != nullptr && inShared(src, 1))
    return format("source %p is in shared memory; cp.async copies from global memory", src);
  state.pending.push_back(CpAsyncCopy{dst, src, bytes, srcBytes});
  return {};
}

void cpAsyncCommitGroup(CpAsyncState& state) { state.groupEnds.push_back(state.pending.size()); }

void cpAsyncWaitGroup(CpAsyncState& state, int n) {
  const size_t groups = state.groupEnds.size();
  if (n < 0) n = 0;
  if (groups > size_t(n)) landGroups(state, groups - size_t(n));
}

void cpAsyncWaitAll(CpAsyncState& state) {
  cpAsyncCommitGroup(state);
  cpAsyncWaitGroup(state, 0);
}

std::string checkFullWarp(const void* const* slots) {
  std::string missing;
  for (int lane = 0; lane < kWarpSize; ++lane)
    if (slots[lane] == nullptr) missing += (missing.empty() ? "" : ", ") + std::to_string(lane);
  if (missing.empty()) return {};
  return "lane(s) " + missing + " of the warp did not take part; .sync.aligned needs all 32 lanes";
}

std::string ldmatrixWarp(int num, bool trans, const LdmatrixLane in[kWarpSize], uint32_t out[kWarpSize][4],
                         SharedCheck inShared) {
  if (num != 1 && num != 2 && num != 4) return format("%d matrices: .num is .x1, .x2 or .x4", num);
  uint16_t m[4][8][8];  // [matrix][row as addressed][element]
  for (int i = 0; i < num; ++i)
    for (int row = 0; row < 8; ++row) {
      const int lane = 8 * i + row;
      const void* p = in[lane].row;
      if (!aligned(p, 16))
        return format("lane %d gives row %d of matrix %d at %p, not 16-byte aligned", lane, row, i, p);
      if (!inShared(p, 16))
        return format("lane %d gives row %d of matrix %d at [%p, +16), not in the block's shared memory", lane, row,
                      i, p);
      std::memcpy(m[i][row], p, 16);
    }
  for (int lane = 0; lane < kWarpSize; ++lane) {
    const int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; ++i) {
      if (i >= num) {
        out[lane][i] = 0;
        continue;
      }
      const uint32_t lo = trans ? m[i][2 * t][g] : m[i][g][2 * t];
      const uint32_t hi = trans ? m[i][2 * t + 1][g] : m[i][g][2 * t + 1];
      out[lane][i] = lo | (hi << 16);
    }
  }
  return {};
}

template <MmaType T>
void mmaWarp(const MmaLane in[kWarpSize], float d[kWarpSize][4]) {
  float a[16][16], b[16][8], c[16][8];
  for (int lane = 0; lane < kWarpSize; ++lane) {
    const int g = lane >> 2, t = lane & 3;
    const MmaLane& l = in[lane];
    for (int r = 0; r < 4; ++r) {  // register r: row g (+8 for r odd), columns 2t, 2t+1 (+8 for r >= 2)
      const int row = g + 8 * (r & 1), col = 2 * t + 8 * (r >> 1);
      a[row][col] = decode<T>(l.a[r] & 0xffffu);
      a[row][col + 1] = decode<T>(l.a[r] >> 16);
    }
    for (int r = 0; r < 2; ++r) {  // register r: k = 2t, 2t+1 (+8 for r = 1), column g
      const int k = 2 * t + 8 * r;
      b[k][g] = decode<T>(l.b[r] & 0xffffu);
      b[k + 1][g] = decode<T>(l.b[r] >> 16);
    }
    for (int i = 0; i < 4; ++i) c[g + 8 * (i >> 1)][2 * t + (i & 1)] = l.c[i];
  }
  float result[16][8];
  for (int row = 0; row < 16; ++row)
    for (int col = 0; col < 8; ++col) {
      float acc = c[row][col];
      for (int k = 0; k < 16; ++k) {
        // The product is exact in double; converting it to float is its only rounding, and the
        // conversion keeps the compiler from fusing it with the addition.
        const float product = static_cast<float>(static_cast<double>(a[row][k]) * static_cast<double>(b[k][col]));
        acc = acc + product;
      }
      result[row][col] = acc;
    }
  for (int lane = 0; lane < kWarpSize; ++lane) {
    const int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; ++i) d[lane][i] = result[g + 8 * (i >> 1)][2 * t + (i & 1)];
  }
}

template void mmaWarp<MmaType::F16>(const MmaLane in[kWarpSize], float d[kWarpSize][4]);
template void mmaWarp<MmaType::BF16>(const MmaLane in[kWarpSize], float d[kWarpSize][4]);

}  // namespace sa::emu::ptx
