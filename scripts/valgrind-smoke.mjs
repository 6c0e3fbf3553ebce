// A small run of every op for scripts/valgrind.sh: each op once on small tensors, in every
// dtype, with and without masks, plus a copy, an aborted call and a rejected one. Loads the
// compiled package (dist/) and the addon SPARSE_ATTENTION_ADDON names.
import {
  axialPositionEncoding, denseAttention, localAttention, lshAttention, lshHash, sortByBucket, Tensor, toBFloat16, toFloat16,
} from '../dist/esm/index.js';

const values = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + seed));
const shape = [2, 3, 70, 8];
const n = shape.reduce((a, b) => a * b, 1);

async function forEachDtype(run) {
  for (const dtype of ['float32', 'float16', 'bfloat16']) {
    const make = (seed) => {
      const x = values(n, seed);
      return dtype === 'float32' ? Tensor.from(x, shape) : Tensor.from(dtype === 'float16' ? toFloat16(x) : toBFloat16(x), shape, { dtype });
    };
    const out = await run(make(1), make(2), make(3));
    await out.data();
    out.dispose();
  }
}

await forEachDtype((q, k, v) => denseAttention(q, k, v, { causal: true }));
await forEachDtype((q, k, v) => denseAttention(q, k, v, { scale: 0.3 }));
const mask = Tensor.from(Int32Array.from({ length: 2 * 70 }, (_, i) => (i % 70 === 3 ? 1 : i % 70 > 65 ? -1 : 0)), [2, 70]);
await forEachDtype((q, k, v) => localAttention(q, k, v, { window: [4, 2], attentionMask: mask, global: { q: v, k: q, v: k } }));
await forEachDtype((q, k, v) => localAttention(q, k, v, { window: 100 }));
const padding = Tensor.from(Int32Array.from({ length: 2 * 70 }, (_, i) => (i % 70 > 60 ? 0 : 1)), [2, 70]);
await forEachDtype((qk, v) => lshAttention(qk, v, { nHashes: 2, nBuckets: [2, 4], chunkLength: 16, causal: true, paddingMask: padding, seed: 3 }));
await forEachDtype((qk, v) => lshAttention(qk, v, { nHashes: 1, nBuckets: 4, chunkLength: 128 }));
const buckets = await lshHash(Tensor.from(values(n, 9), shape), { rotations: Tensor.from(values(3 * 8 * 2 * 3, 10), [3, 8, 2, 3]), nBuckets: 6 });
const { sortedIndex, undoIndex } = await sortByBucket(buckets);
await sortedIndex.data();
await undoIndex.data();
const ids = Tensor.from(Int32Array.from({ length: 2 * 9 }, (_, i) => (i * 5) % 12), [2, 9]);
const encoding = await axialPositionEncoding([Tensor.from(values(8, 4), [4, 2]), Tensor.from(values(9, 5), [3, 3])], { positionIds: ids });
await encoding.data();
await (await Tensor.from(values(6, 6), [2, 3]).to('cpu')).data();
const x = Tensor.from(values(n, 7), shape);
await denseAttention(x, x, x, { signal: AbortSignal.abort() }).catch((e) => { if (e.code !== 'ABORTED') throw e; });
await denseAttention(x, Tensor.from(values(8, 8), [1, 1, 1, 8]), x).catch((e) => { if (!(e instanceof RangeError)) throw e; });
console.log('valgrind smoke run: every op ran');
