// Every inline PTX statement of the CUDA kernels, each behind a small function: 16-byte
// asynchronous copies global -> shared and their commit groups, ldmatrix, mma.sync.m16n8k16 with
// float16 or bfloat16 operands and float32 accumulators, and ex2.approx.ftz.f32. nvcc compiles the
// asm below; the emulation build (the same sources compiled as C++) gets the same functions, with
// the PTX ISA's semantics, from cuda/emulator/ptx.h. No asm statement belongs anywhere else.
//
//   cpAsync16(smemDst, gmemSrc, srcBytes)  cp.async.cg.shared.global [dst], [src], 16, srcBytes
//                                          (srcBytes 0..16 read, the rest of the 16 zero-filled)
//   cpAsyncCommit()                        cp.async.commit_group
//   cpAsyncWait<N>()                       cp.async.wait_group N: all but the N most recent
//                                          committed groups of this thread have landed
//   cpAsyncWaitAll()                       cp.async.wait_all: every copy issued so far has landed
//   ldmatrixX1/X2/X4[Trans](r, smemRow)    ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16
//                                          (lanes 0-7 / 0-15 / 0-31 supply the row addresses)
//   mmaM16N8K16F16(d, a, b0, b1)           mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32, d += a*b
//   mmaM16N8K16Bf16(d, a, b0, b1)          mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
//   ex2Approx(x)                           ex2.approx.ftz.f32
//
// Shared-memory operands are generic pointers into the block's shared memory (the conversion to
// a shared-window address is done here).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

// Whether the sm_80 code paths (cp.async, ldmatrix, bfloat16 mma.sync) are compiled: `#if
// SA_CUDA_SM80_CODE` around a kernel body. Under nvcc only in the device passes for sm_80 and
// newer; the host pass (no __CUDA_ARCH__) and older targets keep an empty body. Always in the
// emulation build.
#if defined(__CUDACC__)
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define SA_CUDA_SM80_CODE 1
#else
#define SA_CUDA_SM80_CODE 0
#endif
#else
#define SA_CUDA_SM80_CODE 1
#endif

#if defined(__CUDACC__)

namespace sa::cuda::ptx {

__device__ __forceinline__ uint32_t sharedAddress(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void cpAsync16(void* smemDst, const void* gmemSrc, int srcBytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(sharedAddress(smemDst)), "l"(gmemSrc),
               "r"(srcBytes));
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cpAsyncWait() {
  static_assert(N >= 0, "cp.async.wait_group takes a non-negative group count");
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}
__device__ __forceinline__ void cpAsyncWaitAll() { asm volatile("cp.async.wait_all;\n" ::); }

__device__ __forceinline__ void ldmatrixX1(uint32_t& r, const void* smemRow) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n" : "=r"(r) : "r"(sharedAddress(smemRow)));
}
__device__ __forceinline__ void ldmatrixX2(uint32_t (&r)[2], const void* smemRow) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(sharedAddress(smemRow)));
}
__device__ __forceinline__ void ldmatrixX4(uint32_t (&r)[4], const void* smemRow) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(sharedAddress(smemRow)));
}
__device__ __forceinline__ void ldmatrixX1Trans(uint32_t& r, const void* smemRow) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n"
               : "=r"(r)
               : "r"(sharedAddress(smemRow)));
}
__device__ __forceinline__ void ldmatrixX2Trans(uint32_t (&r)[2], const void* smemRow) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(sharedAddress(smemRow)));
}
__device__ __forceinline__ void ldmatrixX4Trans(uint32_t (&r)[4], const void* smemRow) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(sharedAddress(smemRow)));
}

__device__ __forceinline__ void mmaM16N8K16F16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mmaM16N8K16Bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ float ex2Approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

}  // namespace sa::cuda::ptx

#else
#include "cuda/emulator/ptx.h"
#endif
