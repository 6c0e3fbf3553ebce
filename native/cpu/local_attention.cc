// Sliding-window attention with global tokens on CPU (kernels/local.h), flash-style: a tile
// of queries stays in cache while the key/value tiles of its band stream through with an
// online softmax. Only the band is visited: wide key tiles where every query of the tile sees
// every key, narrow ones across the band's diagonal edges, each computed only for the queries
// whose windows reach it and clipped per row. Global rows are separate tasks: a tile of global
// queries attends to every non-padding key with the global projections.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "cpu/finite.h"
#include "cpu/tile_math.h"
#include "kernels/local.h"

namespace sa {

namespace {

constexpr int kQueryTile = 64;
constexpr int kKeyTile = 256;  // the widest key tile; also the global-column chunk
constexpr int kEdgeKeyTile = 32;  // key tiles across the band's diagonal edges
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The roles of one batch row's tokens, derived once per call from the attention mask.
struct RowTokens {
  const int32_t* mask = nullptr;    // null: every token is local
  std::vector<int32_t> globals;     // global token positions, ascending
  std::vector<int> removedBefore;   // [j]: padding or global tokens among [0, j); empty if none
  std::vector<int> paddingBefore;   // [j]: padding tokens among [0, j); empty if none

  TokenRole role(int t) const { return mask ? tokenRole(mask[t]) : TokenRole::Local; }
  static bool anyIn(const std::vector<int>& before, int j0, int j1) {
    return !before.empty() && before[size_t(j1)] > before[size_t(j0)];
  }
};

void checkMaskValues(const LocalShape& s, const int32_t* mask) {
  for (int64_t i = 0; i < int64_t(s.B) * s.L; ++i) {
    if (validMaskValue(mask[i])) continue;
    throw KernelError(ErrorCode::InvalidArgument,
                      "attentionMask[" + std::to_string(i / s.L) + "," + std::to_string(i % s.L) + "] is " +
                          std::to_string(mask[i]) + "; values must be -1, 0 or 1");
  }
}

// Prefix counts of the tokens for which `counts` holds, or nothing when there are none.
template <typename Pred>
std::vector<int> prefixCount(const int32_t* maskRow, int L, Pred counts) {
  std::vector<int> before(size_t(L) + 1, 0);
  for (int j = 0; j < L; ++j) before[size_t(j) + 1] = before[size_t(j)] + (counts(maskRow[j]) ? 1 : 0);
  if (before[size_t(L)] == 0) before.clear();
  return before;
}

std::vector<RowTokens> rowTokensOf(const LocalShape& s, const int32_t* mask) {
  std::vector<RowTokens> rows(size_t(s.B));
  if (!mask) return rows;
  checkMaskValues(s, mask);
  for (int b = 0; b < s.B; ++b) {
    RowTokens& r = rows[size_t(b)];
    r.mask = mask + int64_t(b) * s.L;
    r.globals.resize(size_t(countGlobalTokens(r.mask, 0, s.L)));
    listGlobalTokens(r.mask, 0, s.L, r.globals.data());
    r.removedBefore = prefixCount(r.mask, s.L, removedFromWindow);
    r.paddingBefore = prefixCount(r.mask, s.L, [](int32_t m) { return tokenRole(m) == TokenRole::Padding; });
  }
  return rows;
}

// One (batch, head) slice of every projection and of the output: L rows of D, ld floats apart.
struct HeadSlice {
  LocalInputs<float> in;
  float* out;
  int ld;
};

HeadSlice headSlice(const LocalShape& s, const LocalInputs<float>& in, float* out, int64_t bh) {
  const HeadLayout layout = headLayout(s);
  const int64_t offset = layout.base(bh);
  return {{in.q + offset, in.k + offset, in.v + offset, in.qGlobal + offset, in.kGlobal + offset,
           in.vGlobal + offset},
          out + offset, int(layout.rowStride())};
}

// The running softmax of a tile of query rows: per key tile S = Q·Kᵀ, the row-wise online
// softmax over the columns each row may see, then O += P·V.
struct SoftmaxTile {
  int D = 0, rows = 0;
  std::vector<float> queries, scores, acc, rowMax, rowSum;
  std::vector<int> removed;         // columns of the current key tile no row may see, ascending
  std::vector<IndexRange> visible;  // per row: the columns [begin, end) of the tile fold gave it
  std::vector<float> keys, values;  // gathered rows, for keys that are not contiguous

