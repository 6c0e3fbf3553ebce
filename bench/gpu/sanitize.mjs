// A small workload that launches every CUDA kernel of this build once or twice, for
// compute-sanitizer (memcheck, racecheck):
//   compute-sanitizer --tool memcheck --error-exitcode 3 node bench/gpu/sanitize.mjs
// Shapes are small, cover partial tiles, and give buffers whose sizes are multiples of 512
// bytes: the device pool rounds requests up to that, and memcheck only sees writes past the end
// of what was actually allocated.
import { availableOps, loadPackage, makeTensorFactory, parseArgs, randn } from './common.mjs';

const args = parseArgs(process.argv.slice(2), { device: 'cuda' });
const { api } = await loadPackage();
const ops = availableOps(api);
const { tensor } = makeTensorFactory(api);
const device = args.device;
const launched = [];

async function run(label, fn) {
  const out = await fn();
  for (const t of Array.isArray(out) ? out : out instanceof api.Tensor ? [out] : Object.values(out)) await t.data();
  launched.push(label);
}

const qkv = async (B, H, L, D, dtype, seed) =>
  Promise.all([0, 1, 2].map((i) => tensor(randn(B * H * L * D, seed + i), [B, H, L, D], dtype, device)));

for (const dtype of ['float32', 'float16', 'bfloat16']) {
  if (ops.has('denseAttention'))
    for (const [L, D, causal] of [[200, 64, true], [136, 128, false], [96, 32, true]]) {
      const [q, k, v] = await qkv(1, 2, L, D, dtype, L + D);
      await run(`dense ${dtype} L=${L} D=${D}`, () => api.denseAttention(q, k, v, { causal }));
    }
  if (ops.has('localAttention'))
    for (const [B, H, L, D, globals] of [[2, 2, 320, 64, 1], [1, 1, 320, 128, 40]]) {
      const [q, k, v] = await qkv(B, H, L, D, dtype, 7);
      const mask = new Int32Array(B * L);
      for (let g = 0; g < globals; g++) mask[g * 7] = 1;  // 40 global columns need two tiles at D = 128
      mask[B * L - 1] = 1;
      for (let t = 300; t < L; t++) mask[t] = -1;
      await run(`local ${dtype} D=${D}`, async () => api.localAttention(q, k, v, {
        window: [48, 16], attentionMask: await tensor(mask, [B, L], 'int32', device) }));
    }
  if (ops.has('lshAttention')) {
    const [B, H, L, D] = [2, 2, 256, 64];
    const [qk, v] = await qkv(B, H, L, D, dtype, 11);
    const paddingMask = await tensor(Int32Array.from({ length: B * L }, (_, i) => (i % L < 240 ? 1 : 0)), [B, L], 'int32', device);
    await run(`lsh ${dtype}`, () => api.lshAttention(qk, v, {
      nHashes: 2, nBuckets: 8, chunkLength: 32, chunksBefore: 1, chunksAfter: 1, causal: true, paddingMask, seed: 1 }));
  }
}
if (ops.has('sortByBucket')) {
  const keys = Int32Array.from({ length: 2 * 2 * 1024 }, (_, i) => (i * 2654435761) % 37);
  await run('sortByBucket', async () => api.sortByBucket(await tensor(keys, [2, 2, 1024], 'int32', device)));
}
if (ops.has('axialPositionEncoding')) {
  const ids = Int32Array.from({ length: 256 }, (_, i) => (i * 13) % 512);
  await run('axial', async () => api.axialPositionEncoding(
    [await tensor(randn(16 * 32, 1), [16, 32], 'float32', device), await tensor(randn(32 * 96, 2), [32, 96], 'float32', device)],
    { positionIds: await tensor(ids, [1, 256], 'int32', device) }));
}
console.log(`sanitize workload (${device}): ${launched.length} ops ran: ${launched.join('; ')}`);
