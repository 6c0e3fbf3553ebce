// CUDA's device built-ins for the emulated device: the block barrier and its reductions, warp
// shuffles and votes as real rendezvous of the lanes in their mask, atomics, and the math
// and bit-cast functions the kernels use. Atomics need no locking: the threads of the device
// run one at a time and a thread is never interrupted between two synchronisation points.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cuda/emulator/block.h"
#include "cuda/emulator/thread.h"

// ---- Barriers ----------------------------------------------------------------------------

inline void __syncthreads() { ::sa::emu::blockBarrier(0, "__syncthreads"); }
inline int __syncthreads_count(int predicate) { return ::sa::emu::blockBarrier(predicate, "__syncthreads_count"); }
inline int __syncthreads_or(int predicate) { return ::sa::emu::blockBarrier(predicate, "__syncthreads_or") > 0; }
inline int __syncthreads_and(int predicate) {
  return ::sa::emu::blockBarrier(predicate, "__syncthreads_and") == ::sa::emu::blockThreads();
}

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::sa::emu::warpSync(mask, "__syncwarp", nullptr, [](void* const*) {});
}

// ---- Shuffles and votes ------------------------------------------------------------------

namespace sa::emu {

// Lane l of a shuffle of `width` lanes reads the value of another lane of its segment of the
// warp (cuda/emulator/warp.cc): Index reads lane `arg` of the segment, Xor lane l ^ arg, Up
// lane l - arg, Down lane l + arg; a source outside the segment reads the lane's own value.
enum class ShuffleKind { Index, Xor, Up, Down };
uint64_t shuffle(unsigned mask, uint64_t bits, const char* op, ShuffleKind kind, int arg, int width);
unsigned ballot(unsigned mask, int predicate, const char* op);

template <typename T>
T shuffleValue(unsigned mask, T value, const char* op, ShuffleKind kind, int arg, int width) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffles move 32- or 64-bit values");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = shuffle(mask, bits, op, kind, arg, width);
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

}  // namespace sa::emu

template <typename T>
T __shfl_sync(unsigned mask, T value, int srcLane, int width = 32) {
  return ::sa::emu::shuffleValue(mask, value, "__shfl_sync", ::sa::emu::ShuffleKind::Index, srcLane, width);
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int laneMask, int width = 32) {
  return ::sa::emu::shuffleValue(mask, value, "__shfl_xor_sync", ::sa::emu::ShuffleKind::Xor, laneMask, width);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  return ::sa::emu::shuffleValue(mask, value, "__shfl_up_sync", ::sa::emu::ShuffleKind::Up, int(delta), width);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  return ::sa::emu::shuffleValue(mask, value, "__shfl_down_sync", ::sa::emu::ShuffleKind::Down, int(delta), width);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return ::sa::emu::ballot(mask, predicate, "__ballot_sync") & mask;
}
inline int __any_sync(unsigned mask, int predicate) { return ::sa::emu::ballot(mask, predicate, "__any_sync") != 0; }
inline int __all_sync(unsigned mask, int predicate) {
  return (::sa::emu::ballot(mask, predicate, "__all_sync") & mask) == mask;
}

// ---- Atomics (global and shared memory alike) -----------------------------------------------

namespace sa::emu {
// Replaces *address by update(*address) and returns the old value, as CUDA's atomics do.
template <typename T, typename Update>
T atomicUpdate(T* address, Update update) {
  const T old = *address;
  *address = update(old);
  return old;
}
}  // namespace sa::emu

template <typename T>
T atomicExch(T* a, T v) { return ::sa::emu::atomicUpdate(a, [v](T) { return v; }); }
template <typename T>
T atomicAdd(T* a, T v) { return ::sa::emu::atomicUpdate(a, [v](T old) { return T(old + v); }); }
template <typename T>
T atomicSub(T* a, T v) { return ::sa::emu::atomicUpdate(a, [v](T old) { return T(old - v); }); }
template <typename T>
T atomicMax(T* a, T v) { return ::sa::emu::atomicUpdate(a, [v](T old) { return std::max(old, v); }); }
template <typename T>
T atomicMin(T* a, T v) { return ::sa::emu::atomicUpdate(a, [v](T old) { return std::min(old, v); }); }
template <typename T>
T atomicOr(T* a, T v) { return ::sa::emu::atomicUpdate(a, [v](T old) { return T(old | v); }); }
template <typename T>
T atomicAnd(T* a, T v) { return ::sa::emu::atomicUpdate(a, [v](T old) { return T(old & v); }); }
template <typename T>
T atomicCAS(T* a, T compare, T v) {
  return ::sa::emu::atomicUpdate(a, [compare, v](T old) { return old == compare ? v : old; });
}

// ---- Math and bit casts ----------------------------------------------------------------------

// CUDA's min and max are overloaded for every arithmetic type pair the kernels mix.
template <typename A, typename B>
inline std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(a) : C(b);
}
template <typename A, typename B>
inline std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(b) : C(a);
}

inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float __int_as_float(int i) { return __uint_as_float(unsigned(i)); }
inline int __float_as_int(float f) { return int(__float_as_uint(f)); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x != x ? 0.0f : std::min(1.0f, std::max(0.0f, x)); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __clz(unsigned x) { return x ? __builtin_clz(x) : 32; }
inline int __ffs(unsigned x) { return __builtin_ffs(int(x)); }
template <typename T>
inline T __ldg(const T* p) {
  return *p;
}
