// Tile math for the CPU attention kernels; see tile_math.h for the contract.
//
// Layout of this file:
//   1. `Simd`: a thin wrapper over one instruction set (AVX-512F or AVX2+FMA) so that the
//      matrix and row code below is written once for both.
//   2. Register-blocked GEMM: a micro-kernel that keeps an R×(V·lanes) block of C in
//      registers, broadcasting one element of A per row and FMA-ing whole rows of B.
//      gemmNN reads B rows in place (AVX2 builds copy each strip first); gemmNT first
//      transposes a strip of B (the keys) into a small stack buffer so the same micro-kernel
//      applies.
//   3. Vectorised row helpers, including an exp accurate to 2 ulp.
//   4. A portable fallback for compilers/targets without those instruction sets.
#include "tile_math.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
// GCC 12's intrinsic headers trip -Wmaybe-uninitialized on their own `__m512 __Y = __Y;`
// placeholders (GCC bug 105593); the warnings point into the header, so silence them there.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#define SA_TILE_SIMD 1
#else
#define SA_TILE_SIMD 0
#endif

// The micro-kernel's row/vector loops must be fully unrolled for its accumulators to be
// registers rather than an array in memory.
#if defined(__clang__)
#define SA_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define SA_UNROLL _Pragma("GCC unroll 16")
#else
#define SA_UNROLL
#endif

namespace sa::cpu {
namespace {

// Offset of row `row` in a matrix with leading dimension `ld`, computed in size_t so that
// large strides cannot overflow int arithmetic.
inline std::ptrdiff_t rowOffset(int row, int ld) {
  return static_cast<std::ptrdiff_t>(row) * static_cast<std::ptrdiff_t>(ld);
}

}  // namespace

#if SA_TILE_SIMD
namespace {

#if defined(__AVX512F__)
// AVX-512F: 16 lanes, 32 vector registers, native masking and vscalefps.
struct Simd {
  using Vec = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  // 8 rows × 2 vectors = 16 accumulators + 2 B vectors + 1 broadcast: fits the 32 registers
  // with room to spare, and 8 broadcasts per 2 loads keeps the load ports under the FMA rate.
  static constexpr int kRows = 8;
  // gemmNN streams B in place: copying its strips to a contiguous buffer was measured
  // slower on every benchmark shape, row strides of 2 and 4 KiB included (Zen 4).
  static constexpr bool kCopyStripsOfB = false;

