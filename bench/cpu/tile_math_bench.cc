// Standalone correctness check and benchmark for tile_math (not part of the addon).
//
//   g++ -O3 -march=native -std=c++17 -Inative native/cpu/tile_math.cc bench/cpu/tile_math_bench.cc
//       -o /tmp/tile_bench
//   /tmp/tile_bench
//
// Options: --exhaustive checks exp on every float32 bit pattern (a minute or two) instead of
// a strided sweep; --no-bench skips the timings, --bench-only the checks. Exit status is
// non-zero if any check fails.
#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <random>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define SA_BENCH_GUARD_PAGES 1
#endif

#include "cpu/tile_math.h"

namespace {

using sa::cpu::axpyRow;
using sa::cpu::expSumShifted;
using sa::cpu::gemmNN;
using sa::cpu::gemmNT;
using sa::cpu::rowMax;
using sa::cpu::scaleRow;

int failures = 0;

void fail(const char* what) {
  if (++failures <= 20) std::printf("  FAIL %s\n", what);
}

std::mt19937 rng(12345);

float uniform(float lo, float hi) {
  return std::uniform_real_distribution<float>(lo, hi)(rng);
}

// A matrix with padding columns beyond its width, stored one float past an aligned
// allocation so that the base pointer is not vector-aligned.
struct Matrix {
  int rows, cols, ld;
  std::vector<float> storage;
  Matrix(int r, int c, int pad) : rows(r), cols(c), ld(c + pad), storage(size_t(r) * ld + 1) {}
  float* data() { return storage.data() + 1; }
  float& at(int r, int c) { return data()[size_t(r) * ld + c]; }
  void randomize() {
    for (float& v : storage) v = uniform(-1.0f, 1.0f);
  }
};

constexpr float kSentinel = 1234.5f;

// ---------------------------------------------------------------------------------------
// GEMM checks against a float64 reference.

// Error is measured against Σ|a·b| (plus |C0| for accumulation): float32 accumulation over
// k terms can lose relative accuracy in cancelling sums, but never against that scale.
double worstGemmError = 0.0;

bool gemmCase(bool nt, int m, int n, int k, int pad) {
  Matrix A(m, k, pad), B(nt ? n : k, nt ? k : n, pad + 1), C(m, n, pad + 2);
  A.randomize();
  B.randomize();
  for (float& v : C.storage) v = kSentinel;
  std::vector<double> c0(size_t(m) * n);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      // gemmNT must overwrite: start it from NaN so a missed element shows.
      C.at(i, j) = nt ? std::numeric_limits<float>::quiet_NaN() : uniform(-1.0f, 1.0f);
      c0[size_t(i) * n + j] = nt ? 0.0 : C.at(i, j);
    }
  }
  if (nt) {
    gemmNT(m, n, k, A.data(), A.ld, B.data(), B.ld, C.data(), C.ld);
  } else {
    gemmNN(m, n, k, A.data(), A.ld, B.data(), B.ld, C.data(), C.ld);
  }
  double worst = 0.0;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double ref = c0[size_t(i) * n + j], scale = std::fabs(ref);
      for (int kk = 0; kk < k; ++kk) {
        const double prod = double(A.at(i, kk)) * (nt ? B.at(j, kk) : B.at(kk, j));
        ref += prod;
        scale += std::fabs(prod);
      }
      const double err = std::fabs(double(C.at(i, j)) - ref) / std::max(scale, 1e-30);
      worst = std::isnan(err) ? INFINITY : std::max(worst, err);
    }
    for (int j = n; j < C.ld; ++j) {
      if (C.at(i, j) != kSentinel) worst = INFINITY;  // wrote past the row
    }
  }
  if (C.storage[0] != kSentinel) worst = INFINITY;  // wrote before the matrix
  worstGemmError = std::max(worstGemmError, worst);
  if (worst > 1e-6) {
    char msg[160];
    std::snprintf(msg, sizeof msg, "%s m=%d n=%d k=%d pad=%d rel err %.3g",
                  nt ? "gemmNT" : "gemmNN", m, n, k, pad, worst);
    fail(msg);
    return false;
  }
  return true;
}

