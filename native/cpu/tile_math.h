// Tile-level math shared by the CPU attention kernels (dense, banded, LSH-chunked).
//
// Every kernel walks its attention pattern in tiles: S = Q_tile · K_tile^T, a row-wise
// softmax with a running maximum, then O_tile += P · V_tile. These routines are the
// inner loops of that walk, tuned for tiles that sit in L1/L2.
//
// Conventions for every function below:
//  * Matrices are row-major float32; `ldX` is the distance in floats between the starts of
//    consecutive rows of X and must be >= the row width. No alignment is assumed for any
//    pointer or leading dimension.
//  * Sizes may be any value >= 0 (0 is a no-op except where noted); there is no upper bound,
//    the sizes attention uses are m <= 128, n <= 1024, k (head dim or key count) <= 1024.
//  * The output must not overlap the inputs.
//  * Accumulation is float32 (FMA where the CPU has it); no reduced-precision shortcuts.
//  * Thread-safe and re-entrant: no global or thread_local state, no heap allocation.
//    The only scratch is one stack buffer of at most 16 KiB (128 × 32 floats) whatever the
//    sizes, in gemmNT (a transposed strip of B) and, on AVX2-only builds, gemmNN (a copied
//    strip of B); the other functions use none.
//
// The implementation picks AVX-512F, AVX2+FMA or portable code at compile time from the
// flags it is built with: the build compiles one copy per instruction set and chooses one at
// load (cpu_kernels.h).
#pragma once

namespace sa::cpu {

// C[m×n] = A[m×k] · B[n×k]^T  (scores = Q · K^T).
//   A: m rows of k floats, row stride lda >= k   (queries, one row per query)
//   B: n rows of k floats, row stride ldb >= k   (keys, one row per key)
//   C: m rows of n floats, row stride ldc >= n   (overwritten; with k == 0 it is zeroed)
void gemmNT(int m, int n, int k, const float* A, int lda, const float* B, int ldb, float* C,
            int ldc);

// C[m×n] += A[m×k] · B[k×n]  (output += P · V).
//   A: m rows of k floats, row stride lda >= k   (probabilities, one row per query)
//   B: k rows of n floats, row stride ldb >= n   (values, one row per key)
//   C: m rows of n floats, row stride ldc >= n   (accumulated into, not cleared)
void gemmNN(int m, int n, int k, const float* A, int lda, const float* B, int ldb, float* C,
            int ldc);

// max(x[0..n)); -inf when n == 0. If x holds a NaN the result is unspecified
// (a NaN or the maximum of some of the other elements).
float rowMax(const float* x, int n);

// x[i] = exp(x[i] - shift) for i in [0, n), in place; returns the float32 sum of the new x.
// The exponential is within 2 ulp of std::exp for every float32 argument (at most 1 ulp
// over all 2^32 inputs on the AVX-512 and AVX2 paths; the fallback calls std::exp). It
// gives exactly 0 for arguments below about -103.97 (including -inf), exactly 1 for ±0,
// +inf above about 88.72, and NaN for NaN. The subtraction x[i] - shift is done in float32 first, so a fully
// masked row (x[i] == shift == -inf) yields NaN; callers skip such rows.
float expSumShifted(float* x, int n, float shift);

// x[i] *= s for i in [0, n).
void scaleRow(float* x, int n, float s);

// y[i] += a · x[i] for i in [0, n). x and y must not overlap.
void axpyRow(float* y, const float* x, int n, float a);

}  // namespace sa::cpu