  void resize(int d) {
    D = d;
    queries.resize(size_t(kQueryTile) * d);
    scores.resize(size_t(kQueryTile) * kKeyTile);
    acc.resize(size_t(kQueryTile) * d);
    rowMax.resize(kQueryTile);
    rowSum.resize(kQueryTile);
    visible.resize(kQueryTile);
    keys.resize(size_t(kKeyTile) * d);
    values.resize(size_t(kKeyTile) * d);
    removed.reserve(kKeyTile);
  }

  // rowOf(r) is the position of query r, its row ld floats into q; queries are scaled once
  // here rather than every score.
  template <typename RowOf>
  void start(int m, const float* q, int ld, float scale, RowOf rowOf) {
    rows = m;
    for (int r = 0; r < m; ++r) {
      const float* src = q + int64_t(rowOf(r)) * ld;
      float* dst = queries.data() + size_t(r) * D;
      for (int d = 0; d < D; ++d) dst[d] = src[d] * scale;
    }
    std::fill_n(acc.begin(), size_t(m) * D, 0.0f);
    std::fill_n(rowMax.begin(), m, kNegInf);
    std::fill_n(rowSum.begin(), m, 0.0f);
  }

  // Scores of the rows [r0, r1) against n keys, ldk floats apart.
  void score(int r0, int r1, int n, const float* k, int ldk) {
    cpu::gemmNT(r1 - r0, n, D, queries.data() + size_t(r0) * D, D, k, ldk, scores.data() + size_t(r0) * kKeyTile,
                kKeyTile);
  }

  // Row r sees the columns [lo, hi) of the current key tile except `removed`; every other
  // column becomes 0 so that P·V ignores it. A visible key whose score is -inf (or whose
  // weight underflows) keeps its zero weight in the product, as in softmax(q·kᵀ)·v.
  void fold(int r, int n, int lo, int hi) {
    float* row = scores.data() + size_t(r) * kKeyTile;
    if (hi <= lo) {
      std::fill(row, row + n, 0.0f);
      visible[size_t(r)] = {0, 0};
      return;
    }
    for (int c : removed)
      if (c >= lo && c < hi) row[c] = kNegInf;
    visible[size_t(r)] = {lo, hi};
    const float newMax = std::max(rowMax[r], cpu::rowMax(row + lo, hi - lo));
    if (newMax == kNegInf) {  // no finite score yet: weights 0 (or NaN), nothing to rescale
      rowSum[r] += cpu::weightsBeforeAnyMaximum(row + lo, hi - lo);
    } else {
      const float correction = std::exp(rowMax[r] - newMax);
      rowSum[r] = rowSum[r] * correction + cpu::expSumShifted(row + lo, hi - lo, newMax);
      rowMax[r] = newMax;
      if (correction != 1.0f) cpu::scaleRow(acc.data() + size_t(r) * D, D, correction);
    }
    std::fill(row, row + lo, 0.0f);
    std::fill(row + hi, row + n, 0.0f);
  }

  // O += P·V over the columns each row sees. The others hold zero weights, which add nothing
  // to finite values; but a zero weight times a NaN or infinite value is still NaN, so when
  // such a value sits in a partly masked tile the tile goes row by row, in runs of visible
  // columns, and a masked key never enters a row's product.
  // Value rows are ldv floats apart.
  void accumulate(int r0, int r1, int n, const float* v, int ldv) {
    bool whole = removed.empty();
    for (int r = r0; r < r1 && whole; ++r) whole = visible[size_t(r)].begin == 0 && visible[size_t(r)].end == n;
    if (whole || cpu::allFinite(v, n, D, ldv)) {
      cpu::gemmNN(r1 - r0, D, n, scores.data() + size_t(r0) * kKeyTile, kKeyTile, v, ldv, acc.data() + size_t(r0) * D, D);
      return;
    }
    for (int r = r0; r < r1; ++r) {
      const IndexRange span = visible[size_t(r)];
      int start = span.begin;
      for (int c : removed) {
        if (c < start) continue;
        if (c >= span.end) break;
        accumulateRun(r, start, c, v, ldv);
        start = c + 1;
      }
      accumulateRun(r, start, span.end, v, ldv);
    }
  }

  void accumulateRun(int r, int c0, int c1, const float* v, int ldv) {
    if (c1 <= c0) return;
    cpu::gemmNN(1, D, c1 - c0, scores.data() + size_t(r) * kKeyTile + c0, kKeyTile, v + size_t(c0) * ldv, ldv,
                acc.data() + size_t(r) * D, D);
  }