void checkGemm() {
  const int sizes[] = {1, 2, 3, 7, 15, 16, 17, 33, 64, 127, 128};
  const int depths[] = {1, 2, 3, 7, 15, 16, 17, 33, 64, 127, 128, 129, 200, 256};
  int cases = 0, bad = 0;
  for (bool nt : {true, false}) {
    for (int m : sizes) {
      for (int n : sizes) {
        for (int k : depths) {
          for (int pad : {0, 3}) {
            ++cases;
            bad += !gemmCase(nt, m, n, k, pad);
          }
        }
      }
    }
  }
  // Shapes attention uses, including long rows, and the k == 0 contract.
  for (int n : {576, 1024}) {
    for (int k : {64, 128}) {
      cases += 2;
      bad += !gemmCase(true, 64, n, k, 1);
      bad += !gemmCase(false, 64, k, n, 1);
    }
  }
  ++cases;
  bad += !gemmCase(true, 5, 9, 0, 2);
  ++cases;
  bad += !gemmCase(false, 5, 9, 0, 2);
  std::printf("gemm: %d cases, %d failed; worst error %.3g of sum|a*b| (tolerance 1e-6)\n",
              cases, bad, worstGemmError);
}

// ---------------------------------------------------------------------------------------
// No reads past the end: operands copied to the very end of a mapping that is followed by
// an inaccessible page, so touching even one float beyond them crashes the check.

#if defined(SA_BENCH_GUARD_PAGES)
class GuardedFloats {
 public:
  explicit GuardedFloats(const std::vector<float>& values) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    const size_t bytes = values.size() * sizeof(float);
    size_ = (bytes + page - 1) / page * page + page;
    void* base = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) std::abort();
    base_ = static_cast<char*>(base);
    mprotect(base_ + size_ - page, page, PROT_NONE);
    data_ = reinterpret_cast<float*>(base_ + size_ - page - bytes);
    std::copy(values.begin(), values.end(), data_);
  }
  ~GuardedFloats() { munmap(base_, size_); }
  GuardedFloats(const GuardedFloats&) = delete;
  GuardedFloats& operator=(const GuardedFloats&) = delete;
  float* data() { return data_; }

 private:
  char* base_;
  size_t size_;
  float* data_;
};

std::vector<float> randomFloats(size_t count) {
  std::vector<float> v(count);
  for (float& x : v) x = uniform(-1.0f, 1.0f);
  return v;
}

void checkGuarded() {
  const int shapes[][3] = {{1, 1, 1},  {3, 5, 7},   {7, 17, 3},   {9, 33, 15},
                           {13, 31, 129}, {17, 47, 33}, {8, 16, 16}, {64, 100, 64}};
  int cases = 0, bad = 0;
  for (const auto& shape : shapes) {
    const int m = shape[0], n = shape[1], k = shape[2];
    // Tight leading dimensions: each operand's last row ends at the guard page.
    const std::vector<float> a = randomFloats(size_t(m) * k), bt = randomFloats(size_t(n) * k);
    const std::vector<float> b = randomFloats(size_t(k) * n), c0 = randomFloats(size_t(m) * n);
    std::vector<float> wantNT(c0), wantNN(c0);
    gemmNT(m, n, k, a.data(), k, bt.data(), k, wantNT.data(), n);
    gemmNN(m, n, k, a.data(), k, b.data(), n, wantNN.data(), n);
    GuardedFloats ga(a), gbt(bt), gb(b), gnt(c0), gnn(c0);
    gemmNT(m, n, k, ga.data(), k, gbt.data(), k, gnt.data(), n);
    gemmNN(m, n, k, ga.data(), k, gb.data(), n, gnn.data(), n);
    cases += 2;
    if (!std::equal(wantNT.begin(), wantNT.end(), gnt.data())) ++bad, fail("guarded gemmNT");
    if (!std::equal(wantNN.begin(), wantNN.end(), gnn.data())) ++bad, fail("guarded gemmNN");
  }
  for (int n = 1; n <= 40; ++n) {
    const std::vector<float> x = randomFloats(n);
    GuardedFloats gx(x), gy(x);
    rowMax(gx.data(), n);
    expSumShifted(gx.data(), n, 0.5f);
    scaleRow(gx.data(), n, 2.0f);
    axpyRow(gy.data(), gx.data(), n, 0.5f);
    ++cases;
  }
  std::printf("guard pages: %d cases, %d failed (operands end at an inaccessible page)\n",
              cases, bad);
}
#else
void checkGuarded() { std::printf("guard pages: skipped (no mmap on this platform)\n"); }
#endif

// ---------------------------------------------------------------------------------------
// Row helper checks.

