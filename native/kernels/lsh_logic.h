// The index, mask and chunk logic of LSH attention (docs/semantics.md section 1), shared by the CPU
// and CUDA kernels: the CPU tests exercise exactly what the GPU runs; only tiling and
// arithmetic order differ between the two.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/common.h"

namespace sa::lsh {

// Each factor is an even number >= 2 and their product fits int32, so there are at most 30.
constexpr int kMaxBucketFactors = 30;

// The bucket count: one even number (count == 1) or a factorised list [f_0, f_1, ...].
struct BucketFactors {
  int count;
  int size[kMaxBucketFactors];
};

// rot: the width of concat(y, -y) summed over the factors; rotations hold rot/2 columns.
SA_HD int rotationSize(const BucketFactors& f) {
  int sum = 0;
  for (int i = 0; i < f.count; ++i) sum += f.size[i];
  return sum;
}

// N: the number of hash buckets before the padding bucket.
SA_HD int bucketCount(const BucketFactors& f) {
  int product = 1;
  for (int i = 0; i < f.count; ++i) product *= f.size[i];
  return product;
}

// First column of factor i's slice of the projection y.
SA_HD int factorColumn(const BucketFactors& f, int i) {
  int start = 0;
  for (int j = 0; j < i; ++j) start += f.size[j] / 2;
  return start;
}

// Weight of factor i's digit in the bucket id: the first factor is least significant.
SA_HD int factorPlaceValue(const BucketFactors& f, int i) {
  int value = 1;
  for (int j = 0; j < i; ++j) value *= f.size[j];
  return value;
}

// An argmax candidate. Ties go to the lower index, as torch.argmax returns the first maximum;
// with that rule the reduction is order-independent, so lanes may combine in any order.
struct ArgmaxEntry {
  float value;
  int index;
};

SA_HD ArgmaxEntry firstMax(ArgmaxEntry a, ArgmaxEntry b) {
  return (b.value > a.value || (b.value == a.value && b.index < a.index)) ? b : a;
}

// The starting entry of an argmax: any real candidate replaces it, and its index is valid.
SA_HD ArgmaxEntry noCandidate() { return {-INFINITY, 0}; }

// The two entries of concat(y, -y) that column k of a factor's slice contributes.
SA_HD ArgmaxEntry signedCandidates(float y, int k, int half) { return firstMax({y, k}, {-y, half + k}); }

// Tokens at or past the real length L are the padding that docs/semantics.md 1.10 appends.
SA_HD bool isPaddingToken(const int32_t* maskRow, int t, int L) { return t >= L || (maskRow && maskRow[t] == 0); }

// N': one extra bucket, batch-wide, as soon as any token of the batch is padding.
SA_HD int bucketsWithPadding(int N, bool anyPadding) { return anyPadding ? N + 1 : N; }

// Stored bucket id of a token in round r: padding tokens take the extra bucket N.
SA_HD int roundBucket(int hashBucket, bool padding, int N, int round, int nPrime) {
  return (padding ? N : hashBucket) + round * nPrime;
}

// The sorted sequence of nChunks * chunkLength slots and the chunks each chunk attends to.
struct ChunkGeometry {
  int chunkLength, chunksBefore, chunksAfter, nChunks;
};

// In 64 bits: chunksBefore and chunksAfter may each be as large as nChunks. The glue keeps the
// result within int32 (op_lsh.cc); kernels that step past it keep their indices in 64 bits.
SA_HD int64_t keysPerQuery(const ChunkGeometry& g) {
  return int64_t(g.chunkLength) * (1 + int64_t(g.chunksBefore) + g.chunksAfter);
}

// Sorted slot of key `keyIndex` of chunk `chunk`: the key list is the slots of chunks
// chunk - before .. chunk + after in order, wrapping around the whole sorted sequence (all
// rounds), repeats kept. Indices past keysPerQuery continue the same walk, so one window
// serves consecutive chunks.
SA_HD int keySlot(const ChunkGeometry& g, int chunk, int64_t keyIndex) {
  const int64_t total = int64_t(g.nChunks) * g.chunkLength;
  int64_t slot = (int64_t(chunk) - g.chunksBefore) * g.chunkLength + keyIndex;
  slot %= total;
  return int(slot < 0 ? slot + total : slot);
}

// Round and original position of the token in sorted slot `slot`; a null sorted index is the
// identity order of the standard path.
struct SlotToken {
  int round, pos;
};

SA_HD SlotToken slotToken(const int32_t* sortedRow, int slot, int Lp) {
  const int flat = sortedRow ? sortedRow[slot] : slot;
  return {flat / Lp, flat % Lp};
}

// Replacement scores (1.7, 1.9): float32 inputs use -1e9 / -1e5, half precision -1e4 / -1e3.
// Reformer's LocalSelfAttention, the same pipeline over the identity order, has no self mask.
struct MaskValues {
  float mask, self;
  bool maskSelf = true;
};

SA_HD MaskValues maskValues(bool halfPrecision) {
  return halfPrecision ? MaskValues{-1e4f, -1e3f} : MaskValues{-1e9f, -1e5f};
}

SA_HD MaskValues localMaskValues(bool halfPrecision) {
  MaskValues mv = maskValues(halfPrecision);
  mv.maskSelf = false;
  return mv;
}

// The lowest query position that may see a key at position kPos: padding keys are hidden
// from every query, causal keys from the queries before them. Precomputed once per key so
// that the per-score test is one comparison.
SA_HD int firstAllowedQuery(int kPos, bool keyIsPadding, bool causal) {
  return keyIsPadding ? INT32_MAX : causal ? kPos : INT32_MIN;
}

// The score after both masks: a disallowed key is replaced by the mask value, then (LSH) the
// query's own token (in any round or repeated chunk) by the self value.
SA_HD float maskedScore(float score, int qPos, int kPos, int firstAllowed, MaskValues mv) {
  score = qPos < firstAllowed ? mv.mask : score;
  return mv.maskSelf && qPos == kPos ? mv.self : score;
}

// Reformer's LocalSelfAttention divides its keys by sqrt(D) and nothing else: the key
// transform of 1.6 with a norm scale of 1, (x * 1) / sqrt(D), rounds exactly as x / sqrt(D).
constexpr float kUnnormalizedKey = 1.0f;

// Keys are n(x) = (x * 1/sqrt(mean(x^2) + 1e-6)) / sqrt(D), in that float32 order (1.6).
SA_HD float keyNormScale(float sumSquares, int D) { return 1.0f / sqrtf(sumSquares / float(D) + 1e-6f); }

SA_HD float normalizedKeyComponent(float x, float scale, float sqrtD) { return (x * scale) / sqrtD; }

// fl32(M + fl32(log(sum))) with sum = Σ exp(x - M): the float32 rounding of this addition is
// part of the reference result (1.9), so it is done exactly so everywhere.
SA_HD float logSumExpFromMax(float max, float sumExpShifted) { return max + logf(sumExpShifted); }

// Λ = logsumexp over the rounds of their float32 lse values (1.8), `stride` apart.
SA_HD float roundsLogSumExp(const float* lse, int rounds, int64_t stride) {
  float max = -INFINITY;
  for (int r = 0; r < rounds; ++r) max = fmaxf(max, lse[r * stride]);
  float sum = 0.0f;
  for (int r = 0; r < rounds; ++r) sum += expf(lse[r * stride] - max);
  return logSumExpFromMax(max, sum);
}

// A round's weight in the combined output; used as is, not renormalised.
SA_HD float roundWeight(float roundLse, float totalLse) { return expf(roundLse - totalLse); }

}  // namespace sa::lsh
