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
//      };
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
  const std::vector<int>& removed() const {
    static const std::vector<int> none;
    return none;
  }
  void adjust(int, float*, IndexRange) const {}
};

// Row r sees the keys [0, end(r)) of the sequence, of which the tile holds [j0, j0 + n):
// dense attention (end = Lk, or i + 1 when causal); `end` maps a row to its key end.
template <typename End>
struct Prefix : MaskPolicy {
  int j0;
  End end;
  Prefix(int n_, int j0_, End end_) : MaskPolicy{n_}, j0(j0_), end(end_) {}
  IndexRange columns(int r) const { return {0, std::max(0, std::min(n, end(r) - j0))}; }
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
    gemmNT(r1 - r0, keys.n, D_, queries_.data() + size_t(r0) * D_, D_, keys.k, keys.ldk,
           scores_.data() + size_t(r0) * ldScores_, ldScores_);
    const std::vector<int>& removed = mask.removed();
    bool whole = removed.empty();
    for (int r = r0; r < r1; ++r) {
      fold(r, keys.n, mask.columns(r), removed, mask);
      whole = whole && visible_[size_t(r)].begin == 0 && visible_[size_t(r)].end == keys.n;
    }
    accumulate(r0, r1, keys, removed, whole);
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

  // O += P·V over the columns each row sees. The others hold zero weights, which add nothing
  // to finite values; when the tile is partly masked and holds a NaN or infinite value, it goes
  // row by row in runs of visible columns, so that a masked key never enters a row's product.
  void accumulate(int r0, int r1, const KeyTile& keys, const std::vector<int>& removed, bool whole) {
    if (whole || allFinite(keys.v, keys.n, D_, keys.ldv)) {
      gemmNN(r1 - r0, D_, keys.n, scores_.data() + size_t(r0) * ldScores_, ldScores_, keys.v, keys.ldv,
             acc_.data() + size_t(r0) * D_, D_);
      return;
    }
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
