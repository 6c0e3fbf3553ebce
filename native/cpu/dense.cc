// Flash-style dense attention on CPU: a tile of queries stays in cache while key/value tiles
// stream through; scores of one tile at a time, online softmax, float32 throughout.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/finite.h"
#include "cpu/tile_math.h"
#include "kernels/dense.h"

namespace sa {

namespace {

constexpr int kQueryTile = 64;
constexpr int kKeyTile = 256;

struct OnlineSoftmaxTile {
  std::vector<float> scores, acc, rowMax, rowSum;
  std::vector<int> visible;  // keys of the current key tile each row sees
  OnlineSoftmaxTile(int rows, int d)
      : scores(size_t(rows) * kKeyTile), acc(size_t(rows) * d), rowMax(rows), rowSum(rows), visible(rows) {}
};

// q and out rows are ldq floats apart, k and v rows ldk (the head layout's row strides).
void denseQueryTile(const DenseShape& s, const float* q, const float* k, const float* v, float* out, int ldq, int ldk,
                    int i0, OnlineSoftmaxTile& t) {
  const int m = std::min(kQueryTile, s.Lq - i0), D = s.D;
  std::fill(t.acc.begin(), t.acc.end(), 0.0f);
  std::fill(t.rowMax.begin(), t.rowMax.end(), -std::numeric_limits<float>::infinity());
  std::fill(t.rowSum.begin(), t.rowSum.end(), 0.0f);
  const int keyEnd = denseKeyEnd(s, i0 + m - 1);
  for (int j0 = 0; j0 < keyEnd; j0 += kKeyTile) {
    const int n = std::min(kKeyTile, keyEnd - j0);
    cpu::gemmNT(m, n, D, q + size_t(i0) * ldq, ldq, k + size_t(j0) * ldk, ldk, t.scores.data(), kKeyTile);
    int seenByAll = n;
    for (int r = 0; r < m; ++r) {
      float* row = t.scores.data() + size_t(r) * kKeyTile;
      const int visible = std::max(0, std::min(n, denseKeyEnd(s, i0 + r) - j0));
      t.visible[r] = visible;
      seenByAll = std::min(seenByAll, visible);
      cpu::scaleRow(row, visible, s.scale);
      std::fill(row + visible, row + n, 0.0f);
      if (visible == 0) continue;
      const float newMax = std::max(t.rowMax[r], cpu::rowMax(row, visible));
      if (newMax == -std::numeric_limits<float>::infinity()) {  // no finite score yet: weights 0 (or NaN)
        t.rowSum[r] += cpu::weightsBeforeAnyMaximum(row, visible);
        continue;
      }
      const float correction = std::exp(t.rowMax[r] - newMax);
      t.rowSum[r] = t.rowSum[r] * correction + cpu::expSumShifted(row, visible, newMax);
      t.rowMax[r] = newMax;
      if (correction != 1.0f) cpu::scaleRow(t.acc.data() + size_t(r) * D, D, correction);
    }
    // Masked columns hold zero weights, which add nothing to finite values; but a zero weight
    // times a NaN or infinite value is still NaN, which would leak later positions into
    // earlier outputs. When the masked keys' values are not all finite, the keys every row sees
    // go through one product and the rest row by row, so that a masked key touches no row.
    const float* vTile = v + size_t(j0) * ldk;
    if (seenByAll == n || cpu::allFinite(vTile + size_t(seenByAll) * ldk, n - seenByAll, D, ldk)) {
      cpu::gemmNN(m, D, n, t.scores.data(), kKeyTile, vTile, ldk, t.acc.data(), D);
      continue;
    }
    cpu::gemmNN(m, D, seenByAll, t.scores.data(), kKeyTile, vTile, ldk, t.acc.data(), D);
    for (int r = 0; r < m; ++r)
      cpu::gemmNN(1, D, t.visible[r] - seenByAll, t.scores.data() + size_t(r) * kKeyTile + seenByAll, kKeyTile,
                  v + size_t(j0 + seenByAll) * ldk, ldk, t.acc.data() + size_t(r) * D, D);
  }
  for (int r = 0; r < m; ++r) {
    const float* a = t.acc.data() + size_t(r) * D;
    float* o = out + size_t(i0 + r) * ldq;
    const float inv = 1.0f / t.rowSum[r];
    for (int d = 0; d < D; ++d) o[d] = a[d] * inv;
  }
}

}  // namespace

void denseAttentionCpu(const CpuContext& ctx, const DenseShape& s, const float* q, const float* k, const float* v,
                       float* out) {
  const int tilesPerHead = (s.Lq + kQueryTile - 1) / kQueryTile;
  const int64_t heads = int64_t(s.B) * s.H;
  const HeadLayout ql = queryLayout(s), kl = keyLayout(s);
  parallelFor(ctx, heads * tilesPerHead, [&](int64_t task) {
    OnlineSoftmaxTile tile(kQueryTile, s.D);
    const int64_t bh = task / tilesPerHead;
    const int i0 = int(task % tilesPerHead) * kQueryTile;
    denseQueryTile(s, q + ql.base(bh), k + kl.base(bh), v + kl.base(bh), out + ql.base(bh), int(ql.rowStride()),
                   int(kl.rowStride()), i0, tile);
  });
}

}  // namespace sa
