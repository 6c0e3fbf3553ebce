// The online-softmax tile of the CPU attention kernels: a tile of query rows stays in cache
// while key tiles stream through it; per key tile S = Q·Kᵀ, each row's running maximum and
// sum over the columns it may see, then O += P·V. Float32 throughout (tile_math.h).
//
// A kernel is this tile plus two parameters:
//  * a key-tile source: the n keys and values of a tile as rows `ld` floats apart (KeyTile).
//    Contiguous keys are rows of the head in place; keys that are not (a list of global
//    columns, keys gathered through a sorted index) are copied, transformed if need be, into
//    the tile's own rows by gather().
//  * a mask policy, which says for each row of the tile what it makes of the key tile:
//
//      struct Policy {
//        // The columns [begin, end) of the key tile row r sees; empty: none.
//        IndexRange columns(int r) const;
//        // Columns of the key tile no row sees, ascending (padding or global keys of a band).
//        const std::vector<int>& removed() const;
//        // Rewrites in place the scores row[c], c in `cols`, that row r sees: finite mask
//        // values that still weigh (LSH's self and bucket rules); nothing for the others.
//        void adjust(int r, float* row, IndexRange cols) const;
//        // The rows of the tile whose columns meet [c0, c1): the only rows the products
//        // compute there. Every column of columns(r) must lie where rows() includes r.
//        IndexRange rows(int c0, int c1) const;
//      };
//
//    A key tile may be wide (a whole band): its products run in blocks of kBlockCols columns,
//    consecutive blocks that the same rows reach in one product, and each row's softmax is
//    folded once per key tile, not once per block.
//
//    MaskPolicy below is the base (every column, none removed, no rewrite) and Prefix the
//    policy of dense attention, causal or not: local attention with an unbounded window.
//    The other kernels' policies (local attention's band and token roles, LSH's self and
//    bucket rules) derive from MaskPolicy next to their kernels.
//
// The masked-value rule is decided here, once: a column outside a row's `columns` or in
// `removed` gets weight 0 *and never enters that row's P·V product*, so a NaN or infinite value
// of a masked key cannot reach the row through 0·NaN. A column a row sees keeps its weight
// even when it is 0 (score -inf, or an underflow), as in softmax(q·kᵀ)·v.
//
// A tile is scratch of one worker thread at a time (forThisThread): tasks reuse it without
// allocating. Capacities: rows ≤ maxRows, key tiles ≤ maxCols columns, head dimension D.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "cpu/finite.h"
#include "cpu/tile_math.h"
#include "kernels/local_logic.h"

namespace sa::cpu {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The keys and values of one key tile: n rows each, ldk and ldv floats apart.
struct KeyTile {
  int n;
  const float* k;
  int ldk;
  const float* v;
  int ldv;
};

// Base of the mask policies: every column of [0, n) seen by every row, none removed, no rewrite.
struct MaskPolicy {
  int n;  // columns of the key tile
  IndexRange columns(int) const { return {0, n}; }
  IndexRange rows(int, int) const { return {0, std::numeric_limits<int>::max()}; }
  const std::vector<int>& removed() const {
    static const std::vector<int> none;
    return none;
  }
  void adjust(int, float*, IndexRange) const {}
};

// Row r sees the keys [0, min(end0 + slope·r, limit)) of the sequence, of which the tile holds
// [j0, j0 + n): slope 0, every row the same (dense attention), or 1 (causal). Local attention
// with an unbounded window.
struct Prefix : MaskPolicy {
  int j0, end0, slope, limit;
  int end(int r) const { return std::min(limit, end0 + slope * r); }
  IndexRange columns(int r) const { return {0, std::clamp(end(r) - j0, 0, n)}; }
  IndexRange rows(int c0, int) const {
    constexpr int kAll = std::numeric_limits<int>::max();
    if (slope == 0) return {0, end0 > j0 + c0 ? kAll : 0};
    return {std::max(0, j0 + c0 - end0 + 1), kAll};
  }
};

class SoftmaxTile {
 public:
  // The calling thread's tile, with room for at least the given sizes. Kept between tasks and
  // calls: a tile is a few hundred KiB, which malloc would map and unmap (and the kernel zero)
  // on every task otherwise.
  static SoftmaxTile& forThisThread(int maxRows, int maxCols, int D) {
    thread_local SoftmaxTile tile;
    tile.reserve(maxRows, maxCols, D);
    return tile;
  }

