// LSH attention on CPU: hash, sort, then chunked attention and the combination of the rounds,
// block of heads by block of heads.
//
// A task takes one (batch, head) and a group of consecutive chunks of its sorted sequence.
// It gathers, through the sorted index and straight from the original layout, the raw qk
// rows, the keys (normalised on the way in with norms computed once per call) and the values
// of every slot its chunks attend to into one window: consecutive chunks share most of their
// key slots, so each row is gathered about once per round; within the window each chunk's
// keys are one contiguous block of rows and its queries another. A chunk is then one key tile
// of the CPU softmax tile (cpu/softmax_tile.h: scores = Q·Kᵀ, out = P·V) read in place from
// the window, with LSH's masks as its mask policy, and a float32 log-sum-exp per query.
//
// Reformer's local attention runs the same chunks over the identity order: separate queries
// and keys (divided by sqrt(D) instead of normalised), no hashing, no self mask, one round.
//
// Results go to the tokens' original positions: straight into `out` with one round, else into
// the per-round rows of the current block of heads ([heads of the block, rounds, L, D] and
// their lse), which a last pass combines with the weights of docs/semantics.md 1.8. The rows are
// scattered, so they are streamed around the caches instead of evicting the window. Within a
// round every token has exactly one slot, so tasks never write the same row.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "cpu/softmax_tile.h"
#include "cpu/tile_math.h"
#include "kernels/lsh.h"
#include "kernels/reformer_local.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace sa {

