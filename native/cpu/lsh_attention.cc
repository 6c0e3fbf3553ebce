// LSH attention on CPU: hash, sort, then chunked attention one hash round at a time.
//
// A task takes one (batch, head) and a group of consecutive chunks of one round. It gathers,
// through the sorted index and straight from the original layout, the keys (normalised on
// the way in) and the values of every slot its chunks attend to into one window: consecutive
// chunks share most of their key slots, so each key is gathered and normalised about once,
// and within the window each chunk's keys are one contiguous block of rows. A chunk is then
// two small GEMMs (scores = Q·Kᵀ, out = P·V) around the masks and a float32 log-sum-exp.
//
// Rounds are combined online (SEMANTICS 1.8): round 0 writes each token's output to `out`
// and starts a running log-sum-exp of its lse; every later round rescales the token's row
// and adds its own weighted output; a last pass applies exp(max - Λ). Within a round every
// token has exactly one slot, so the tasks of a round never touch the same row, and no
// per-round buffer of size nHashes·L·D is needed.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "cpu/tile_math.h"
#include "kernels/lsh.h"

namespace sa {

namespace {

using lsh::ChunkGeometry;

constexpr int kQueryTile = 64;      // query rows per score tile
constexpr int kWindowSlots = 1024;  // query slots one task handles
constexpr int kRowsPerTask = 256;   // tokens per task of the final scaling pass
constexpr int kPrefetchRows = 4;    // gathers request rows this far ahead

struct ChunkInputs {
  const float* qk;             // [B, H, L, D]
  const float* v;              // [B, H, L, D]
  const int32_t* sorted;       // [B, H, nChunks * chunkLength], or null: identity order
  const int32_t* paddingMask;  // [B, L] or null
  int H, L, Lp, D;
  ChunkGeometry geometry;
  bool causal;
  lsh::MaskValues maskValues;
};

// out [B, H, L, D] holds the rounds combined so far, scaled relative to each token's running
// lse max; lse [B, H, L] the running log-sum-exp of each token (only with several rounds).
struct RoundOutputs {
  float* out;
  lsh::RoundsLogSumExp* lse;
  int round;
};

// Per-task buffers: the key window and one query tile with its scores and output.
struct ChunkScratch {
  std::vector<float> keys, values;          // [window, D]
  std::vector<int32_t> keyPos, keyAllowed;  // [window]: position, firstAllowedQuery
  std::vector<float> queries, scores, acc;  // [tile, D], [tile, keysPerQuery], [tile, D]
  std::vector<lsh::SlotToken> queryTokens;  // [tile]
  std::vector<float> rowLse, rowScale;      // [tile]