  int rows() const { return rows_; }
  int D() const { return D_; }

  // Starts m rows; queryRow(r) points at the D floats of query r. The queries are scaled
  // here, once, rather than every score.
  template <typename QueryRow>
  void start(int m, QueryRow queryRow, float scale) {
    rows_ = m;
    for (int r = 0; r < m; ++r) {
      const float* src = queryRow(r);
      float* dst = queries_.data() + size_t(r) * D_;
      for (int d = 0; d < D_; ++d) dst[d] = src[d] * scale;
    }
    std::fill_n(acc_.begin(), size_t(m) * D_, 0.0f);
    std::fill_n(rowMax_.begin(), m, kNegInf);
    std::fill_n(rowSum_.begin(), m, 0.0f);
  }

  // n keys (n <= maxCols) gathered into the tile's own rows: fill(c, key, value) writes the D
  // floats of key c and of its value.
  template <typename Fill>
  KeyTile gather(int n, Fill fill) {
    for (int c = 0; c < n; ++c) fill(c, keys_.data() + size_t(c) * D_, values_.data() + size_t(c) * D_);
    return {n, keys_.data(), D_, values_.data(), D_};
  }

  // One key tile for the rows [r0, r1) (the others do not reach it), under `mask`.
  template <typename Mask>
  void attend(int r0, int r1, const KeyTile& keys, const Mask& mask) {
    if (r1 <= r0 || keys.n <= 0) return;
    forEachRun(r0, r1, keys.n, mask, [&](int c0, int c1, IndexRange rows) {
      gemmNT(rows.size(), c1 - c0, D_, queries_.data() + size_t(rows.begin) * D_, D_, keys.k + size_t(c0) * keys.ldk,
             keys.ldk, scores_.data() + size_t(rows.begin) * ldScores_ + c0, ldScores_);
    });
    const std::vector<int>& removed = mask.removed();
    bool whole = removed.empty();
    for (int r = r0; r < r1; ++r) {
      fold(r, keys.n, mask.columns(r), removed, mask);
      whole = whole && visible_[size_t(r)].begin == 0 && visible_[size_t(r)].end == keys.n;
    }
    accumulate(r0, r1, keys, mask, whole);
  }

  // The result of row r: Σ p·v / Σ p.
  void writeRow(int r, float* dst) const {
    const float* a = acc_.data() + size_t(r) * D_;
    const float inv = 1.0f / rowSum_[size_t(r)];
    for (int d = 0; d < D_; ++d) dst[d] = a[d] * inv;
  }

  // What row r has gathered so far, for kernels that combine tiles themselves (LSH's rounds):
  // output(r) = Σ exp(s − max(r))·v and sum(r) = Σ exp(s − max(r)) over the columns it saw.
  const float* output(int r) const { return acc_.data() + size_t(r) * D_; }
  float max(int r) const { return rowMax_[size_t(r)]; }
  float sum(int r) const { return rowSum_[size_t(r)]; }

 private:
  int D_ = 0, rows_ = 0, ldScores_ = 0;
  std::vector<float> queries_, scores_, acc_, rowMax_, rowSum_;
  std::vector<IndexRange> visible_;  // per row: the columns [begin, end) fold gave it
  std::vector<float> keys_, values_;  // gathered rows

  void reserve(int maxRows, int maxCols, int D) {
    D_ = D;
    ldScores_ = maxCols;
    const auto atLeast = [](auto& v, size_t n) {
      if (v.size() < n) v.resize(n);
    };
    atLeast(queries_, size_t(maxRows) * D);
    atLeast(scores_, size_t(maxRows) * maxCols);
    atLeast(acc_, size_t(maxRows) * D);
    atLeast(rowMax_, size_t(maxRows));
    atLeast(rowSum_, size_t(maxRows));
    atLeast(visible_, size_t(maxRows));
    atLeast(keys_, size_t(maxCols) * D);
    atLeast(values_, size_t(maxCols) * D);
  }