namespace {

using lsh::ChunkGeometry;

constexpr int kQueryTile = 64;      // query rows per score tile
constexpr int kWindowSlots = 512;   // query slots one task handles at most
constexpr int kRowsPerTask = 256;   // tokens per task of the per-token passes (key norms, combination)
constexpr int kPrefetchRows = 4;    // gathers request rows this far ahead
constexpr int kTasksPerCore = 4;    // tasks of a pass per core, for the pool to balance

struct ChunkInputs {
  const float* q;              // queries, rows of `layout`: LSH's raw qk
  const float* k;              // keys before their transform: LSH's qk again
  const float* keyScales;      // [B, H, L]: 1 / sqrt(mean(qk²) + 1e-6) of each token, or null: 1
  const float* v;              // values, rows of `layout`
  const int32_t* sorted;       // [B, H, nChunks * chunkLength], or null: identity order
  const int32_t* paddingMask;  // [B, L] or null
  HeadLayout layout;           // of q, k, v and out
  int H, L, Lp, D;
  ChunkGeometry geometry;
  bool causal;
  lsh::MaskValues maskValues;
};

// Where a pass's results go: with one round the rows of `out` (rows of `layout`); else
// roundOut [heads of the pass, rounds, L, D] and roundLse [heads of the pass, rounds, L].
struct PassOutputs {
  float* out;
  HeadLayout layout;
  float* roundOut;
  float* roundLse;
  int64_t firstHead;
  int rounds;
};

// Scratch that is always written before it is read: no zero fill.
template <typename T>
std::unique_ptr<T[]> uninitialized(size_t count) {
  return std::unique_ptr<T[]>(new T[count]);
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// Uninitialised and 64-byte aligned, so that rows of a multiple of 16 floats can be streamed.
std::unique_ptr<float[], FreeDeleter> cacheLineAligned(size_t count) {
  const size_t bytes = std::max<size_t>(64, (count * sizeof(float) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  return std::unique_ptr<float[], FreeDeleter>(static_cast<float*>(p));
}

// dst[d] = src[d] * scale. Result rows land at scattered positions and are read back only
// after the pass, so full aligned rows are written with streaming stores: no read of the
// destination and no eviction of the window.
void storeScaledRow(float* dst, const float* src, int D, float scale) {
#if defined(__AVX512F__)
  if (reinterpret_cast<uintptr_t>(dst) % 64 == 0 && D % 16 == 0) {
    const __m512 factor = _mm512_set1_ps(scale);
    for (int d = 0; d < D; d += 16) _mm512_stream_ps(dst + d, _mm512_mul_ps(_mm512_loadu_ps(src + d), factor));
    return;
  }
#endif
  for (int d = 0; d < D; ++d) dst[d] = src[d] * scale;
}

// Orders a task's streaming stores before whatever reads its rows next.
void finishStreaming() {
#if defined(__AVX512F__)
  _mm_sfence();
#endif
}

// A worker's window buffers (a few hundred KiB). Kept per thread and grown on demand, so that
// tasks do not allocate them.
struct ChunkScratch {
  std::vector<float> raw, keys, values;     // [window, D]: qk rows, transformed keys, values
  std::vector<lsh::SlotToken> tokens;       // [window]
  std::vector<int32_t> keyPos, keyAllowed;  // [window]: position, firstAllowedQuery

  static ChunkScratch& forThisThread(int windowRows, int D) {
    thread_local ChunkScratch scratch;
    scratch.reserve(windowRows, D);
    return scratch;
  }

 private:
  void reserve(int windowRows, int D) {
    const size_t rows = size_t(windowRows), floats = rows * D;
    if (raw.size() < floats) {
      raw.resize(floats);
      keys.resize(floats);
      values.resize(floats);
    }
    if (tokens.size() < rows) {
      tokens.resize(rows);
      keyPos.resize(rows);
      keyAllowed.resize(rows);
    }
  }
};

void prefetchRow(const float* row, int D) {
  for (int d = 0; d < D; d += 64 / int(sizeof(float))) __builtin_prefetch(row + d);
}

// Σ x[d]² over 16 interleaved partial sums, which compilers keep in one vector register; a
// single running sum would be a chain of D dependent additions.
float sumOfSquares(const float* x, int D) {
  constexpr int kPartials = 16;
  float partial[kPartials] = {};
  int d = 0;
  for (; d + kPartials <= D; d += kPartials)
    for (int j = 0; j < kPartials; ++j) partial[j] += x[d + j] * x[d + j];
  for (; d < D; ++d) partial[d % kPartials] += x[d] * x[d];
  float sum = 0.0f;
  for (float p : partial) sum += p;
  return sum;
}

// keyScales[bh * L + t] for every token: the norm part of n(x) (docs/semantics.md 1.6), computed once
// rather than in every window and round that gathers the key.
void computeKeyScales(const CpuContext& ctx, int64_t tokens, const HeadLayout& layout, const float* qk,
                      float* keyScales) {
  parallelFor(ctx, (tokens + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task) {
    const int64_t end = std::min(tokens, (task + 1) * kRowsPerTask);
    for (int64_t t = task * kRowsPerTask; t < end; ++t)
      keyScales[t] = lsh::keyNormScale(sumOfSquares(qk + layout.row(t / layout.L, t % layout.L), layout.D), layout.D);
  });
}

// Window rows w = 0..rows-1 hold the slots keySlot(firstChunk, w): query rows (the queries of
// the chunks' own slots), transformed keys and values, zero rows for padding positions (1.10).
void gatherWindow(const ChunkInputs& in, int64_t bh, int firstChunk, int rows, ChunkScratch& s) {
  const int D = in.D;
  const int32_t* sortedRow = in.sorted ? in.sorted + bh * in.geometry.nChunks * in.geometry.chunkLength : nullptr;
  const int32_t* maskRow = in.paddingMask ? in.paddingMask + (bh / in.H) * in.L : nullptr;
  for (int w = 0; w < rows; ++w) {
    const lsh::SlotToken token = lsh::slotToken(sortedRow, lsh::keySlot(in.geometry, firstChunk, w), in.Lp);
    s.tokens[w] = token;
    s.keyPos[w] = token.pos;
    s.keyAllowed[w] = lsh::firstAllowedQuery(token.pos, lsh::isPaddingToken(maskRow, token.pos, in.L), in.causal);
  }
  const int64_t base = in.layout.base(bh), ld = in.layout.rowStride();
  const float* q = in.q + base;
  const float* k = in.k + base;
  const float* v = in.v + base;
  const float* keyScales = in.keyScales ? in.keyScales + bh * in.L : nullptr;
  const float sqrtD = std::sqrt(float(D));
  for (int w = 0; w < rows; ++w) {
    const int ahead = w + kPrefetchRows < rows ? s.keyPos[w + kPrefetchRows] : in.L;
    if (ahead < in.L) {
      prefetchRow(q + ahead * ld, D);
      if (k != q) prefetchRow(k + ahead * ld, D);
      prefetchRow(v + ahead * ld, D);
    }
    const int pos = s.keyPos[w];
    float* raw = &s.raw[size_t(w) * D];
    float* key = &s.keys[size_t(w) * D];
    float* value = &s.values[size_t(w) * D];
    if (pos < in.L) {
      std::memcpy(raw, q + pos * ld, sizeof(float) * D);
      std::memcpy(value, v + pos * ld, sizeof(float) * D);
      const float* keyRow = k + pos * ld;
      const float scale = keyScales ? keyScales[pos] : lsh::kUnnormalizedKey;
      for (int d = 0; d < D; ++d) key[d] = lsh::normalizedKeyComponent(keyRow[d], scale, sqrtD);
    } else {
      std::fill(raw, raw + D, 0.0f);
      std::fill(key, key + D, 0.0f);
      std::fill(value, value + D, 0.0f);
    }
  }
}

// The mask policy of a chunk (softmax_tile.h): every key of the chunk is seen by every query,
// none removed; the masks of 1.7 and the self rule are finite scores that still weigh,
// rewritten in place by the per-score test of lsh_logic.h.
struct ChunkMask : cpu::MaskPolicy {
  const lsh::SlotToken* queries;  // [rows of the tile]
  const int32_t* keyPos;          // [n]
  const int32_t* keyAllowed;      // [n]
  lsh::MaskValues values;

  ChunkMask(int n_, const lsh::SlotToken* queries_, const int32_t* keyPos_, const int32_t* keyAllowed_,
            lsh::MaskValues values_)
      : MaskPolicy{n_}, queries(queries_), keyPos(keyPos_), keyAllowed(keyAllowed_), values(values_) {}

  // row[j] = maskedScore(row[j], ...) for j in cols, in a loop the compiler vectorises (the
  // restrict-qualified pointers and the mask values in locals let it).
  void adjust(int r, float* __restrict row, IndexRange cols) const {
    const int qPos = queries[r].pos;
    const int32_t* __restrict allowed = keyAllowed;
    const int32_t* __restrict pos = keyPos;
    const lsh::MaskValues mv = values;
    for (int j = cols.begin; j < cols.end; ++j) row[j] = lsh::maskedScore(row[j], qPos, pos[j], allowed[j], mv);
  }
};

// Each query's output row (and float32 lse, with several rounds) at its token's original
// position: Σ exp(score - M)·v times exp(M - lse), which makes it Σ p·v.
void storeRows(const ChunkInputs& in, const PassOutputs& out, int64_t bh, const lsh::SlotToken* queries,
               const cpu::SoftmaxTile& tile) {
  const int D = in.D;
  for (int i = 0; i < tile.rows(); ++i) {
    const lsh::SlotToken token = queries[i];
    if (token.pos >= in.L) continue;  // a padding row of 1.10, dropped
    const float max = tile.max(i), lse = lsh::logSumExpFromMax(max, tile.sum(i));
    float* dst = out.out + out.layout.row(bh, token.pos);
    if (out.rounds > 1) {
      const int64_t row = ((bh - out.firstHead) * out.rounds + token.round) * in.L + token.pos;
      dst = out.roundOut + row * D;
      out.roundLse[row] = lse;
    }
    storeScaledRow(dst, tile.output(i), D, std::exp(max - lse));
  }
}

// One chunk whose keys start at window row keyOffset, in query tiles of kQueryTile rows. Its
// own slots, the queries, are the window rows chunksBefore chunks further on. The keys are
// the window's rows in place: one key tile of keysPerQuery rows.
void attendChunk(const ChunkInputs& in, const PassOutputs& out, int64_t bh, int keyOffset, const ChunkScratch& s) {
  const int c = in.geometry.chunkLength, K = int(lsh::keysPerQuery(in.geometry)), D = in.D;
  const cpu::KeyTile keys{K, &s.keys[size_t(keyOffset) * D], D, &s.values[size_t(keyOffset) * D], D};
  const int queryOffset = keyOffset + in.geometry.chunksBefore * c;
  cpu::SoftmaxTile& tile = cpu::SoftmaxTile::forThisThread(kQueryTile, K, D);
  for (int i0 = 0; i0 < c; i0 += kQueryTile) {
    const int m = std::min(kQueryTile, c - i0);
    const lsh::SlotToken* queries = &s.tokens[queryOffset + i0];
    const float* queryRows = &s.raw[size_t(queryOffset + i0) * D];
    tile.start(m, [&](int r) { return queryRows + size_t(r) * D; }, 1.0f);
    tile.attend(0, m, keys, ChunkMask(K, queries, &s.keyPos[keyOffset], &s.keyAllowed[keyOffset], in.maskValues));
    storeRows(in, out, bh, queries, tile);
  }
}

// How the chunks of the sorted sequences are split: tasks of consecutive chunks that share a
// window, and passes over a block of heads with enough tasks to keep every core busy. A block
// is a single head whenever a head has enough chunks, so that the rows a pass reads stay in
// cache through all its rounds.
struct PassPlan {
  int chunksPerTask, tasksPerHead, headsPerPass;
};

PassPlan planPasses(int64_t heads, int chunksPerHead, int chunkLength) {
  const int minTasks = kTasksPerCore * int(std::max(1u, std::thread::hardware_concurrency()));
  const int maxChunksPerTask = std::max(1, kWindowSlots / chunkLength);
  const int chunksPerTask = std::clamp((chunksPerHead + minTasks - 1) / minTasks, 1, maxChunksPerTask);
  const int tasksPerHead = (chunksPerHead + chunksPerTask - 1) / chunksPerTask;
  const int headsPerPass = int(std::min<int64_t>(heads, (minTasks + tasksPerHead - 1) / tasksPerHead));
  return {chunksPerTask, tasksPerHead, headsPerPass};
}

// Every chunk, all rounds, of heads [out.firstHead, out.firstHead + nHeads). Rounds write
// separate rows, so they need no ordering among themselves.
void attendHeads(const CpuContext& ctx, const PassPlan& plan, int64_t nHeads, const ChunkInputs& in,
                 const PassOutputs& out) {
  const ChunkGeometry& g = in.geometry;
  parallelFor(ctx, nHeads * plan.tasksPerHead, [&](int64_t task) {
    const int64_t bh = out.firstHead + task / plan.tasksPerHead;
    const int first = int(task % plan.tasksPerHead) * plan.chunksPerTask;
    const int count = std::min(plan.chunksPerTask, g.nChunks - first);
    const int64_t windowRows = int64_t(count - 1) * g.chunkLength + lsh::keysPerQuery(g);
    if (windowRows > INT32_MAX)
      throw KernelError(ErrorCode::OutOfMemory, "lshAttention: a chunk window of " + std::to_string(windowRows) +
                                                    " key rows is too large");
    ChunkScratch& scratch = ChunkScratch::forThisThread(int(windowRows), in.D);
    gatherWindow(in, bh, first, windowRows, scratch);
    for (int k = 0; k < count; ++k) attendChunk(in, out, bh, k * g.chunkLength, scratch);
    finishStreaming();
  });
}

// out[t] = Σ_r w_r · roundOut[r, t] for the tokens of the pass's heads (docs/semantics.md 1.8).
void combineRounds(const CpuContext& ctx, int64_t nHeads, int L, int D, const PassOutputs& out) {
  const int blocks = (L + kRowsPerTask - 1) / kRowsPerTask;
  parallelFor(ctx, nHeads * blocks, [&](int64_t task) {
    const int64_t head = task / blocks;
    const int t0 = int(task % blocks) * kRowsPerTask, t1 = std::min(L, t0 + kRowsPerTask);
    const float* lse = out.roundLse + head * out.rounds * L;
    const float* parts = out.roundOut + head * out.rounds * L * D;
    for (int t = t0; t < t1; ++t) {
      float* dst = out.out + out.layout.row(out.firstHead + head, t);
      const float total = lsh::roundsLogSumExp(lse + t, out.rounds, L);
      std::fill(dst, dst + D, 0.0f);
      for (int r = 0; r < out.rounds; ++r)
        cpu::axpyRow(dst, parts + (int64_t(r) * L + t) * D, D, lsh::roundWeight(lse[int64_t(r) * L + t], total));
    }
  });
}

// The sorted index [heads, nHashes * Lp] of the chunked path.
std::unique_ptr<int32_t[]> hashAndSort(const CpuContext& ctx, const LshAttentionShape& s, int Lp, const float* qk,
                                       const float* rotations, const int32_t* paddingMask) {
  const int64_t heads = int64_t(s.B) * s.H, n = int64_t(s.nHashes) * Lp;
  const std::unique_ptr<int32_t[]> buckets = uninitialized<int32_t>(size_t(heads * n));
  std::unique_ptr<int32_t[]> sorted = uninitialized<int32_t>(size_t(heads * n));
  lshHashCpu(ctx, LshHashShape{s.B, s.H, s.L, Lp, s.D, s.nHashes, s.factors, s.tokenMajor}, qk, rotations,
             paddingMask, buckets.get());
  sortByBucketCpu(ctx, int(heads), int(n), buckets.get(), sorted.get(), nullptr);
  return sorted;
}

// Every chunk of every head in passes over blocks of heads, then (several rounds) their
// combination.
void attendAllChunks(const CpuContext& ctx, int64_t heads, int rounds, const ChunkInputs& in, float* out) {
  const PassPlan plan = planPasses(heads, in.geometry.nChunks, in.geometry.chunkLength);
  const size_t passRows = size_t(plan.headsPerPass) * rounds * in.L;
  const auto roundOut = rounds > 1 ? cacheLineAligned(passRows * in.D) : nullptr;
  const auto roundLse = rounds > 1 ? uninitialized<float>(passRows) : nullptr;
  for (int64_t h0 = 0; h0 < heads; h0 += plan.headsPerPass) {
    const int64_t nHeads = std::min<int64_t>(plan.headsPerPass, heads - h0);
    const PassOutputs pass{out, in.layout, roundOut.get(), roundLse.get(), h0, rounds};
    attendHeads(ctx, plan, nHeads, in, pass);
    if (rounds > 1) combineRounds(ctx, nHeads, in.L, in.D, pass);
  }
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
  const HeadLayout layout = headLayout(s);
  const std::unique_ptr<float[]> keyScales = uninitialized<float>(size_t(heads) * s.L);
  computeKeyScales(ctx, heads * s.L, layout, qk, keyScales.get());
  const ChunkInputs in{qk, qk, keyScales.get(), v, sorted.get(), paddingMask, layout, s.H, s.L, Lp, s.D, geometry,
                       s.causal, lsh::maskValues(halfPrecisionMasks)};
  attendAllChunks(ctx, heads, rounds, in, out);
}

void reformerLocalAttentionCpu(const CpuContext& ctx, const ReformerLocalShape& s, bool halfPrecisionMasks,
                               const float* q, const float* k, const float* v, const int32_t* paddingMask, float* out) {
  const ChunkGeometry geometry = reformerLocalGeometry(s);
  const ChunkInputs in{q, k, nullptr, v, nullptr, paddingMask, headLayout(s), s.H, s.L,
                       geometry.nChunks * geometry.chunkLength, s.D, geometry, s.causal,
                       lsh::localMaskValues(halfPrecisionMasks)};
  attendAllChunks(ctx, int64_t(s.B) * s.H, 1, in, out);
}

}  // namespace sa
