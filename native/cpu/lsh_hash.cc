// LSH hashing on CPU. For a tile of tokens of one head, one small GEMM gives the projections
// on every round's rotations, transposed (a row per rotation column, a column per token), so
// that the signed argmax then runs SIMD across the tile's tokens with the shared firstMax
// rule. Each projection is a float32 FMA chain over d = 0..D-1, as on the GPU. Projections
// never leave the task.
#include <algorithm>
#include <vector>

#include "cpu/tile_math.h"
#include "kernels/lsh.h"

namespace sa {

namespace {

constexpr int kTokenTile = 64;

// The batch-wide rule of docs/semantics.md 1.3: one padding token anywhere adds the padding bucket.
bool batchHasPadding(const LshHashShape& s, const int32_t* paddingMask) {
  if (s.Lp > s.L) return true;
  if (!paddingMask) return false;
  const int32_t* end = paddingMask + int64_t(s.B) * s.L;
  return std::find(paddingMask, end, 0) != end;
}

// rotations [H, D, columns] -> transposed [H, columns, D], the GEMM's row-major A operand.
std::vector<float> transposeRotations(const LshHashShape& s, int columns, const float* rotations) {
  std::vector<float> transposed(size_t(s.H) * columns * s.D);
  for (int h = 0; h < s.H; ++h)
    for (int d = 0; d < s.D; ++d)
      for (int k = 0; k < columns; ++k)
        transposed[(size_t(h) * columns + k) * s.D + d] = rotations[(size_t(h) * s.D + d) * columns + k];
  return transposed;
}

// digits[t] += placeValue · argmax of concat(y, -y) for every token t of the tile, where
// projections[k * kTokenTile + t] is y[k] of token t over the factor's `half` columns.
void addFactorDigits(const float* projections, int half, int placeValue, int* digits) {
  float bestValue[kTokenTile];
  int bestIndex[kTokenTile];
  for (int t = 0; t < kTokenTile; ++t) {
    bestValue[t] = lsh::noCandidate().value;
    bestIndex[t] = lsh::noCandidate().index;
  }
  for (int k = 0; k < half; ++k) {
    const float* y = projections + size_t(k) * kTokenTile;
    for (int t = 0; t < kTokenTile; ++t) {
      const lsh::ArgmaxEntry best = lsh::firstMax({bestValue[t], bestIndex[t]}, lsh::signedCandidates(y[t], k, half));
      bestValue[t] = best.value;
      bestIndex[t] = best.index;
    }
  }
  for (int t = 0; t < kTokenTile; ++t) digits[t] += placeValue * bestIndex[t];
}

}  // namespace

void lshHashCpu(const CpuContext& ctx, const LshHashShape& s, const float* qk, const float* rotations,
                const int32_t* paddingMask, int32_t* buckets) {
  const int half = lsh::rotationSize(s.factors) / 2;
  const int columns = s.nHashes * half;  // per head: round r's rotations are columns [r*half, (r+1)*half)
  const int N = lsh::bucketCount(s.factors);
  const int nPrime = lsh::bucketsWithPadding(N, batchHasPadding(s, paddingMask));
  const std::vector<float> rotationsT = transposeRotations(s, columns, rotations);
  const lsh::BucketFactors factors = s.factors;
  const int tiles = (s.Lp + kTokenTile - 1) / kTokenTile;
  const HeadLayout layout{s.H, s.L, s.D, s.tokenMajor};
  parallelFor(ctx, int64_t(s.B) * s.H * tiles, [&](int64_t task) {
    const int64_t bh = task / tiles;
    const int b = int(bh / s.H), h = int(bh % s.H);
    const int t0 = int(task % tiles) * kTokenTile, t1 = std::min(s.Lp, t0 + kTokenTile);
    const int storedTokens = std::max(0, std::min(s.L, t1) - t0);
    // [columns, kTokenTile], kept per worker; a tile of fewer tokens leaves the other columns
    // as they are, which only padding tokens (whose bucket is fixed) read.
    thread_local std::vector<float> projections;
    if (projections.size() < size_t(columns) * kTokenTile) projections.assign(size_t(columns) * kTokenTile, 0.0f);
    cpu::gemmNT(columns, storedTokens, s.D, &rotationsT[size_t(h) * columns * s.D], s.D, qk + layout.row(bh, t0),
                int(layout.rowStride()), projections.data(), kTokenTile);
    const int32_t* maskRow = paddingMask ? paddingMask + int64_t(b) * s.L : nullptr;
    int32_t* row = buckets + bh * s.nHashes * s.Lp;
    for (int r = 0; r < s.nHashes; ++r) {
      int digits[kTokenTile] = {};
      for (int f = 0; f < factors.count; ++f) {
        const float* slice = projections.data() + size_t(r * half + lsh::factorColumn(factors, f)) * kTokenTile;
        addFactorDigits(slice, factors.size[f] / 2, lsh::factorPlaceValue(factors, f), digits);
      }
      for (int t = t0; t < t1; ++t) {
        const bool padding = lsh::isPaddingToken(maskRow, t, s.L);
        row[int64_t(r) * s.Lp + t] = lsh::roundBucket(digits[t - t0], padding, N, r, nPrime);
      }
    }
  });
}

}  // namespace sa