void checkRows() {
  int bad = 0, cases = 0;
  double worstSum = 0.0;
  std::vector<float> buf(2100), ref(2100), other(2100);
  for (int n = 0; n <= 1030; n += (n < 80 ? 1 : 37)) {
    for (int offset : {0, 1, 3}) {
      ++cases;
      float* x = buf.data() + offset;
      float* y = other.data() + offset;
      for (int i = 0; i < n; ++i) x[i] = uniform(-20.0f, 20.0f);

      float expectMax = -INFINITY;
      for (int i = 0; i < n; ++i) expectMax = std::max(expectMax, x[i]);
      if (rowMax(x, n) != expectMax) ++bad, fail("rowMax");

      const float shift = n ? expectMax : 0.0f;
      double expectSum = 0.0;
      for (int i = 0; i < n; ++i) ref[i] = std::exp(x[i] - shift), expectSum += ref[i];
      x[n] = kSentinel;
      const float sum = expSumShifted(x, n, shift);
      const double sumErr = std::fabs(sum - expectSum) / std::max(expectSum, 1e-30);
      worstSum = std::max(worstSum, n ? sumErr : 0.0);
      // Worst-case bound for a float32 sum of positive terms split over >= 8 partial sums.
      const double sumTol = (n / 8 + 4) * std::ldexp(1.0, -24) + 2.5e-7;
      if (n && sumErr > sumTol) ++bad, fail("expSumShifted sum");
      for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i] - ref[i]) > 2.5e-7f * ref[i]) {
          ++bad, fail("expSumShifted values");
          break;
        }
      }
      if (x[n] != kSentinel) ++bad, fail("expSumShifted wrote past n");

      for (int i = 0; i < n; ++i) ref[i] = x[i] * 0.37f;
      scaleRow(x, n, 0.37f);
      if (!std::equal(x, x + n, ref.data()) || x[n] != kSentinel) ++bad, fail("scaleRow");

      for (int i = 0; i <= n; ++i) y[i] = uniform(-1.0f, 1.0f);
      const float yEnd = y[n];
      for (int i = 0; i < n; ++i) ref[i] = std::fma(-1.5f, x[i], y[i]);
      axpyRow(y, x, n, -1.5f);
      for (int i = 0; i < n; ++i) {
        if (std::fabs(y[i] - ref[i]) > 1e-6f * (1.0f + std::fabs(ref[i]))) {
          ++bad, fail("axpyRow");
          break;
        }
      }
      if (y[n] != yEnd) ++bad, fail("axpyRow wrote past n");
    }
  }
  std::printf("rows: %d cases, %d failed (worst expSumShifted sum rel err %.3g)\n", cases, bad,
              worstSum);
}

// ---------------------------------------------------------------------------------------
// exp accuracy.

// Distance in representable floats (both non-NaN).
int64_t ulpDistance(float a, float b) {
  auto ordered = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, sizeof i);
    return i >= 0 ? int64_t(i) : int64_t(INT32_MIN) - i;
  };
  return std::llabs(ordered(a) - ordered(b));
}

struct ExpStats {
  int64_t checked = 0, maxUlp = 0, maxUlpCr = 0, over2 = 0, classMismatch = 0;
  float worstInput = 0.0f;
};

// Compares one batch computed in place against std::exp (float) and against the correctly
// rounded value (float)exp(double).
void compareExp(const float* in, const float* out, int n, ExpStats& s) {
  for (int i = 0; i < n; ++i) {
    const float want = std::exp(in[i]);
    const float cr = float(std::exp(double(in[i])));
    ++s.checked;
    if (std::isnan(want) || std::isnan(out[i])) {
      s.classMismatch += std::isnan(want) != std::isnan(out[i]);
      continue;
    }
    // Zero and infinity must match exactly; "2 ulp" across those boundaries is not allowed.
    if ((want == 0.0f) != (out[i] == 0.0f) || std::isinf(want) != std::isinf(out[i])) {
      ++s.classMismatch;
    }
    const int64_t d = ulpDistance(out[i], want);
    if (d > s.maxUlp) s.maxUlp = d, s.worstInput = in[i];
    s.maxUlpCr = std::max(s.maxUlpCr, ulpDistance(out[i], cr));
    s.over2 += d > 2;
  }
}

