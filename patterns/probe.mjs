// Which keys each query sees, read off the kernels themselves: with v = identity (D = L), row i
// of the output is query i's attention weights over the keys, so a key is visible exactly
// when its weight is non-zero. Masked keys get weight 0 in float32 (their scores are float32
// lowest, -inf or -1e9, and the LSH self mask -1e5 underflows whenever another key is visible).
import { localAttention, lshAttention, lshHash, sortByBucket, Tensor } from '../dist/esm/index.js';

function seeded(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296 - 0.5;
  };
}

function identity(L) {
  const v = new Float32Array(L * L);
  for (let i = 0; i < L; i++) v[i * L + i] = 1;
  return Tensor.from(v, [1, 1, L, L]);
}

function randomTensor(shape, seed, scale = 1) {
  const next = seeded(seed);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => next() * scale);
  return Tensor.from(data, shape);
}

/** L×L booleans (row-major Uint8Array): query i sees key j. */
async function visibility(out, L) {
  const w = await out.data();
  return Uint8Array.from(w, (x) => (x > 0 ? 1 : 0));
}

/** Longformer: window [left, right], global and padding tokens from `mask` (-1/0/1 per token). */
export async function localPattern(L, window, mask) {
  const q = randomTensor([1, 1, L, L], 1, 0.1);
  const attentionMask = Tensor.from(Int32Array.from(mask), [1, L]);
  const out = await localAttention(q, q, identity(L), { window, attentionMask });
  return visibility(out, L);
}

/** Reformer: buckets before and after sorting, and the attended keys of every query. */
export async function lshPattern(L, { nBuckets, chunkLength, nHashes, chunksBefore, chunksAfter, causal }) {
  const qk = randomTensor([1, 1, L, L], 2);
  const rotations = randomTensor([1, L, nHashes, nBuckets / 2], 3);
  const buckets = await lshHash(qk, { rotations, nBuckets });
  const { sortedIndex } = await sortByBucket(buckets);
  const out = await lshAttention(qk, identity(L), {
    nHashes, nBuckets, chunkLength, chunksBefore, chunksAfter, causal, rotations,
  });
  return {
    buckets: Int32Array.from(await buckets.data()),
    sortedIndex: Int32Array.from(await sortedIndex.data()),
    visible: await visibility(out, L),
  };
}
