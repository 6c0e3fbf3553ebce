// Index and mask logic of sliding-window attention with global tokens (docs/semantics.md 2),
// shared by the CPU and CUDA kernels so that the CPU tests exercise what the GPU runs.
//
// Window: query t sees the window keys j in [t - left, t + right] ∩ [0, L). Hugging Face's
// attention_window w is left = right = w / 2; [w, 0] is causal local attention.
//
// Why the kernels drop masked keys instead of adding FMIN (float32 lowest) to them:
//   the local branch decides the output of a query t only when t is a local token (mask 0);
//   padding rows are zero and global rows come from the global branch. Such a t always sees
//   itself (offset 0 is in every window, and t is neither padding nor global), so its row
//   maximum m is an ordinary score. A masked window score s + FMIN rounds to about FMIN, an
//   unused global column is FMIN, and exp(FMIN - m) is exactly 0 in float32: neither carries
//   weight. Hence
//     * a local query's softmax runs over its visible window keys and the global columns of
//       its own batch row (the local k/v of those global tokens), nothing else;
//     * n_max (the batch-wide number of global columns) and the batch-wide "some token is
//       global" rule change no output, so the kernels do not compute them;
//     * the degenerate row whose every key is masked (all scores FMIN: in float32 a uniform
//       average over the masked window keys and the zero values of unused global columns)
//       can only be the row of a padding or global query, whose local result is discarded;
//       the kernels never form it.
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace sa {

enum class TokenRole : int { Padding, Local, Global };

// Only the sign of a mask value matters (docs/semantics.md 2.1); the API accepts -1, 0 and 1 only.
SA_HD bool validMaskValue(int32_t value) { return value >= -1 && value <= 1; }

SA_HD TokenRole tokenRole(int32_t maskValue) {
  return maskValue < 0 ? TokenRole::Padding : maskValue > 0 ? TokenRole::Global : TokenRole::Local;
}

// Padding and global tokens are removed from every window (a global token is counted once,
// through its global column).
SA_HD bool removedFromWindow(int32_t maskValue) { return maskValue != 0; }

struct LocalWindow {
  int left, right;  // keys visible before / after a query
};

// A window reaching past the whole sequence sees the same keys as one of L - 1.
SA_HD LocalWindow clampWindow(int64_t left, int64_t right, int L) {
  const int64_t widest = L > 0 ? L - 1 : 0;
  return {int(left < widest ? left : widest), int(right < widest ? right : widest)};
}

// Positions [begin, end) of keys or queries; empty when end <= begin.
struct IndexRange {
  int begin, end;
  SA_HD int size() const { return end > begin ? end - begin : 0; }
  SA_HD bool covers(int b, int e) const { return begin <= b && e <= end; }
};

// Index arithmetic is 64-bit: t + right may pass INT_MAX when L is near it.
SA_HD int clampIndex(int64_t x, int L) { return int(x < 0 ? 0 : x > L ? L : x); }

// Keys of query t's window that exist: [t - left, t + right] ∩ [0, L).
SA_HD IndexRange bandKeys(LocalWindow w, int L, int t) {
  return {clampIndex(int64_t(t) - w.left, L), clampIndex(int64_t(t) + w.right + 1, L)};
}

// Union of the bands of the queries [i0, i1) (i0 < i1): the only keys a query tile visits.
SA_HD IndexRange tileBandKeys(LocalWindow w, int L, int i0, int i1) {
  return {bandKeys(w, L, i0).begin, bandKeys(w, L, i1 - 1).end};
}

// Keys in the window of every query of [i0, i1): a key tile inside needs no per-row clipping.
// Between it and the ends of tileBandKeys lie the band's diagonal edges.
SA_HD IndexRange keysInEveryBand(LocalWindow w, int L, int i0, int i1) {
  return {clampIndex(int64_t(i1) - 1 - w.left, L), clampIndex(int64_t(i0) + w.right + 1, L)};
}

// Queries whose window holds some key of [j0, j1): the only rows a key tile needs.
SA_HD IndexRange queriesReaching(LocalWindow w, int L, int j0, int j1) {
  return {clampIndex(int64_t(j0) - w.right, L), clampIndex(int64_t(j1) + w.left, L)};
}

enum class WindowKey : int {
  Absent,   // outside the window or the sequence: no score at all (-inf)
  Removed,  // padding or global key: FMIN added, weight 0 (see the top of this file)
  Visible,
};

SA_HD WindowKey classifyWindowKey(LocalWindow w, int L, int t, int j, int32_t maskOfKey) {
  const IndexRange band = bandKeys(w, L, t);
  if (j < band.begin || j >= band.end) return WindowKey::Absent;
  return removedFromWindow(maskOfKey) ? WindowKey::Removed : WindowKey::Visible;
}

// The global columns of a batch row are its global tokens in ascending position. These two
// work on a slice [begin, end) of the row's mask so that parallel workers can each take a
// slice: an exclusive scan of the slices' counts gives each one its output offset.
SA_HD int countGlobalTokens(const int32_t* maskRow, int begin, int end) {
  int count = 0;
  for (int t = begin; t < end; ++t) count += tokenRole(maskRow[t]) == TokenRole::Global ? 1 : 0;
  return count;
}

// Writes the global positions of [begin, end) to out[0..) in order; returns how many.
SA_HD int listGlobalTokens(const int32_t* maskRow, int begin, int end, int32_t* out) {
  int count = 0;
  for (int t = begin; t < end; ++t)
    if (tokenRole(maskRow[t]) == TokenRole::Global) out[count++] = t;
  return count;
}

}  // namespace sa