  ChunkScratch(int windowRows, int keys, int D)
      : keys(size_t(windowRows) * D), values(size_t(windowRows) * D), keyPos(windowRows), keyAllowed(windowRows),
        queries(size_t(kQueryTile) * D), scores(size_t(kQueryTile) * keys), acc(size_t(kQueryTile) * D),
        queryTokens(kQueryTile), rowLse(kQueryTile), rowScale(kQueryTile) {}
};

void prefetchRow(const float* row, int D) {
  for (int d = 0; d < D; d += 64 / int(sizeof(float))) __builtin_prefetch(row + d);
}

// key = n(x) (SEMANTICS 1.6).
void normalizeKey(const float* x, int D, float sqrtD, float* key) {
  float sumSquares = 0.0f;
  for (int d = 0; d < D; ++d) sumSquares += x[d] * x[d];
  const float scale = lsh::keyNormScale(sumSquares, D);
  for (int d = 0; d < D; ++d) key[d] = lsh::normalizedKeyComponent(x[d], scale, sqrtD);
}

const int32_t* sortedRowOf(const ChunkInputs& in, int64_t bh) {
  return in.sorted ? in.sorted + bh * in.geometry.nChunks * in.geometry.chunkLength : nullptr;
}

// Window rows w = 0..rows-1 hold the key slots keySlot(firstChunk, w): normalised keys and
// values, zero rows for the padding positions of 1.10.
void gatherWindow(const ChunkInputs& in, int64_t bh, int firstChunk, int rows, ChunkScratch& s) {
  const int D = in.D;
  const int32_t* sortedRow = sortedRowOf(in, bh);
  const int32_t* maskRow = in.paddingMask ? in.paddingMask + (bh / in.H) * in.L : nullptr;
  for (int w = 0; w < rows; ++w) {
    const int pos = lsh::slotToken(sortedRow, lsh::keySlot(in.geometry, firstChunk, w), in.Lp).pos;
    s.keyPos[w] = pos;
    s.keyAllowed[w] = lsh::firstAllowedQuery(pos, lsh::isPaddingToken(maskRow, pos, in.L), in.causal);
  }
  const float* qk = in.qk + bh * in.L * D;
  const float* v = in.v + bh * in.L * D;
  const float sqrtD = std::sqrt(float(D));
  for (int w = 0; w < rows; ++w) {
    if (w + kPrefetchRows < rows && s.keyPos[w + kPrefetchRows] < in.L) {
      prefetchRow(qk + int64_t(s.keyPos[w + kPrefetchRows]) * D, D);
      prefetchRow(v + int64_t(s.keyPos[w + kPrefetchRows]) * D, D);
    }
    const int pos = s.keyPos[w];
    float* key = &s.keys[size_t(w) * D];
    float* value = &s.values[size_t(w) * D];
    if (pos < in.L) {
      normalizeKey(qk + int64_t(pos) * D, D, sqrtD, key);
      std::memcpy(value, v + int64_t(pos) * D, sizeof(float) * D);
    } else {
      std::fill(key, key + D, 0.0f);
      std::fill(value, value + D, 0.0f);
    }
  }
}

// Queries of slots [slot0, slot0 + m): raw qk rows (zero for padding positions).
void gatherQueries(const ChunkInputs& in, int64_t bh, int slot0, int m, ChunkScratch& s) {
  const int D = in.D;
  const int32_t* sortedRow = sortedRowOf(in, bh);
  for (int i = 0; i < m; ++i) s.queryTokens[i] = lsh::slotToken(sortedRow, slot0 + i, in.Lp);
  const float* qk = in.qk + bh * in.L * D;
  for (int i = 0; i < m; ++i) {
    if (i + kPrefetchRows < m && s.queryTokens[i + kPrefetchRows].pos < in.L)
      prefetchRow(qk + int64_t(s.queryTokens[i + kPrefetchRows].pos) * D, D);
    const int pos = s.queryTokens[i].pos;
    float* query = &s.queries[size_t(i) * D];
    if (pos < in.L) {
      std::memcpy(query, qk + int64_t(pos) * D, sizeof(float) * D);
    } else {
      std::fill(query, query + D, 0.0f);
    }
  }
}

// Masks each score row, then turns it into exp(score - M) in place and records the row's
// float32 lse and the factor exp(M - lse) that makes Σ exp(score - M)·v equal Σ p·v.
void softmaxRows(const ChunkInputs& in, int m, int keyOffset, ChunkScratch& s) {
  const int K = lsh::keysPerQuery(in.geometry);
  const int32_t* keyPos = &s.keyPos[keyOffset];
  const int32_t* keyAllowed = &s.keyAllowed[keyOffset];
  for (int i = 0; i < m; ++i) {
    float* row = &s.scores[size_t(i) * K];
    const int qPos = s.queryTokens[i].pos;
    for (int j = 0; j < K; ++j) row[j] = lsh::maskedScore(row[j], qPos, keyPos[j], keyAllowed[j], in.maskValues);
    const float max = cpu::rowMax(row, K);
    const float lse = lsh::logSumExpFromMax(max, cpu::expSumShifted(row, K, max));
    s.rowLse[i] = lse;
    s.rowScale[i] = std::exp(max - lse);
  }
}

// Writes (round 0) or adds (later rounds) each query's output into its token's row.
void storeRows(const ChunkInputs& in, const RoundOutputs& out, int64_t bh, int m, const ChunkScratch& s) {
  const int D = in.D;
  for (int i = 0; i < m; ++i) {
    const int pos = s.queryTokens[i].pos;
    if (pos >= in.L) continue;  // a padding row of 1.10, dropped
    float* dst = out.out + (bh * in.L + pos) * D;
    const float* acc = &s.acc[size_t(i) * D];
    float keep = 0.0f, weight = s.rowScale[i];
    if (out.lse) {
      lsh::RoundsLogSumExp& lse = out.lse[bh * in.L + pos];
      if (out.round == 0) lse = lsh::RoundsLogSumExp{};
      keep = lse.add(s.rowLse[i]);
      weight *= std::exp(s.rowLse[i] - lse.max);
    }
    if (out.round == 0) {
      for (int d = 0; d < D; ++d) dst[d] = acc[d] * weight;
    } else {
      for (int d = 0; d < D; ++d) dst[d] = dst[d] * keep + acc[d] * weight;
    }
  }
}

// One chunk whose keys start at window row keyOffset, in query tiles of kQueryTile rows.
void attendChunk(const ChunkInputs& in, const RoundOutputs& out, int64_t bh, int chunk, int keyOffset,
                 ChunkScratch& s) {
  const int c = in.geometry.chunkLength, K = lsh::keysPerQuery(in.geometry), D = in.D;
  const float* keys = &s.keys[size_t(keyOffset) * D];
  const float* values = &s.values[size_t(keyOffset) * D];
  for (int i0 = 0; i0 < c; i0 += kQueryTile) {
    const int m = std::min(kQueryTile, c - i0);
    gatherQueries(in, bh, chunk * c + i0, m, s);
    cpu::gemmNT(m, K, D, s.queries.data(), D, keys, D, s.scores.data(), K);
    softmaxRows(in, m, keyOffset, s);
    std::fill(s.acc.begin(), s.acc.end(), 0.0f);
    cpu::gemmNN(m, D, K, s.scores.data(), K, values, D, s.acc.data(), D);
    storeRows(in, out, bh, m, s);
  }
}

// All chunks [firstChunk, firstChunk + nChunks) of every head: one hash round.
void attendRound(const CpuContext& ctx, int64_t heads, const ChunkInputs& in, int firstChunk, int nChunks,
                 const RoundOutputs& out) {
  const ChunkGeometry& g = in.geometry;
  const int chunksPerTask = std::max(1, kWindowSlots / g.chunkLength);
  const int groups = (nChunks + chunksPerTask - 1) / chunksPerTask;
  parallelFor(ctx, heads * groups, [&](int64_t task) {
    const int64_t bh = task / groups;
    const int first = int(task % groups) * chunksPerTask;
    const int count = std::min(chunksPerTask, nChunks - first);
    const int windowRows = (count - 1) * g.chunkLength + lsh::keysPerQuery(g);
    ChunkScratch scratch(windowRows, lsh::keysPerQuery(g), in.D);
    gatherWindow(in, bh, firstChunk + first, windowRows, scratch);
    for (int k = 0; k < count; ++k)
      attendChunk(in, out, bh, firstChunk + first + k, k * g.chunkLength, scratch);
  });
}

// out[t] *= exp(max - Λ): the combined rows relative to each token's total log-sum-exp.
void finishRounds(const CpuContext& ctx, int64_t tokens, int D, const lsh::RoundsLogSumExp* lse, float* out) {
  parallelFor(ctx, (tokens + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task) {
    const int64_t end = std::min(tokens, (task + 1) * kRowsPerTask);
    for (int64_t t = task * kRowsPerTask; t < end; ++t)
      cpu::scaleRow(out + t * D, D, std::exp(lse[t].max - lse[t].total()));
  });
}

// The sorted index [heads, nHashes * Lp] of the chunked path.
std::unique_ptr<int32_t[]> hashAndSort(const CpuContext& ctx, const LshAttentionShape& s, int Lp, const float* qk,
                                       const float* rotations, const int32_t* paddingMask) {
  const int64_t heads = int64_t(s.B) * s.H, n = int64_t(s.nHashes) * Lp;
  std::unique_ptr<int32_t[]> buckets(new int32_t[size_t(heads * n)]), sorted(new int32_t[size_t(heads * n)]);
  lshHashCpu(ctx, LshHashShape{s.B, s.H, s.L, Lp, s.D, s.nHashes, s.factors}, qk, rotations, paddingMask,
             buckets.get());
  sortByBucketCpu(ctx, int(heads), int(n), buckets.get(), sorted.get(), nullptr);
  return sorted;
}

}  // namespace

void lshAttentionCpu(const CpuContext& ctx, const LshAttentionShape& s, bool halfPrecisionMasks, const float* qk,
                     const float* v, const float* rotations, const int32_t* paddingMask, float* out) {
  const int64_t heads = int64_t(s.B) * s.H;
  const bool standard = s.L <= s.chunkLength;
  const int Lp = lshPaddedLength(s.L, s.chunkLength);
  const int rounds = standard ? 1 : s.nHashes;
  const ChunkGeometry geometry = standard ? ChunkGeometry{s.L, 0, 0, 1}
                                          : ChunkGeometry{s.chunkLength, s.chunksBefore, s.chunksAfter,
                                                          s.nHashes * Lp / s.chunkLength};
  const std::unique_ptr<int32_t[]> sorted = standard ? nullptr : hashAndSort(ctx, s, Lp, qk, rotations, paddingMask);
  const ChunkInputs in{qk, v, sorted.get(), paddingMask, s.H, s.L, Lp, s.D, geometry, s.causal,
                       lsh::maskValues(halfPrecisionMasks)};
  std::unique_ptr<lsh::RoundsLogSumExp[]> lse(rounds > 1 ? new lsh::RoundsLogSumExp[size_t(heads * s.L)] : nullptr);
  const int chunksPerRound = geometry.nChunks / rounds;
  for (int r = 0; r < rounds; ++r)
    attendRound(ctx, heads, in, r * chunksPerRound, chunksPerRound, RoundOutputs{out, lse.get(), r});
  if (rounds > 1) finishRounds(ctx, heads * s.L, s.D, lse.get(), out);
}

}  // namespace sa