  void writeRow(int r, float* dst) const {
    const float* a = acc.data() + size_t(r) * D;
    const float inv = 1.0f / rowSum[r];
    for (int d = 0; d < D; ++d) dst[d] = a[d] * inv;
  }
};

// Scratch of the calling worker thread, kept between tasks and calls: a task's tiles are a few
// hundred KiB, which malloc would map and unmap (and the kernel zero) on every task otherwise.
SoftmaxTile& threadTile(int D) {
  thread_local SoftmaxTile tile;
  tile.resize(D);
  return tile;
}

// ---- Local rows: one task per (batch, head, tile of kQueryTile queries) ----

// The global columns: every global token of the row, with its local key and value.
void attendGlobalColumns(const HeadSlice& h, const RowTokens& row, int i0, SoftmaxTile& t) {
  const int D = t.D;
  t.removed.clear();
  for (size_t g0 = 0; g0 < row.globals.size(); g0 += kKeyTile) {
    const int n = int(std::min<size_t>(kKeyTile, row.globals.size() - g0));
    for (int c = 0; c < n; ++c) {
      const int64_t g = row.globals[g0 + size_t(c)];
      std::copy_n(h.in.k + g * h.ld, D, t.keys.data() + size_t(c) * D);
      std::copy_n(h.in.v + g * h.ld, D, t.values.data() + size_t(c) * D);
    }
    t.score(0, t.rows, n, t.keys.data(), D);
    for (int r = 0; r < t.rows; ++r) {
      const bool local = row.role(i0 + r) == TokenRole::Local;
      t.fold(r, n, 0, local ? n : 0);
    }
    t.accumulate(0, t.rows, n, t.values.data(), D);
  }
}

// One key tile [j0, j0 + n) of the band, for the queries whose windows reach it.
void attendKeyTile(const LocalShape& s, const HeadSlice& h, const RowTokens& row, int i0, int j0, int n,
                   SoftmaxTile& t) {
  const IndexRange reaching = queriesReaching(s.window, s.L, j0, j0 + n);
  const int r0 = std::max(reaching.begin - i0, 0), r1 = std::min(reaching.end - i0, t.rows);
  t.removed.clear();
  if (RowTokens::anyIn(row.removedBefore, j0, j0 + n))
    for (int c = 0; c < n; ++c)
      if (removedFromWindow(row.mask[j0 + c])) t.removed.push_back(c);
  const bool clip = !keysInEveryBand(s.window, s.L, i0, i0 + t.rows).covers(j0, j0 + n);
  t.score(r0, r1, n, h.in.k + int64_t(j0) * h.ld, h.ld);
  for (int r = r0; r < r1; ++r) {
    if (row.role(i0 + r) != TokenRole::Local) {
      t.fold(r, n, 0, 0);
      continue;
    }
    const IndexRange keys = clip ? bandKeys(s.window, s.L, i0 + r) : IndexRange{j0, j0 + n};
    t.fold(r, n, std::max(keys.begin, j0) - j0, std::min(keys.end, j0 + n) - j0);
  }
  t.accumulate(r0, r1, n, h.in.v + int64_t(j0) * h.ld, h.ld);
}

void attendKeys(const LocalShape& s, const HeadSlice& h, const RowTokens& row, int i0, IndexRange keys, int width,
                SoftmaxTile& t) {
  for (int j0 = keys.begin; j0 < keys.end; j0 += width)
    attendKeyTile(s, h, row, i0, j0, std::min(width, keys.end - j0), t);
}

// The band in key tiles: narrow ones across its diagonal edges, where each tile is computed
// for the queries whose windows reach it only, and wide ones where every query sees every key.
void attendBand(const LocalShape& s, const HeadSlice& h, const RowTokens& row, int i0, SoftmaxTile& t) {
  const int i1 = i0 + t.rows;
  const IndexRange band = tileBandKeys(s.window, s.L, i0, i1);
  IndexRange inner = keysInEveryBand(s.window, s.L, i0, i1);
  if (inner.size() == 0) inner = {band.end, band.end};
  attendKeys(s, h, row, i0, {band.begin, inner.begin}, kEdgeKeyTile, t);
  attendKeys(s, h, row, i0, inner, kKeyTile, t);
  attendKeys(s, h, row, i0, {inner.end, band.end}, kEdgeKeyTile, t);
}

// Local rows get their result, padding rows 0; global rows are left to the global tasks.
void writeLocalTile(const HeadSlice& h, const RowTokens& row, int i0, int m, const SoftmaxTile* t, int D) {
  for (int r = 0; r < m; ++r) {
    float* dst = h.out + int64_t(i0 + r) * h.ld;
    const TokenRole role = row.role(i0 + r);
    if (role == TokenRole::Padding) std::fill(dst, dst + D, 0.0f);
    if (role == TokenRole::Local) t->writeRow(r, dst);
  }
}

void localQueryTile(const LocalShape& s, const HeadSlice& h, const RowTokens& row, int i0, SoftmaxTile& t) {
  const int m = std::min(kQueryTile, s.L - i0);
  bool anyLocal = false;
  for (int r = 0; r < m && !anyLocal; ++r) anyLocal = row.role(i0 + r) == TokenRole::Local;
  if (!anyLocal) return writeLocalTile(h, row, i0, m, nullptr, s.D);
  t.start(m, h.in.q, h.ld, s.scale, [i0](int r) { return i0 + r; });
  attendGlobalColumns(h, row, i0, t);
  attendBand(s, h, row, i0, t);
  writeLocalTile(h, row, i0, m, &t, s.D);
}

// ---- Global rows: one task per (batch, head, tile of kQueryTile global tokens) ----

void globalQueryTile(const LocalShape& s, const HeadSlice& h, const RowTokens& row, size_t first, SoftmaxTile& t) {
  const int m = int(std::min<size_t>(kQueryTile, row.globals.size() - first));
  const int32_t* tokens = row.globals.data() + first;
  t.start(m, h.in.qGlobal, h.ld, s.scale, [tokens](int r) { return tokens[r]; });
  for (int j0 = 0; j0 < s.L; j0 += kKeyTile) {
    const int n = std::min(kKeyTile, s.L - j0);
    t.removed.clear();
    if (RowTokens::anyIn(row.paddingBefore, j0, j0 + n)) {
      if (row.paddingBefore[size_t(j0 + n)] - row.paddingBefore[size_t(j0)] == n) continue;
      for (int c = 0; c < n; ++c)
        if (row.role(j0 + c) == TokenRole::Padding) t.removed.push_back(c);
    }
    t.score(0, m, n, h.in.kGlobal + int64_t(j0) * h.ld, h.ld);
    for (int r = 0; r < m; ++r) t.fold(r, n, 0, n);
    t.accumulate(0, m, n, h.in.vGlobal + int64_t(j0) * h.ld, h.ld);
  }
  for (int r = 0; r < m; ++r) t.writeRow(r, h.out + int64_t(tokens[r]) * h.ld);
}

struct GlobalTile {
  int b;
  size_t first;  // index into the row's global list
};

std::vector<GlobalTile> globalTilesOf(const std::vector<RowTokens>& rows) {
  std::vector<GlobalTile> tiles;
  for (size_t b = 0; b < rows.size(); ++b)
    for (size_t first = 0; first < rows[b].globals.size(); first += kQueryTile) tiles.push_back({int(b), first});
  return tiles;
}

}  // namespace

void localAttentionCpu(const CpuContext& ctx, const LocalShape& s, const LocalInputs<float>& in,
                       const int32_t* attentionMask, float* out) {
  if (int64_t(s.B) * s.H * s.L * s.D == 0) return;
  const std::vector<RowTokens> rows = rowTokensOf(s, attentionMask);
  const int tilesPerHead = (s.L + kQueryTile - 1) / kQueryTile;
  parallelFor(ctx, int64_t(s.B) * s.H * tilesPerHead, [&](int64_t task) {
    const int64_t bh = task / tilesPerHead;
    localQueryTile(s, headSlice(s, in, out, bh), rows[size_t(bh / s.H)], int(task % tilesPerHead) * kQueryTile,
                   threadTile(s.D));
  });
  const std::vector<GlobalTile> globalTiles = globalTilesOf(rows);
  parallelFor(ctx, int64_t(globalTiles.size()) * s.H, [&](int64_t task) {
    const GlobalTile& g = globalTiles[size_t(task / s.H)];
    globalQueryTile(s, headSlice(s, in, out, int64_t(g.b) * s.H + task % s.H), rows[size_t(g.b)], g.first,
                    threadTile(s.D));
  });
}

}  // namespace sa