  // Row r's online-softmax step over the columns `cols` of the tile, less `removed`; every
  // other column becomes 0 so that P·V adds nothing for it.
  template <typename Mask>
  void fold(int r, int n, IndexRange cols, const std::vector<int>& removed, const Mask& mask) {
    float* row = scores_.data() + size_t(r) * ldScores_;
    const int lo = cols.begin, hi = std::min(cols.end, n);
    if (hi <= lo) {
      std::fill(row, row + n, 0.0f);
      visible_[size_t(r)] = {0, 0};
      return;
    }
    for (int c : removed)
      if (c >= lo && c < hi) row[c] = kNegInf;
    mask.adjust(r, row, {lo, hi});
    visible_[size_t(r)] = {lo, hi};
    float& runningMax = rowMax_[size_t(r)];
    float& runningSum = rowSum_[size_t(r)];
    const float newMax = std::max(runningMax, rowMax(row + lo, hi - lo));
    if (newMax == kNegInf) {  // no finite score yet: weights 0 (or NaN), nothing to rescale
      runningSum += weightsBeforeAnyMaximum(row + lo, hi - lo);
    } else {
      const float correction = std::exp(runningMax - newMax);
      runningSum = runningSum * correction + expSumShifted(row + lo, hi - lo, newMax);
      runningMax = newMax;
      if (correction != 1.0f) scaleRow(acc_.data() + size_t(r) * D_, D_, correction);
    }
    std::fill(row, row + lo, 0.0f);
    std::fill(row + hi, row + n, 0.0f);
  }

  // Columns per block of the products: the micro-kernel's strip width on AVX-512.
  static constexpr int kBlockCols = 32;

  // f(c0, c1, rows) for runs of consecutive column blocks of [0, n) that the same rows of
  // [r0, r1) reach, skipping blocks no row reaches.
  template <typename Mask, typename F>
  static void forEachRun(int r0, int r1, int n, const Mask& mask, F f) {
    const auto reaching = [&](int c0) {
      const IndexRange rows = mask.rows(c0, std::min(n, c0 + kBlockCols));
      return IndexRange{std::max(rows.begin, r0), std::min(rows.end, r1)};
    };
    int c0 = 0;
    IndexRange rows = reaching(0);
    while (c0 < n) {
      int c1 = std::min(n, c0 + kBlockCols);
      IndexRange next{0, 0};
      for (; c1 < n; c1 = std::min(n, c1 + kBlockCols)) {
        next = reaching(c1);
        if (next.begin != rows.begin || next.end != rows.end) break;
      }
      if (rows.size() > 0) f(c0, c1, rows);
      c0 = c1;
      rows = next;
    }
  }

  // O += P·V over the columns each row sees. The others hold zero weights, which add nothing
  // to finite values; when the tile is partly masked and holds a NaN or infinite value, it goes
  // row by row in runs of visible columns, so that a masked key never enters a row's product.
  template <typename Mask>
  void accumulate(int r0, int r1, const KeyTile& keys, const Mask& mask, bool whole) {
    if (whole || allFinite(keys.v, keys.n, D_, keys.ldv)) {
      forEachRun(r0, r1, keys.n, mask, [&](int c0, int c1, IndexRange rows) {
        gemmNN(rows.size(), D_, c1 - c0, scores_.data() + size_t(rows.begin) * ldScores_ + c0, ldScores_,
               keys.v + size_t(c0) * keys.ldv, keys.ldv, acc_.data() + size_t(rows.begin) * D_, D_);
      });
      return;
    }
    const std::vector<int>& removed = mask.removed();
    for (int r = r0; r < r1; ++r) {
      const IndexRange span = visible_[size_t(r)];
      int begin = span.begin;
      for (int c : removed) {
        if (c < begin) continue;
        if (c >= span.end) break;
        accumulateRun(r, begin, c, keys);
        begin = c + 1;
      }
      accumulateRun(r, begin, span.end, keys);
    }
  }

  void accumulateRun(int r, int c0, int c1, const KeyTile& keys) {
    if (c1 <= c0) return;
    gemmNN(1, D_, c1 - c0, scores_.data() + size_t(r) * ldScores_ + c0, ldScores_, keys.v + size_t(c0) * keys.ldv,
           keys.ldv, acc_.data() + size_t(r) * D_, D_);
  }
};

}  // namespace sa::cpu
