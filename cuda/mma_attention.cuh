// The tensor-core attention mainloop, in the scheme of FlashAttention-2, shared by every
// attention op on tensor cores (dense, sliding-window, LSH and Reformer's chunked local
// attention): a block of 4 warps owns kBlockM query rows (16 * kMTiles per warp) in a padded
// shared Q tile and streams key/value tiles of kBlockN rows through shared memory,
// double-buffered with cp.async so that tile t + 1 lands while tile t is computed. Scores
// S = Q·Kᵀ and the output O += P·V are mma.sync.m16n8k16 products (cuda/mma_tile.cuh); the
// softmax runs online in registers (cuda/mma_softmax.cuh), and P goes from the S accumulators
// straight into the A operand of P·V.
//
// An op is an instantiation with two parameters:
//   - a key-tile source (which keys tile t holds: contiguous keys, a band after a list of
//     global columns, keys gathered through a sorted index), with
//       int count() const                    the number of key tiles, block-uniform;
//       void load(int t, uint16_t* ks, uint16_t* vs, int stage) const
//                                            issues the copies of tile t's keys and values into
//                                            the stage's tiles (copyRowsAsync, all threads),
//                                            plus any plain stores of per-key data the mask reads;
//   - a mask policy (causal, window and padding, LSH's rules), with
//       static constexpr bool kMayHide       whether it can hide a key whose value row is real;
//       bool mayHide(int t) const            block-uniform, from t alone: whether tile t can;
//       Tile publish(int t, int stage) const the barrier that publishes tile t (its copies have
//                                            landed) and what the mask does to it: a
//                                            block-uniform Tile (with a member `hides`, whether
//                                            it hides a key, when kMayHide);
//       void apply(sc, const Tile&, int warpRow0, int lane) const
//                                            the scores of the keys a row does not see to -inf
//                                            (or LSH's finite mask values);
//       bool visible(const Tile&, int r, int c) const
//                                            whether row r of the block sees key c of the tile.
//
// The masked-value rule is decided here, once: a key a row does not see never reaches it, not
// even as 0·NaN. P·V multiplies every value row of the tile into every row, so a tile whose
// mask hides a key and whose values hold a NaN or an infinity (cuda/mma_masked_values.cuh) is
// left out of the loop; after it, those tiles are found again, their probabilities taken
// against the final maxima (the softmax sums already hold them), and summed in float32 over
// the keys each row sees. Such tiles are rare; the loop keeps the registers of the plain
// product only.
#pragma once

#include <cfloat>
#include <cstdint>

#include "cuda/mma.cuh"
#include "cuda/mma_masked_values.cuh"
#include "cuda/mma_softmax.cuh"
#include "cuda/mma_tile.cuh"

namespace sa::cuda::mma {

constexpr int kAttentionWarps = 4;
constexpr int kAttentionThreads = kAttentionWarps * 32;

// Kernel traits: head dimension, m16 tiles per warp, keys per tile, whether the warp's query
// fragments stay in registers (else they are read from the Q tile at each k-step), and whether
// the mask may hide keys (then the shared memory holds the staged probabilities of the
// masked-value rule).
template <int D, int MTiles, int BlockN, bool QInRegisters, bool MayHide>
struct AttentionTraits {
  static constexpr int kD = D, kMTiles = MTiles, kBlockN = BlockN;
  static constexpr bool kQInRegisters = QInRegisters, kMayHide = MayHide;
  static constexpr int kBlockM = kAttentionWarps * 16 * MTiles;
  static constexpr int kNTiles = BlockN / 8;  // n8 score tiles per key tile
  static constexpr int kDTiles = D / 8;       // n8 output tiles
  static constexpr int kQTile = PaddedTile<D>::kElements(kBlockM);
  static constexpr int kStage = PaddedTile<D>::kElements(BlockN);  // one K or V stage
  static constexpr int kPStage = MayHide ? StagedProbabilities<BlockN>::kElements(kBlockM) : 0;
  // Q tile, K stages 0 and 1, V stages 0 and 1, the staged probabilities; the bytes of a
  // kernel's own per-key and per-query data follow (AttentionSmem::extra).
  static constexpr size_t kBytes = size_t(kQTile + 4 * kStage + kPStage) * sizeof(uint16_t);
  static_assert(kBytes % 16 == 0, "the kernel's own data starts 16-byte aligned");
};

template <class Tr>
struct AttentionSmem {
  uint16_t *q, *k, *v, *p;
  __device__ __forceinline__ explicit AttentionSmem(uint4* base)
      : q(reinterpret_cast<uint16_t*>(base)), k(q + Tr::kQTile), v(k + 2 * Tr::kStage), p(v + 2 * Tr::kStage) {}
  __device__ __forceinline__ uint16_t* keys(int stage) const { return k + stage * Tr::kStage; }
  __device__ __forceinline__ uint16_t* values(int stage) const { return v + stage * Tr::kStage; }
  template <class E>
  __device__ __forceinline__ E* extra() const {
    return reinterpret_cast<E*>(p + Tr::kPStage);
  }
};

// One warp's share: its query fragments, softmax state and output accumulators.
template <class Tr>
struct AttentionWarp {
  int warpRow0, lane;
  QueryFragments<Tr::kD, Tr::kMTiles, Tr::kQInRegisters> query;
  OnlineSoftmax<Tr::kMTiles> softmax;
  float o[Tr::kMTiles][Tr::kDTiles][4];