void checkExpSweep(bool exhaustive) {
  const uint64_t stride = exhaustive ? 1 : 61;
  constexpr int kBatch = 4096;
  std::vector<float> in(kBatch), out(kBatch);
  ExpStats s;
  int fill = 0;
  for (uint64_t bits = 0; bits <= 0xFFFFFFFFull; bits += stride) {
    const uint32_t b = uint32_t(bits);
    std::memcpy(&in[fill], &b, sizeof b);
    if (++fill == kBatch || bits + stride > 0xFFFFFFFFull) {
      std::copy(in.begin(), in.begin() + fill, out.begin());
      expSumShifted(out.data(), fill, 0.0f);
      compareExp(in.data(), out.data(), fill, s);
      fill = 0;
    }
  }
  std::printf(
      "exp sweep (%s, %lld inputs): max %lld ulp vs std::exp (at x=%.9g), max %lld ulp vs "
      "correctly rounded, %lld over 2 ulp, %lld zero/inf/NaN mismatches\n",
      exhaustive ? "every float32" : "every 61st float32 bit pattern", (long long)s.checked,
      (long long)s.maxUlp, s.worstInput, (long long)s.maxUlpCr, (long long)s.over2,
      (long long)s.classMismatch);
  if (s.over2 || s.classMismatch) fail("exp sweep");
}

void checkExpSpecials() {
  struct Case {
    float x, shift, want;
  };
  const float inf = INFINITY, nan = NAN;
  const Case cases[] = {
      {0.0f, 0.0f, 1.0f},         {-0.0f, 0.0f, 1.0f},        {3.0f, 3.0f, 1.0f},
      {-inf, 0.0f, 0.0f},         {-inf, 5.0f, 0.0f},         {-1e9f, 0.0f, 0.0f},
      {-1e9f, 7.5f, 0.0f},        {-1e9f, -30.0f, 0.0f},      {-FLT_MAX, 0.0f, 0.0f},
      {-104.0f, 0.0f, 0.0f},      {-200.0f, 0.0f, 0.0f},      {inf, 0.0f, inf},
      {1e9f, 0.0f, inf},          {89.0f, 0.0f, inf},         {FLT_MAX, 0.0f, inf},
      {nan, 0.0f, nan},           {1.0f, nan, nan},           {-inf, -inf, nan},
  };
  int bad = 0;
  std::vector<float> row;
  for (const Case& c : cases) row.push_back(c.x);
  // Run them as one row and as single elements so both the full-vector and tail paths see
  // every case (the shift differs per case, hence one call per element for the row).
  for (size_t i = 0; i < row.size(); ++i) {
    std::vector<float> x(40, cases[i].x);
    expSumShifted(x.data(), 40, cases[i].shift);
    for (float got : x) {
      const bool ok = std::isnan(cases[i].want)
                          ? std::isnan(got)
                          : (got == cases[i].want && !std::signbit(got));
      if (!ok) {
        ++bad;
        char msg[120];
        std::snprintf(msg, sizeof msg, "exp(%g - %g) gave %g, want %g", cases[i].x,
                      cases[i].shift, got, cases[i].want);
        fail(msg);
        break;
      }
    }
  }
  std::printf("exp specials: %zu cases (0, -0, -inf, -1e9 - shift, +inf, NaN, ...), %d failed\n",
              row.size(), bad);
}

// ---------------------------------------------------------------------------------------
// Benchmark.

// CPU time of this thread where available: on a shared machine, time spent descheduled
// would otherwise count against the kernels.
double seconds() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
#else
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
#endif
}

// Best-of-5 GFLOP/s, each sample long enough (>= 40 ms) to swamp timer noise.
template <typename Fn>
double gflops(double flops, Fn&& fn) {
  int reps = 1;
  for (;;) {
    const double t0 = seconds();
    for (int r = 0; r < reps; ++r) fn();
    if (seconds() - t0 > 0.04) break;
    reps *= 2;
  }
  double best = 0.0;
  for (int sample = 0; sample < 5; ++sample) {
    const double t0 = seconds();
    for (int r = 0; r < reps; ++r) fn();
    best = std::max(best, flops * reps / (seconds() - t0) / 1e9);
  }
  return best;
}

