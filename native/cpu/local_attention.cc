// Sliding-window attention with global tokens on CPU (kernels/local.h), flash-style: a tile
// of queries stays in cache while the key/value tiles of its band stream through with an
// online softmax. Only the band is visited: wide key tiles where every query of the tile sees
// every key, narrow ones across the band's diagonal edges, each computed only for the queries
// whose windows reach it and clipped per row. Global rows are separate tasks: a tile of global
// queries attends to every non-padding key with the global projections.
#include <algorithm>
#include <string>
#include <vector>

#include "cpu/softmax_tile.h"
#include "kernels/local.h"

namespace sa {

namespace {

constexpr int kQueryTile = 64;
constexpr int kKeyTile = 256;  // the widest key tile; also the global-column chunk
constexpr int kEdgeKeyTile = 32;  // key tiles across the band's diagonal edges

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

// The columns of a key tile a local query tile's rows see: nothing for rows that are not
// local tokens; a local row sees its window's part of the tile (all of it when `clip` is
// false), less the padding and global keys in `removedKeys`. Global columns are the tile with
// clip false and no removed key.
struct LocalRows : cpu::MaskPolicy {
  const LocalShape* s;
  const RowTokens* tokens;
  int i0, j0;
  bool clip;
  const std::vector<int>* removedKeys;
  IndexRange columns(int r) const {
    if (tokens->role(i0 + r) != TokenRole::Local) return {0, 0};
    if (!clip) return {0, n};
    const IndexRange keys = bandKeys(s->window, s->L, i0 + r);
    return {std::max(keys.begin, j0) - j0, std::min(keys.end, j0 + n) - j0};
  }
  const std::vector<int>& removed() const { return *removedKeys; }
};

// Every column, less the padding keys in `paddingKeys`: the keys of a global query.
struct GlobalRows : cpu::MaskPolicy {
  const std::vector<int>* paddingKeys;
  const std::vector<int>& removed() const { return *paddingKeys; }
};

cpu::SoftmaxTile& threadTile(int D) { return cpu::SoftmaxTile::forThisThread(kQueryTile, kKeyTile, D); }

// The calling worker thread's list of removed columns of the current key tile.
std::vector<int>& threadRemoved() {
  thread_local std::vector<int> removed;
  removed.clear();
  return removed;
}

// ---- Local rows: one task per (batch, head, tile of kQueryTile queries) ----

// The global columns: every global token of the row, with its local key and value.
void attendGlobalColumns(const HeadSlice& h, const RowTokens& row, int i0, cpu::SoftmaxTile& t) {
  const int D = t.D();
  const std::vector<int>& none = threadRemoved();
  for (size_t g0 = 0; g0 < row.globals.size(); g0 += kKeyTile) {
    const int n = int(std::min<size_t>(kKeyTile, row.globals.size() - g0));
    const cpu::KeyTile keys = t.gather(n, [&](int c, float* key, float* value) {
      const int64_t g = row.globals[g0 + size_t(c)];
      std::copy_n(h.in.k + g * h.ld, D, key);
      std::copy_n(h.in.v + g * h.ld, D, value);
    });
    t.attend(0, t.rows(), keys, LocalRows{{n}, nullptr, &row, i0, 0, false, &none});
  }
}

// One key tile [j0, j0 + n) of the band, for the queries whose windows reach it.
void attendKeyTile(const LocalShape& s, const HeadSlice& h, const RowTokens& row, int i0, int j0, int n,
                   cpu::SoftmaxTile& t) {
  const IndexRange reaching = queriesReaching(s.window, s.L, j0, j0 + n);
  const int r0 = std::max(reaching.begin - i0, 0), r1 = std::min(reaching.end - i0, t.rows());
  std::vector<int>& removed = threadRemoved();
  if (RowTokens::anyIn(row.removedBefore, j0, j0 + n))
    for (int c = 0; c < n; ++c)
      if (removedFromWindow(row.mask[j0 + c])) removed.push_back(c);
  const bool clip = !keysInEveryBand(s.window, s.L, i0, i0 + t.rows()).covers(j0, j0 + n);
  const cpu::KeyTile keys{n, h.in.k + int64_t(j0) * h.ld, h.ld, h.in.v + int64_t(j0) * h.ld, h.ld};
  t.attend(r0, r1, keys, LocalRows{{n}, &s, &row, i0, j0, clip, &removed});
}

void attendKeys(const LocalShape& s, const HeadSlice& h, const RowTokens& row, int i0, IndexRange keys, int width,
                cpu::SoftmaxTile& t) {
  for (int j0 = keys.begin; j0 < keys.end; j0 += width)
    attendKeyTile(s, h, row, i0, j0, std::min(width, keys.end - j0), t);
}

// The band in key tiles: narrow ones across its diagonal edges, where each tile is computed
// for the queries whose windows reach it only, and wide ones where every query sees every key.
void attendBand(const LocalShape& s, const HeadSlice& h, const RowTokens& row, int i0, cpu::SoftmaxTile& t) {
  const int i1 = i0 + t.rows();
  const IndexRange band = tileBandKeys(s.window, s.L, i0, i1);
  IndexRange inner = keysInEveryBand(s.window, s.L, i0, i1);
  if (inner.size() == 0) inner = {band.end, band.end};
  attendKeys(s, h, row, i0, {band.begin, inner.begin}, kEdgeKeyTile, t);
  attendKeys(s, h, row, i0, inner, kKeyTile, t);
  attendKeys(s, h, row, i0, {inner.end, band.end}, kEdgeKeyTile, t);
}

// Local rows get their result, padding rows 0; global rows are left to the global tasks.
void writeLocalTile(const HeadSlice& h, const RowTokens& row, int i0, int m, const cpu::SoftmaxTile* t, int D) {
  for (int r = 0; r < m; ++r) {
    float* dst = h.out + int64_t(i0 + r) * h.ld;
    const TokenRole role = row.role(i0 + r);
    if (role == TokenRole::Padding) std::fill(dst, dst + D, 0.0f);
    if (role == TokenRole::Local) t->writeRow(r, dst);
  }
}

void localQueryTile(const LocalShape& s, const HeadSlice& h, const RowTokens& row, int i0, cpu::SoftmaxTile& t) {
  const int m = std::min(kQueryTile, s.L - i0);
  bool anyLocal = false;
  for (int r = 0; r < m && !anyLocal; ++r) anyLocal = row.role(i0 + r) == TokenRole::Local;
  if (!anyLocal) return writeLocalTile(h, row, i0, m, nullptr, s.D);
  t.start(m, [&](int r) { return h.in.q + int64_t(i0 + r) * h.ld; }, s.scale);
  attendGlobalColumns(h, row, i0, t);
  attendBand(s, h, row, i0, t);
  writeLocalTile(h, row, i0, m, &t, s.D);
}

// ---- Global rows: one task per (batch, head, tile of kQueryTile global tokens) ----

void globalQueryTile(const LocalShape& s, const HeadSlice& h, const RowTokens& row, size_t first, cpu::SoftmaxTile& t) {
  const int m = int(std::min<size_t>(kQueryTile, row.globals.size() - first));
  const int32_t* tokens = row.globals.data() + first;
  t.start(m, [&](int r) { return h.in.qGlobal + int64_t(tokens[r]) * h.ld; }, s.scale);
  for (int j0 = 0; j0 < s.L; j0 += kKeyTile) {
    const int n = std::min(kKeyTile, s.L - j0);
    std::vector<int>& padding = threadRemoved();
    if (RowTokens::anyIn(row.paddingBefore, j0, j0 + n)) {
      if (row.paddingBefore[size_t(j0 + n)] - row.paddingBefore[size_t(j0)] == n) continue;
      for (int c = 0; c < n; ++c)
        if (row.role(j0 + c) == TokenRole::Padding) padding.push_back(c);
    }
    const cpu::KeyTile keys{n, h.in.kGlobal + int64_t(j0) * h.ld, h.ld, h.in.vGlobal + int64_t(j0) * h.ld, h.ld};
    t.attend(0, m, keys, GlobalRows{{n}, &padding});
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