  __device__ __forceinline__ AttentionWarp()
      : warpRow0(int(threadIdx.x) / 32 * 16 * Tr::kMTiles), lane(int(threadIdx.x) % 32) {}
  __device__ __forceinline__ void clearOutput() {
#pragma unroll
    for (int m = 0; m < Tr::kMTiles; ++m)
#pragma unroll
      for (int d = 0; d < Tr::kDTiles; ++d)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[m][d][e] = 0.0f;
  }
  // The block's tile row whose results the thread holds in half h of m-tile m.
  __device__ __forceinline__ int row(int m, int h) const { return warpRow0 + 16 * m + lane / 4 + 8 * h; }
  // 1 / (softmax sum) of each of those rows, 0 for a row that saw no key. All lanes take part.
  __device__ __forceinline__ void inverseSums(float (&rowScale)[Tr::kMTiles][2]) const {
#pragma unroll
    for (int m = 0; m < Tr::kMTiles; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) rowScale[m][h] = softmax.inverseSum(m, h);
  }
};

// Runs the block over every key tile of `keys`. Before the call the block has issued the
// copies of its Q tile (copyRowsAsync into sm.q) and made any plain stores the mask reads
// after the first barrier. `scale` multiplies the scores (any sign, or 0).
template <DType T, class Tr, class Keys, class Mask>
__device__ __forceinline__ void attentionMainloop(const AttentionSmem<Tr>& sm, const Keys& keys, const Mask& mask,
                                                  AttentionWarp<Tr>& w, float scale) {
  constexpr int D = Tr::kD, kThreads = kAttentionThreads;
  static_assert(!Mask::kMayHide || Tr::kMayHide, "a mask that hides keys needs the staged probabilities");
  const int nTiles = keys.count();
  copyAsyncCommit();  // the Q tile
  if (nTiles > 0) keys.load(0, sm.keys(0), sm.values(0), 0);
  copyAsyncCommit();
  copyAsyncWait<1>();  // Q has landed; the first key/value tile may still be in flight
  __syncthreads();
  // The softmax needs a positive scale: for a negative one the queries are negated (exact).
  if (scale < 0.0f) {
    negateTile<D, Tr::kBlockM, kThreads>(sm.q);
    __syncthreads();
  }
  w.query.load(sm.q, w.warpRow0, w.lane);
  w.clearOutput();
  // A zero scale is raised to the smallest normal float: all scores still weigh the same, and a
  // masked -inf times it stays -inf instead of becoming NaN.
  const float scaleLog2 = fmaxf(fabsf(scale) * kLog2e, FLT_MIN);
  // Whether tile t's values, as this thread copied them, hold a NaN or an infinity, ORed over
  // the block: valid once the copies have landed, before the barrier that ends the iteration.
  auto valuesNonFinite = [&](int stage) {
    return __syncthreads_or(ownChunksNonFinite<T, D, Tr::kBlockN, kThreads>(sm.values(stage)));
  };

  bool deferred = false;
  for (int t = 0; t < nTiles; ++t) {
    if (t + 1 < nTiles) keys.load(t + 1, sm.keys((t + 1) & 1), sm.values((t + 1) & 1), (t + 1) & 1);
    copyAsyncCommit();
    copyAsyncWait<1>();  // tile t has landed, t + 1 is in flight
    const int stage = t & 1;
    const auto tile = mask.publish(t, stage);
    bool leaky = false;
    if constexpr (Mask::kMayHide) leaky = tile.hides && valuesNonFinite(stage);
    float sc[Tr::kMTiles][Tr::kNTiles][4];
    computeScores<T, D>(sc, w.query, sm.keys(stage), w.lane);
    mask.apply(sc, tile, w.warpRow0, w.lane);
    w.softmax.update(sc, w.o, scaleLog2);
    if (leaky) {
      deferred = true;  // block-uniform
    } else {
      accumulateValues<T, D>(w.o, sc, sm.values(stage), w.lane);
    }
    __syncthreads();  // the next iteration refills the other stage, the one after this one
  }

  if constexpr (Mask::kMayHide) {
    // The deferred tiles, found again one by one.
    for (int t = 0; deferred && t < nTiles; ++t) {
      if (!mask.mayHide(t)) continue;  // block-uniform
      const int stage = t & 1;
      keys.load(t, sm.keys(stage), sm.values(stage), stage);
      copyAsyncCommit();
      copyAsyncWait<0>();
      const auto tile = mask.publish(t, stage);
      if (tile.hides && valuesNonFinite(stage)) {
        float sc[Tr::kMTiles][Tr::kNTiles][4];
        computeScores<T, D>(sc, w.query, sm.keys(stage), w.lane);
        mask.apply(sc, tile, w.warpRow0, w.lane);
        w.softmax.exponentiate(sc, scaleLog2);
        stageProbabilities<T>(sm.p, sc, w.warpRow0, w.lane, [&](int r, int c) { return mask.visible(tile, r, c); });
        accumulateStagedValues<T, D, Tr::kMTiles, Tr::kBlockN>(w.o, sm.p, sm.values(stage), w.warpRow0, w.lane);
      }
      __syncthreads();  // this stage is refilled by the next deferred tile
    }
  }
}

}  // namespace sa::cuda::mma