  static Mask firstLanes(int count) {
    if (count >= kLanes) return static_cast<Mask>(0xFFFF);
    if (count <= 0) return 0;
    return static_cast<Mask>((1u << count) - 1u);
  }
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec set1(float v) { return _mm512_set1_ps(v); }
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  // Masked-off lanes read as 0 and are never touched in memory (no fault past the end).
  static Vec loadMasked(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static Vec loadMaskedOr(const float* p, Mask m, Vec fill) {
    return _mm512_mask_loadu_ps(fill, m, p);
  }
  static void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static void storeMasked(float* p, Mask m, Vec v) { _mm512_mask_storeu_ps(p, m, v); }
  static Vec keep(Mask m, Vec v) { return _mm512_maskz_mov_ps(m, v); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  // x86 max/min return the second operand when either is NaN; callers rely on that order.
  static Vec max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
  static Vec min(Vec a, Vec b) { return _mm512_min_ps(a, b); }
  static float reduceAdd(Vec v) { return _mm512_reduce_add_ps(v); }
  static float reduceMax(Vec v) { return _mm512_reduce_max_ps(v); }
  static Vec roundNearest(Vec v) {
    return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // p · 2^n for integral n in [-150, 128], with a single rounding (denormals included).
  static Vec scaleByPow2(Vec p, Vec n) { return _mm512_scalef_ps(p, n); }

  // In-register transpose of a 16×16 block: r[i][j] becomes r[j][i].
  static void transpose(Vec r[kLanes]) {
    Vec t[kLanes];
    // Interleave row pairs: within each 128-bit lane, (r0[a], r1[a], r0[a+1], r1[a+1]).
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // Interleave 64-bit pairs: u[4q + c] holds, in lane L, column 4L + c of rows 4q..4q+3.
    Vec u[kLanes];
    for (int q = 0; q < 4; ++q) {
      const __m512d a = _mm512_castps_pd(t[4 * q]), b = _mm512_castps_pd(t[4 * q + 2]);
      const __m512d c = _mm512_castps_pd(t[4 * q + 1]), d = _mm512_castps_pd(t[4 * q + 3]);
      u[4 * q + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
      u[4 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
      u[4 * q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
      u[4 * q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    // Gather lane L of the four row groups: output row 4L + c.
    for (int c = 0; c < 4; ++c) {
      const Vec even01 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
      const Vec even23 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
      const Vec odd01 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
      const Vec odd23 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
      r[0 + c] = _mm512_shuffle_f32x4(even01, even23, 0x88);
      r[8 + c] = _mm512_shuffle_f32x4(even01, even23, 0xDD);
      r[4 + c] = _mm512_shuffle_f32x4(odd01, odd23, 0x88);
      r[12 + c] = _mm512_shuffle_f32x4(odd01, odd23, 0xDD);
    }
  }
};
#else
// AVX2 + FMA: 8 lanes, 16 vector registers, masks are all-ones/all-zeros integer lanes.
struct Simd {
  using Vec = __m256;
  using Mask = __m256i;
  static constexpr int kLanes = 8;
  // 6 rows × 2 vectors = 12 accumulators + 2 B vectors + 1 broadcast = 15 of 16 registers.
  static constexpr int kRows = 6;
  // gemmNN copies each B strip that several row blocks reuse: streaming B rows whose stride
  // is a multiple of 2-4 KiB (multi-head layouts) lost up to a third of the throughput, and
  // the copy won or tied on every benchmark shape (Zen 4 running this path).
  static constexpr bool kCopyStripsOfB = true;

  static Mask firstLanes(int count) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), lane);
  }
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec set1(float v) { return _mm256_set1_ps(v); }
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  // vmaskmovps reads as 0 and does not fault on masked-off lanes.
  static Vec loadMasked(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static Vec loadMaskedOr(const float* p, Mask m, Vec fill) {
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static void storeMasked(float* p, Mask m, Vec v) { _mm256_maskstore_ps(p, m, v); }
  static Vec keep(Mask m, Vec v) { return _mm256_and_ps(_mm256_castsi256_ps(m), v); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  // x86 max/min return the second operand when either is NaN; callers rely on that order.
  static Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
  static Vec min(Vec a, Vec b) { return _mm256_min_ps(a, b); }
  static float reduceAdd(Vec v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float reduceMax(Vec v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static Vec roundNearest(Vec v) {
    return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // p · 2^n for integral n in [-150, 128] with a single rounding. 2^n itself may not be a
  // normal float, so scale by 2^(n/2) (exact: p · 2^(n/2) stays normal) then by the rest.
  static Vec scaleByPow2(Vec p, Vec n) {
    const __m256i e = _mm256_cvtps_epi32(n);
    const __m256i e1 = _mm256_srai_epi32(e, 1);
    const __m256i e2 = _mm256_sub_epi32(e, e1);
    const __m256i bias = _mm256_set1_epi32(127);
    const Vec s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e1, bias), 23));
    const Vec s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  }

  // In-register transpose of an 8×8 block: r[i][j] becomes r[j][i].
  static void transpose(Vec r[kLanes]) {
    Vec t[kLanes], s[kLanes];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // s[4h + c] holds column c (low half) and column 4 + c (high half) of rows 4h..4h+3.
    for (int h = 0; h < 2; ++h) {
      s[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(1, 0, 1, 0));
      s[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(3, 2, 3, 2));
      s[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(1, 0, 1, 0));
      s[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int c = 0; c < 4; ++c) {
      r[c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x20);
      r[4 + c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x31);
    }
  }
};
#endif

using Vec = Simd::Vec;
using Mask = Simd::Mask;
constexpr int kLanes = Simd::kLanes;

// ---------------------------------------------------------------------------------------
// Register-blocked GEMM.

// A strip of C at most kPanel columns wide is produced per pass over the depth.
constexpr int kPanel = 2 * kLanes;
// Depth of one gemmNT pass. 128 keeps the packed key strip (128 × 32 floats = 16 KiB on
// AVX-512) in half of L1 next to the A rows being streamed; deeper products take more passes.
constexpr int kDepthBlock = 128;

// One micro-kernel call: C[R×(V·lanes)] (= or +=) A[R×depth] · P[depth×(V·lanes)].
// P is either B itself (gemmNN) or the transposed key strip (gemmNT).
struct Tile {
  int depth;
  const float* a;  // first row of A, already offset to the depth block
  int lda;
  const float* p;  // first row of P, already offset to the column strip and depth block
  int ldp;
  float* c;  // first element of the C block
  int ldc;
  bool accumulate;  // C += (true) or C = (false)
  Mask mask0;       // valid columns of the first vector (edge strips only)
  Mask mask1;       // valid columns of the second vector (edge strips only)
};

// Loads/stores vector `v` of a row of P or C; edge strips mask off the missing columns.
template <bool kEdge>
inline Vec loadCols(const float* p, int v, const Tile& t) {
  if constexpr (kEdge) return Simd::loadMasked(p, v == 0 ? t.mask0 : t.mask1);
  return Simd::load(p);
}

template <bool kEdge>
inline void storeCols(float* c, int v, Vec value, const Tile& t) {
  if constexpr (kEdge) {
    Simd::storeMasked(c, v == 0 ? t.mask0 : t.mask1, value);
  } else {
    Simd::store(c, value);
  }
}

// The accumulators live in registers for the whole depth loop: R·V vectors, each updated by
// one FMA per depth step, fed by V loads of P and R broadcasts of A.
template <int R, int V, bool kEdge>
void microKernel(const Tile& tile) {
  // A local copy: C stores cannot alias it, so its fields stay in registers.
  const Tile t = tile;
  Vec acc[R][V];
  SA_UNROLL
  for (int r = 0; r < R; ++r) {
    SA_UNROLL
    for (int v = 0; v < V; ++v) {
      acc[r][v] = t.accumulate ? loadCols<kEdge>(t.c + rowOffset(r, t.ldc) + v * kLanes, v, t)
                               : Simd::zero();
    }
  }
  const float* p = t.p;
  const float* a = t.a;
  for (int kk = 0; kk < t.depth; ++kk, p += t.ldp, ++a) {
    Vec b[V];
    SA_UNROLL
    for (int v = 0; v < V; ++v) b[v] = loadCols<kEdge>(p + v * kLanes, v, t);
    SA_UNROLL
    for (int r = 0; r < R; ++r) {
      const Vec ar = Simd::set1(a[rowOffset(r, t.lda)]);
      SA_UNROLL
      for (int v = 0; v < V; ++v) acc[r][v] = Simd::fma(ar, b[v], acc[r][v]);
    }
  }
  SA_UNROLL
  for (int r = 0; r < R; ++r) {
    SA_UNROLL
    for (int v = 0; v < V; ++v) {
      storeCols<kEdge>(t.c + rowOffset(r, t.ldc) + v * kLanes, v, acc[r][v], t);
    }
  }
}

// Runs the micro-kernel for the last `rows` (< kRows) rows of a strip; the row count must be
// a compile-time constant for the accumulators to stay in registers.
template <int V, bool kEdge, int R = Simd::kRows - 1>
void tailRows(int rows, const Tile& t) {
  if constexpr (R >= 1) {
    if (rows == R) {
      microKernel<R, V, kEdge>(t);
    } else {
      tailRows<V, kEdge, R - 1>(rows, t);
    }
  }
}

// All m rows of one column strip.
template <int V, bool kEdge>
void stripRows(int m, const Tile& strip) {
  Tile t = strip;
  int i = 0;
  for (; i + Simd::kRows <= m; i += Simd::kRows) {
    t.a = strip.a + rowOffset(i, strip.lda);
    t.c = strip.c + rowOffset(i, strip.ldc);
    microKernel<Simd::kRows, V, kEdge>(t);
  }
  if (i < m) {
    t.a = strip.a + rowOffset(i, strip.lda);
    t.c = strip.c + rowOffset(i, strip.ldc);
    tailRows<V, kEdge>(m - i, t);
  }
}

// Picks the vector count and edge masking for a strip `cols` (1..kPanel) columns wide.
void stripDispatch(int m, int cols, Tile t) {
  if (cols == kPanel) return stripRows<2, false>(m, t);
  if (cols == kLanes) return stripRows<1, false>(m, t);
  if (cols > kLanes) {
    t.mask0 = Simd::firstLanes(kLanes);
    t.mask1 = Simd::firstLanes(cols - kLanes);
    return stripRows<2, true>(m, t);
  }
  t.mask0 = Simd::firstLanes(cols);
  t.mask1 = t.mask0;
  return stripRows<1, true>(m, t);
}

// Width of the packed/streamed strip for `cols` columns: one or two whole vectors.
inline int stripWidth(int cols) { return cols > kLanes ? kPanel : kLanes; }

// dst[kk·width + c] = src[c·lds + kk] for c < cols, kk < depth; columns cols..width-1 are
// zero so the micro-kernel can load whole vectors. Works in lanes×lanes register transposes.
void packTransposed(const float* src, int lds, int cols, int depth, int width, float* dst) {
  for (int c0 = 0; c0 < width; c0 += kLanes) {
    for (int k0 = 0; k0 < depth; k0 += kLanes) {
      const Mask depthMask = Simd::firstLanes(depth - k0);
      Vec block[kLanes];
      for (int r = 0; r < kLanes; ++r) {
        block[r] = c0 + r < cols
                       ? Simd::loadMasked(src + rowOffset(c0 + r, lds) + k0, depthMask)
                       : Simd::zero();
      }
      Simd::transpose(block);
      const int rows = std::min(kLanes, depth - k0);
      for (int r = 0; r < rows; ++r) Simd::store(dst + rowOffset(k0 + r, width) + c0, block[r]);
    }
  }
}

// dst[kk·width + c] = src[kk·lds + c] for c < cols, kk < depth, zero-padded to `width`.
void copyStrip(const float* src, int lds, int cols, int depth, int width, float* dst) {
  const Mask m0 = Simd::firstLanes(cols);
  const Mask m1 = Simd::firstLanes(cols - kLanes);
  for (int kk = 0; kk < depth; ++kk) {
    const float* row = src + rowOffset(kk, lds);
    float* out = dst + rowOffset(kk, width);
    Simd::store(out, Simd::loadMasked(row, m0));
    if (width > kLanes) Simd::store(out + kLanes, Simd::loadMasked(row + kLanes, m1));
  }
}

// gemmNN for Simd::kCopyStripsOfB: each kDepthBlock × kPanel strip of B is copied to a
// contiguous stack buffer (at most 16 KiB) and reused from there by every row block.
void gemmNNCopyingB(int m, int n, int k, const float* A, int lda, const float* B, int ldb,
                    float* C, int ldc) {
  alignas(64) float strip[kDepthBlock * kPanel];
  for (int k0 = 0; k0 < k; k0 += kDepthBlock) {
    const int depth = std::min(kDepthBlock, k - k0);
    for (int j0 = 0; j0 < n; j0 += kPanel) {
      const int cols = std::min(kPanel, n - j0);
      const int width = stripWidth(cols);
      copyStrip(B + rowOffset(k0, ldb) + j0, ldb, cols, depth, width, strip);
      const Tile t{depth, A + k0, lda, strip, width, C + j0, ldc, true, {}, {}};
      stripDispatch(m, cols, t);
    }
  }
}

void zeroMatrix(int m, int n, float* C, int ldc) {
  for (int i = 0; i < m; ++i) std::fill(C + rowOffset(i, ldc), C + rowOffset(i, ldc) + n, 0.0f);
}

}  // namespace

void gemmNT(int m, int n, int k, const float* A, int lda, const float* B, int ldb, float* C,
            int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    zeroMatrix(m, n, C, ldc);
    return;
  }
  // The only scratch: one transposed key strip, kDepthBlock × kPanel floats on the stack.
  alignas(64) float packed[kDepthBlock * kPanel];
  for (int j0 = 0; j0 < n; j0 += kPanel) {
    const int cols = std::min(kPanel, n - j0);
    const int width = stripWidth(cols);
    for (int k0 = 0; k0 < k; k0 += kDepthBlock) {
      const int depth = std::min(kDepthBlock, k - k0);
      packTransposed(B + rowOffset(j0, ldb) + k0, ldb, cols, depth, width, packed);
      const Tile t{depth, A + k0, lda, packed, width, C + j0, ldc, k0 > 0, {}, {}};
      stripDispatch(m, cols, t);
    }
  }
}

void gemmNN(int m, int n, int k, const float* A, int lda, const float* B, int ldb, float* C,
            int ldc) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  // With a single row block each strip of B is read once, so a copy cannot pay off.
  if (Simd::kCopyStripsOfB && m > Simd::kRows) {
    return gemmNNCopyingB(m, n, k, A, lda, B, ldb, C, ldc);
  }
  // B rows are already contiguous along the output columns: stream them over the whole depth.
  for (int j0 = 0; j0 < n; j0 += kPanel) {
    const Tile t{k, A, lda, B + j0, ldb, C + j0, ldc, true, {}, {}};
    stripDispatch(m, std::min(kPanel, n - j0), t);
  }
}

// ---------------------------------------------------------------------------------------
// Row helpers.

namespace {

// exp(x) = 2^n · exp(r), n = round(x / ln 2), |r| <= ln(2)/2.
// ln 2 is split in two (Cody-Waite): n · kLn2Hi is exact because kLn2Hi has 9 significant
// bits and |n| <= 150, so r is computed with one rounding. The polynomial is the Cephes
// minimax fit for exp(r) - 1 - r on that interval (relative error 2.7e-9 in exact
// arithmetic, well under float32's 6e-8 half-ulp).
inline Vec expVec(Vec x) {
  // Below -104 the result rounds to +0 (exp(-104) < 2^-150), above 89 it overflows to +inf.
  // Clamping keeps ±inf out of the range reduction, where inf - inf would give NaN.
  constexpr float kExpLo = -104.0f;
  constexpr float kExpHi = 89.0f;
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  // Operand order keeps NaN: max/min return their second operand when it is NaN.
  x = Simd::min(Simd::set1(kExpHi), Simd::max(Simd::set1(kExpLo), x));
  const Vec n = Simd::roundNearest(Simd::mul(x, Simd::set1(kLog2e)));
  Vec r = Simd::fma(n, Simd::set1(-kLn2Hi), x);
  r = Simd::fma(n, Simd::set1(-kLn2Lo), r);
  Vec p = Simd::set1(1.9875691500e-4f);
  p = Simd::fma(p, r, Simd::set1(1.3981999507e-3f));
  p = Simd::fma(p, r, Simd::set1(8.3334519073e-3f));
  p = Simd::fma(p, r, Simd::set1(4.1665795894e-2f));
  p = Simd::fma(p, r, Simd::set1(1.6666665459e-1f));
  p = Simd::fma(p, r, Simd::set1(5.0000001201e-1f));
  // 1 + r + p·r², with the 1 added last so that r == 0 gives exactly 1.
  const Vec e = Simd::add(Simd::fma(p, Simd::mul(r, r), r), Simd::set1(1.0f));
  return Simd::scaleByPow2(e, n);
}

}  // namespace

float rowMax(const float* x, int n) {
  const Vec negInf = Simd::set1(-std::numeric_limits<float>::infinity());
  // Two accumulators hide the latency of max on long rows.
  Vec m0 = negInf, m1 = negInf;
  int i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    m0 = Simd::max(m0, Simd::load(x + i));
    m1 = Simd::max(m1, Simd::load(x + i + kLanes));
  }
  for (; i < n; i += kLanes) {
    m0 = Simd::max(m0, Simd::loadMaskedOr(x + i, Simd::firstLanes(n - i), negInf));
  }
  return Simd::reduceMax(Simd::max(m0, m1));
}

float expSumShifted(float* x, int n, float shift) {
  const Vec s = Simd::set1(shift);
  Vec sum0 = Simd::zero(), sum1 = Simd::zero();
  int i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    const Vec e0 = expVec(Simd::sub(Simd::load(x + i), s));
    const Vec e1 = expVec(Simd::sub(Simd::load(x + i + kLanes), s));
    Simd::store(x + i, e0);
    Simd::store(x + i + kLanes, e1);
    sum0 = Simd::add(sum0, e0);
    sum1 = Simd::add(sum1, e1);
  }
  for (; i < n; i += kLanes) {
    const Mask m = Simd::firstLanes(n - i);
    // Lanes past the end compute exp(-shift); they are neither stored nor summed.
    const Vec e = Simd::keep(m, expVec(Simd::sub(Simd::loadMasked(x + i, m), s)));
    Simd::storeMasked(x + i, m, e);
    sum0 = Simd::add(sum0, e);
  }
  return Simd::reduceAdd(Simd::add(sum0, sum1));
}

void scaleRow(float* x, int n, float s) {
  const Vec sv = Simd::set1(s);
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) Simd::store(x + i, Simd::mul(Simd::load(x + i), sv));
  if (i < n) {
    const Mask m = Simd::firstLanes(n - i);
    Simd::storeMasked(x + i, m, Simd::mul(Simd::loadMasked(x + i, m), sv));
  }
}

void axpyRow(float* y, const float* x, int n, float a) {
  const Vec av = Simd::set1(a);
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    Simd::store(y + i, Simd::fma(av, Simd::load(x + i), Simd::load(y + i)));
  }
  if (i < n) {
    const Mask m = Simd::firstLanes(n - i);
    const Vec r = Simd::fma(av, Simd::loadMasked(x + i, m), Simd::loadMasked(y + i, m));
    Simd::storeMasked(y + i, m, r);
  }
}

#else  // !SA_TILE_SIMD

// ---------------------------------------------------------------------------------------
// Portable fallback, for correctness rather than speed. The inner loops run along
// contiguous output columns in chunks that stay in L1, so compilers can auto-vectorise them
// for whatever vector width the target has.

namespace {

constexpr int kFallbackCols = 64;
constexpr int kFallbackDepth = 64;

// acc[0..cols) += Σ_kk a[kk] · p[kk·ldp + 0..cols)
void rowTimesPanel(int cols, int depth, const float* a, const float* p, int ldp, float* acc) {
  for (int kk = 0; kk < depth; ++kk) {
    const float av = a[kk];
    const float* row = p + rowOffset(kk, ldp);
    for (int c = 0; c < cols; ++c) acc[c] += av * row[c];
  }
}

}  // namespace

void gemmNT(int m, int n, int k, const float* A, int lda, const float* B, int ldb, float* C,
            int ldc) {
  if (m <= 0 || n <= 0) return;
  for (int i = 0; i < m; ++i) {
    std::fill(C + rowOffset(i, ldc), C + rowOffset(i, ldc) + n, 0.0f);
  }
  // Scratch: one transposed key block on the stack (64 × 64 floats = 16 KiB).
  float packed[kFallbackDepth * kFallbackCols];
  for (int j0 = 0; j0 < n; j0 += kFallbackCols) {
    const int cols = std::min(kFallbackCols, n - j0);
    for (int k0 = 0; k0 < k; k0 += kFallbackDepth) {
      const int depth = std::min(kFallbackDepth, k - k0);
      for (int c = 0; c < cols; ++c) {
        const float* keyRow = B + rowOffset(j0 + c, ldb) + k0;
        for (int kk = 0; kk < depth; ++kk) packed[kk * kFallbackCols + c] = keyRow[kk];
      }
      for (int i = 0; i < m; ++i) {
        rowTimesPanel(cols, depth, A + rowOffset(i, lda) + k0, packed, kFallbackCols,
                      C + rowOffset(i, ldc) + j0);
      }
    }
  }
}

void gemmNN(int m, int n, int k, const float* A, int lda, const float* B, int ldb, float* C,
            int ldc) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  for (int j0 = 0; j0 < n; j0 += kFallbackCols) {
    const int cols = std::min(kFallbackCols, n - j0);
    for (int i = 0; i < m; ++i) {
      rowTimesPanel(cols, k, A + rowOffset(i, lda), B + j0, ldb, C + rowOffset(i, ldc) + j0);
    }
  }
}

float rowMax(const float* x, int n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

float expSumShifted(float* x, int n, float shift) {
  // Eight partial sums, like the vector paths' lanes: the rounding error of a float32 sum
  // grows with the length of each dependent chain.
  constexpr int kPartials = 8;
  float partial[kPartials] = {};
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    partial[i % kPartials] += x[i];
  }
  float sum = 0.0f;
  for (float p : partial) sum += p;
  return sum;
}

void scaleRow(float* x, int n, float s) {
  for (int i = 0; i < n; ++i) x[i] *= s;
}

void axpyRow(float* y, const float* x, int n, float a) {
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

#endif  // SA_TILE_SIMD

}  // namespace sa::cpu
