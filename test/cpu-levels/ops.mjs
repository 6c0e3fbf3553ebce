// Child process of cpu-levels.test.ts: runs a representative set of CPU ops on fixed inputs
// with the CPU kernels SPARSE_ATTENTION_CPU selects, straight through the binding of the addon
// SPARSE_ATTENTION_ADDON names, and prints { level, outputs: { name: base64 of the bytes } }.
import { createRequire } from 'node:module';

const native = createRequire(import.meta.url)(process.env.SPARSE_ATTENTION_ADDON);
const F32 = 0, I32 = 3;

// mulberry32: the same inputs in every process.
let seed = 12345;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const tensor = (dtype, shape, host) => ({ dtype, shape, device: -1, host });
const count = (shape) => shape.reduce((a, b) => a * b, 1);
const normal = (shape) => tensor(F32, shape, Float32Array.from({ length: count(shape) }, () => random() * 2 - 1));
const zeros = (dtype, shape) => tensor(dtype, shape, dtype === I32 ? new Int32Array(count(shape)) : new Float32Array(count(shape)));

const outputs = {};
const keep = (name, t) => (outputs[name] = Buffer.from(t.host.buffer).toString('base64'));

// Dense: head dims with and without a vector remainder, causal and not, Lq != tile multiples.
for (const [L, D, causal] of [[300, 64, false], [300, 64, true], [130, 40, false]]) {
  const shape = [1, 2, L, D];
  const q = normal(shape), k = normal(shape), v = normal(shape), out = zeros(F32, shape);
  await native.denseAttention(q, k, v, out, { scale: 1 / Math.sqrt(D), causal, layout: 'bhld' });
  keep(`dense L=${L} D=${D}${causal ? ' causal' : ''}`, out);
}

// Local attention with global tokens and padding.
{
  const L = 500, D = 64, shape = [1, 2, L, D];
  const q = normal(shape), k = normal(shape), v = normal(shape), out = zeros(F32, shape);
  const mask = zeros(I32, [1, L]);
  for (const t of [0, 7, 250]) mask.host[t] = 1;
  for (let t = 480; t < L; t++) mask.host[t] = -1;
  await native.localAttention(q, k, v, null, mask, out, { left: 32, right: 32, scale: 1 / Math.sqrt(D), layout: 'bhld' });
  keep('local window 32 with global tokens and padding', out);
}

// LSH: hash, sort and attention (two rounds, causal, padding, given rotations).
{
  const L = 256, D = 64, H = 2, nHashes = 2, nBuckets = 8, shape = [1, H, L, D];
  const qk = normal(shape), v = normal(shape);
  const rotations = normal([H, D, nHashes, nBuckets / 2]);
  const padding = tensor(I32, [1, L], Int32Array.from({ length: L }, (_, t) => (t < 240 ? 1 : 0)));
  const buckets = zeros(I32, [1, H, nHashes * L]);
  await native.lshHash(qk, rotations, padding, buckets, { bucketFactors: [nBuckets] });
  keep('lshHash', buckets);
  const sorted = zeros(I32, buckets.shape), undo = zeros(I32, buckets.shape);
  await native.sortByBucket(buckets, sorted, undo);
  keep('sortByBucket sortedIndex', sorted);
  keep('sortByBucket undoIndex', undo);
  const out = zeros(F32, shape);
  await native.lshAttention(qk, v, rotations, padding, out, {
    bucketFactors: [nBuckets], nHashes, chunkLength: 32, chunksBefore: 1, chunksAfter: 0, causal: true, layout: 'bhld',
  });
  keep('lshAttention 2 rounds causal padded', out);
}

// Axial position encodings.
{
  const w0 = normal([8, 24]), w1 = normal([16, 40]), out = zeros(F32, [1, 128, 64]);
  await native.axialPositionEncoding(w0, w1, null, out, { layout: 'reformer' });
  keep('axialPositionEncoding', out);
}

process.stdout.write(JSON.stringify({ level: native.backendInfo().cpuKernels, outputs }));