// Throughput of independent vector multiply-adds in this build, as a ceiling for the GEMMs.
double vectorPeak() {
#if defined(__AVX512F__)
  constexpr int kWidth = 16;
#elif defined(__AVX__)
  constexpr int kWidth = 8;
#else
  constexpr int kWidth = 4;
#endif
  typedef float V __attribute__((vector_size(kWidth * 4)));
  // Twelve independent chains cover the FMA latency; the empty asm statements keep them in
  // registers and stop the compiler from folding the loop.
  V a0 = V{} + 0.5f, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  V a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  const V a = V{} + 0.999f, b = V{} + 1e-4f;
  const int iters = 1 << 20;
  return gflops(2.0 * kWidth * 12 * iters, [&] {
    for (int it = 0; it < iters; ++it) {
      a0 = a0 * a + b, a1 = a1 * a + b, a2 = a2 * a + b, a3 = a3 * a + b;
      a4 = a4 * a + b, a5 = a5 * a + b, a6 = a6 * a + b, a7 = a7 * a + b;
      a8 = a8 * a + b, a9 = a9 * a + b, a10 = a10 * a + b, a11 = a11 * a + b;
      __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
      __asm__ volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
    }
  });
}

struct Shape {
  int m, n, k;
};

// GFLOP/s of the three products one attention tile performs on shape (m, n, k) = (queries,
// keys, head dim): gemmNT (m,n,k) = Q·K^T, gemmNN on the same (m,n,k), and gemmNN (m,k,n) =
// P·V. `heads` > 1 stores Q, K, V and O as [tokens, heads, k], so their rows are heads·k
// floats apart, as when a kernel walks one head of a packed multi-head tensor.
void benchShape(const Shape& s, int heads) {
  const int pad = (heads - 1) * s.k;
  const double flops = 2.0 * s.m * s.n * s.k;
  Matrix Q(s.m, s.k, pad), K(s.n, s.k, pad), S(s.m, s.n, 0);
  Matrix B(s.k, s.n, 0), C(s.m, s.n, 0);
  Matrix V(s.n, s.k, pad), O(s.m, s.k, pad);
  Q.randomize(), K.randomize(), S.randomize(), B.randomize(), V.randomize();
  const double nt = gflops(flops, [&] {
    gemmNT(s.m, s.n, s.k, Q.data(), Q.ld, K.data(), K.ld, S.data(), S.ld);
  });
  // A = Q here: gemmNN's A is m×k like gemmNT's.
  const double nn = gflops(flops, [&] {
    gemmNN(s.m, s.n, s.k, Q.data(), Q.ld, B.data(), B.ld, C.data(), C.ld);
  });
  const double pv = gflops(flops, [&] {
    gemmNN(s.m, s.k, s.n, S.data(), S.ld, V.data(), V.ld, O.data(), O.ld);
  });
  char name[32];
  std::snprintf(name, sizeof name, "(%d,%d,%d)", s.m, s.n, s.k);
  std::printf("%-16s %8d %10.1f %10.1f %16.1f\n", name, heads, nt, nn, pv);
}

void bench() {
  const Shape shapes[] = {{64, 128, 64}, {64, 576, 64}, {64, 512, 128}, {128, 128, 64},
                          {32, 1024, 64}};
  std::printf("\nsingle-threaded GFLOP/s, thread CPU time (vector FMA peak of this build: %.1f)\n",
              vectorPeak());
  std::printf("%-16s %8s %10s %10s %16s\n", "(m,n,k)", "heads", "gemmNT", "gemmNN",
              "gemmNN (m,k,n)");
  for (const Shape& s : shapes) benchShape(s, 1);
  for (const Shape& s : shapes) benchShape(s, 8);

  // Scores of one softmax row, restored before every call since the call overwrites them.
  std::vector<float> scores(1024), row(1024);
  for (float& v : scores) v = uniform(-30.0f, 0.0f);
  const double expRate = gflops(1024.0, [&] {
    std::copy(scores.begin(), scores.end(), row.begin());
    expSumShifted(row.data(), 1024, 0.0f);
  });
  std::printf("expSumShifted (n=1024, incl. a 4 KiB copy per call): %.2f Gelem/s\n", expRate);
}

}  // namespace

int main(int argc, char** argv) {
  bool exhaustive = false, runChecks = true, runBench = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--exhaustive")) exhaustive = true;
    if (!std::strcmp(argv[i], "--no-bench")) runBench = false;
    if (!std::strcmp(argv[i], "--bench-only")) runChecks = false;
  }
  if (runChecks) {
    checkGemm();
    checkGuarded();
    checkRows();
    checkExpSpecials();
    checkExpSweep(exhaustive);
    std::printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
  }
  if (runBench) bench();
  return failures ? 1 : 0;
}
