// Sliding-window attention with global tokens on CPU (kernels/local.h), flash-style: a tile
// of queries stays in cache while the keys and values of its band stream through the softmax
// tile (cpu/softmax_tile.h) with an online softmax. Only the band is visited, in column blocks
// each computed for the queries whose windows reach it: the band's diagonal edges for some
// rows, the keys in every window for all; each row is clipped to its window. Global rows are
// separate tasks: a tile of global queries attends to every non-padding key with the global
// projections.
#include <algorithm>
#include <string>
#include <vector>

#include "cpu/huge_pages.h"
#include "cpu/softmax_tile.h"
#include "kernels/local.h"

namespace sa {

namespace {

constexpr int kQueryTile = 64;
// The widest key tile: a whole band of ±256 keys and a tile of queries; also the global-column chunk.
constexpr int kKeyTile = 640;

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

// The columns of a key tile [j0, j0 + n) of the band a local query tile's rows see: nothing
// for rows that are not local tokens; a local row sees its window's part of the tile, less the
// padding and global keys in `removedKeys`. The global columns are the tile with `shape` null:
// every column, for every local row.
struct LocalRows : cpu::MaskPolicy {
  const LocalShape* shape;
  const RowTokens* tokens;
  int i0, j0;
  const std::vector<int>* removedKeys;
  IndexRange columns(int r) const {
    if (tokens->role(i0 + r) != TokenRole::Local) return {0, 0};
    if (!shape) return {0, n};
    const IndexRange keys = bandKeys(shape->window, shape->L, i0 + r);
    return {std::max(keys.begin, j0) - j0, std::min(keys.end, j0 + n) - j0};
  }
  IndexRange rows(int c0, int c1) const {
    if (!shape) return MaskPolicy::rows(c0, c1);
    const IndexRange q = queriesReaching(shape->window, shape->L, j0 + c0, j0 + c1);
    return {q.begin - i0, q.end - i0};
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
    t.attend(0, t.rows(), keys, LocalRows{{n}, nullptr, &row, i0, 0, &none});
  }
}

// The band of the query tile in key tiles of at most kKeyTile keys, each computed in column
// blocks for the queries whose windows reach them: the band's diagonal edges only for some rows,
// the keys in every window for all.
void attendBand(const LocalShape& s, const HeadSlice& h, const RowTokens& row, int i0, cpu::SoftmaxTile& t) {
  const IndexRange band = tileBandKeys(s.window, s.L, i0, i0 + t.rows());
  for (int j0 = band.begin; j0 < band.end; j0 += kKeyTile) {
    const int n = std::min(kKeyTile, band.end - j0);
    std::vector<int>& removed = threadRemoved();
    if (RowTokens::anyIn(row.removedBefore, j0, j0 + n))
      for (int c = 0; c < n; ++c)
        if (removedFromWindow(row.mask[j0 + c])) removed.push_back(c);
    const cpu::KeyTile keys{n, h.in.k + int64_t(j0) * h.ld, h.ld, h.in.v + int64_t(j0) * h.ld, h.ld};
    t.attend(0, t.rows(), keys, LocalRows{{n}, &s, &row, i0, j0, &removed});
  }
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
  cpu::adviseHugePages(out, size_t(s.B) * s.H * s.L * s.D * sizeof(float));
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
