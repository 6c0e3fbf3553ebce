// Parity of every op this build has, on one device: the golden fixtures, then random cases
// against the package's own CPU path (itself tested against float64 references).
//   float32 on the device:            1e-4 relative L2 against the fixture / the CPU
//   float16, bfloat16 on the device:  1e-2 against float32 on the CPU, same rounded inputs
//   integer outputs (buckets, sorted indices) and axial encodings: exact
// Before each device op a NaN-filled block of the output's size is left in the device pool,
// so that an element the kernel never writes shows up as NaN.
//
//   node bench/gpu/parity.mjs [--device cuda] [--out parity.json] [--small]
// --small shortens the random cases (the same shapes of heads, windows, masks and dtypes at
// L <= 320), for the emulated CUDA device of `npm run test:cuda-emu`.
// With --device cpu it is a dry run of the script itself (random cases then compare CPU with
// CPU; the fixtures still check the CPU kernels). Prints one line per check and
// 'parity: N passed, M failed'; exits 1 on any failure.
import { writeFileSync } from 'node:fs';
import {
  availableOps, loadPackage, makeTensorFactory, mismatches, parseArgs, poisonPool, randn, readFixtures,
  relativeError, valuesOf,
} from './common.mjs';

const args = parseArgs(process.argv.slice(2), { device: 'cuda', out: '', small: false });
const device = args.device;
const { api } = await loadPackage();
const ops = availableOps(api);
const { round, tensor } = makeTensorFactory(api);
const HALF = ['float16', 'bfloat16'];
const results = [];

async function check(name, fn) {
  const started = Date.now();
  let record;
  try {
    record = { name, ...(await fn()) };
    record.pass = record.exact ? record.mismatches === 0 : Number.isFinite(record.error) && record.error <= record.tolerance;
  } catch (e) {
    record = { name, pass: false, failure: String(e?.stack ?? e) };
  }
  record.ms = Date.now() - started;
  results.push(record);
  const detail = record.failure ? record.failure.split('\n')[0]
    : record.exact ? `${record.mismatches} mismatches` : `error ${record.error.toExponential(2)} (tolerance ${record.tolerance})`;
  console.log(`${record.pass ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
}

const elementBytes = (dtype) => (dtype === 'float32' || dtype === 'int32' ? 4 : 2);
const count = (shape) => shape.reduce((a, b) => a * b, 1);

/** Runs `op` on the device after poisoning the pool for an output of `outShape`. */
async function onDevice(outShape, dtype, op) {
  await poisonPool(api, device, count(outShape) * elementBytes(dtype));
  return op();
}

// ---------------------------------------------------------------------------------------------
// Op runners: inputs as float32 (or int32) host arrays, run on `dev` in `dtype`.

async function runDense(x, dev, dtype) {
  const t = (a, L) => tensor(a, [x.B, x.H, L, x.D], dtype, dev);
  return api.denseAttention(await t(x.q, x.Lq), await t(x.k, x.Lk), await t(x.v, x.Lk), { causal: x.causal, scale: x.scale });
}

async function runLocal(x, dev, dtype) {
  const shape = [x.B, x.H, x.L, x.D];
  const t = (a) => tensor(a, shape, dtype, dev);
  return api.localAttention(await t(x.q), await t(x.k), await t(x.v), {
    window: x.window,
    attentionMask: x.mask ? await tensor(x.mask, [x.B, x.L], 'int32', dev) : undefined,
    global: x.qGlobal ? { q: await t(x.qGlobal), k: await t(x.kGlobal), v: await t(x.vGlobal) } : undefined,
  });
}

async function runLsh(x, dev, dtype) {
  const shape = [x.B, x.H, x.L, x.D];
  return api.lshAttention(await tensor(x.qk, shape, dtype, dev), await tensor(x.v, shape, dtype, dev), {
    nHashes: x.nHashes, nBuckets: x.nBuckets, chunkLength: x.chunkLength, chunksBefore: x.chunksBefore,
    chunksAfter: x.chunksAfter, causal: x.causal,
    rotations: x.rotations ? await tensor(x.rotations, x.rotationShape, 'float32', dev) : undefined,
    paddingMask: x.mask ? await tensor(x.mask, [x.B, x.L], 'int32', dev) : undefined,
  });
}

async function runHash(x, dev, dtype) {
  return api.lshHash(await tensor(x.qk, [x.B, x.H, x.L, x.D], dtype, dev), {
    rotations: await tensor(x.rotations, x.rotationShape, 'float32', dev), nBuckets: x.nBuckets,
    paddingMask: x.mask ? await tensor(x.mask, [x.B, x.L], 'int32', dev) : undefined,
  });
}

/** Device result against the CPU in float32 on the same (rounded) inputs. */
async function againstCpu(run, x, dtype, outShape, roundInputs) {
  const rounded = roundInputs(x, dtype);
  const expected = await valuesOf(api, await run(rounded, 'cpu', 'float32'));
  const actual = await valuesOf(api, await onDevice(outShape, dtype, () => run(rounded, device, dtype)));
  return { error: relativeError(actual, expected), tolerance: dtype === 'float32' ? 1e-4 : 1e-2 };
}

const roundFields = (fields) => (x, dtype) => {
  const y = { ...x };
  for (const f of fields) if (y[f]) y[f] = round(y[f], dtype);
  return y;
};

// ---------------------------------------------------------------------------------------------
// Fixtures

const fixtures = readFixtures();
const rotationShape = (t) => t.rotations?.shape;

function lshInputs(fx) {
  const c = fx.config, t = fx.tensors;
  return {
    B: c.B, H: c.H, L: c.L, D: c.D, qk: t.qk.data, v: t.v.data, nHashes: c.num_hashes, nBuckets: c.num_buckets,
    chunkLength: c.chunk_length, chunksBefore: c.num_chunks_before, chunksAfter: c.num_chunks_after, causal: c.causal,
    rotations: t.rotations?.data, rotationShape: rotationShape(t), mask: t.padding_mask?.data,
  };
}

function localInputs(fx) {
  const c = fx.config, t = fx.tensors, [B, H, L, D] = t.q.shape;
  return {
    B, H, L, D, window: c.one_sided, q: t.q.data, k: t.k.data, v: t.v.data, qGlobal: t.q_global.data,
    kGlobal: t.k_global.data, vGlobal: t.v_global.data, mask: t.attention_mask.data,
  };
}

for (const fx of fixtures) {
  const t = fx.tensors;
  if (fx.kind === 'axial' && ops.has('axialPositionEncoding')) {
    await check(`fixture ${fx.name} float32`, async () => {
      const out = await onDevice(t.out.shape, 'float32', async () => api.axialPositionEncoding(
        [await tensor(t.w0.data, t.w0.shape, 'float32', device), await tensor(t.w1.data, t.w1.shape, 'float32', device)],
        { positionIds: await tensor(t.position_ids.data, t.position_ids.shape, 'int32', device) }));
      return { exact: true, mismatches: mismatches(await valuesOf(api, out), t.out.data) };
    });
  }
  if (fx.kind === 'local' && ops.has('localAttention')) {
    const x = localInputs(fx);
    await check(`fixture ${fx.name} float32`, async () => {
      const out = await onDevice(t.out.shape, 'float32', () => runLocal(x, device, 'float32'));
      return { error: relativeError(await valuesOf(api, out), t.out.data), tolerance: 1e-4 };
    });
    for (const dtype of HALF)
      await check(`fixture ${fx.name} ${dtype}`, () =>
        againstCpu(runLocal, x, dtype, t.out.shape, roundFields(['q', 'k', 'v', 'qGlobal', 'kGlobal', 'vGlobal'])));
  }
  if (fx.kind === 'lsh' && ops.has('lshAttention')) {
    const x = lshInputs(fx);
    await check(`fixture ${fx.name} float32`, async () => {
      const out = await onDevice(t.out.shape, 'float32', () => runLsh(x, device, 'float32'));
      return { error: relativeError(await valuesOf(api, out), t.out.data), tolerance: 1e-4 };
    });
    for (const dtype of HALF)
      await check(`fixture ${fx.name} ${dtype}`, () => againstCpu(runLsh, x, dtype, t.out.shape, roundFields(['qk', 'v'])));
    if (t.buckets && ops.has('lshHash'))
      await check(`fixture ${fx.name} buckets`, async () => {
        const out = await onDevice(t.buckets.shape, 'int32', () => runHash(x, device, 'float32'));
        return { exact: true, mismatches: mismatches(await out.data(), t.buckets.data) };
      });
    if (t.buckets && ops.has('sortByBucket'))
      await check(`fixture ${fx.name} sorted index`, async () => {
        const { sortedIndex, undoIndex } = await onDevice(t.buckets.shape, 'int32', async () =>
          api.sortByBucket(await tensor(t.buckets.data, t.buckets.shape, 'int32', device)));
        const sorted = await sortedIndex.data(), undo = await undoIndex.data();
        let bad = mismatches(sorted, t.sorted_idx.data);
        const rowLength = t.buckets.shape[2];
        for (let j = 0; j < sorted.length; j++) {
          const row = j - (j % rowLength);
          if (undo[row + sorted[j]] !== j % rowLength) bad++;
        }
        return { exact: true, mismatches: bad };
      });
  }
}

// ---------------------------------------------------------------------------------------------
// Random cases against the CPU

const SMALL_L = 320;
/** With --small: at most one head per batch row and L <= 320, masks cut to the new length. */
function sized(cases) {
  if (!args.small) return cases;
  return cases.map((c) => {
    const s = { ...c, H: 1 };
    for (const key of ['L', 'Lq', 'Lk']) if (s[key] !== undefined) s[key] = Math.min(s[key], SMALL_L);
    if (s.globals) s.globals = s.globals.filter((g) => g < s.L).slice(0, 8);
    if (s.padFrom) s.padFrom = s.padFrom.map((p) => Math.min(p, s.L - 10 * (s.B > 1 ? 1 : 0)));
    if (typeof s.chunkLength === 'number') s.chunkLength = Math.min(s.chunkLength, 64);
    return s;
  });
}

const DENSE = sized([
  { B: 2, H: 3, Lq: 300, Lk: 300, D: 64, causal: false }, { B: 1, H: 2, Lq: 513, Lk: 513, D: 128, causal: true },
  { B: 1, H: 2, Lq: 77, Lk: 1000, D: 64, causal: true }, { B: 1, H: 1, Lq: 1000, Lk: 45, D: 128, causal: false },
  { B: 1, H: 2, Lq: 257, Lk: 257, D: 32, causal: true }, { B: 2, H: 1, Lq: 100, Lk: 100, D: 80, causal: false, scale: 0.3 },
  { B: 1, H: 2, Lq: 200, Lk: 300, D: 64, causal: true, scale: 0 }, { B: 1, H: 1, Lq: 160, Lk: 96, D: 128, causal: false, scale: -0.2 },
]);
if (ops.has('denseAttention'))
  for (const [i, c] of DENSE.entries()) {
    const x = { ...c, q: randn(c.B * c.H * c.Lq * c.D, 100 + i), k: randn(c.B * c.H * c.Lk * c.D, 200 + i),
      v: randn(c.B * c.H * c.Lk * c.D, 300 + i) };
    for (const dtype of ['float32', ...HALF])
      await check(`dense B=${c.B} H=${c.H} Lq=${c.Lq} Lk=${c.Lk} D=${c.D}${c.causal ? ' causal' : ''} ${dtype}`, () =>
        againstCpu(runDense, x, dtype, [c.B, c.H, c.Lq, c.D], roundFields(['q', 'k', 'v'])));
  }

function localMask(B, L, globals, padFrom) {
  const mask = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    for (const g of globals) mask[b * L + g] = 1;
    for (let t = padFrom[b] ?? L; t < L; t++) mask[b * L + t] = -1;
  }
  return mask;
}

const LOCAL = sized([
  { B: 1, H: 4, L: 1000, D: 64, window: 64, globals: [0, 500], padFrom: [] },
  { B: 2, H: 2, L: 777, D: 128, window: [32, 0], globals: [5], padFrom: [700, 777] },
  { B: 1, H: 2, L: 2048, D: 64, window: 256, globals: [], padFrom: [] },
  { B: 1, H: 3, L: 300, D: 32, window: [7, 19], globals: [0, 1, 299], padFrom: [] },
  { B: 1, H: 2, L: 1500, D: 64, window: 256, globals: Array.from({ length: 100 }, (_, i) => i * 3), padFrom: [1450] },
]);
if (ops.has('localAttention'))
  for (const [i, c] of LOCAL.entries()) {
    const n = c.B * c.H * c.L * c.D;
    const x = { ...c, q: randn(n, 400 + i), k: randn(n, 410 + i), v: randn(n, 420 + i), qGlobal: randn(n, 430 + i),
      kGlobal: randn(n, 440 + i), vGlobal: randn(n, 450 + i),
      mask: c.globals.length || c.padFrom.length ? localMask(c.B, c.L, c.globals, c.padFrom) : undefined };
    for (const dtype of ['float32', ...HALF])
      await check(`local B=${c.B} H=${c.H} L=${c.L} D=${c.D} window=${JSON.stringify(c.window)} globals=${c.globals.length} ${dtype}`,
        () => againstCpu(runLocal, x, dtype, [c.B, c.H, c.L, c.D], roundFields(['q', 'k', 'v', 'qGlobal', 'kGlobal', 'vGlobal'])));
  }

const LSH = sized([
  { B: 1, H: 2, L: 1024, D: 64, nHashes: 2, nBuckets: 16, chunkLength: 64, chunksBefore: 1, chunksAfter: 0, causal: false },
  { B: 2, H: 2, L: 600, D: 32, nHashes: 4, nBuckets: 8, chunkLength: 32, chunksBefore: 1, chunksAfter: 1, causal: true, padFrom: [550, 600] },
  { B: 1, H: 2, L: 2048, D: 128, nHashes: 4, nBuckets: 32, chunkLength: 256, chunksBefore: 1, chunksAfter: 0, causal: false },
  { B: 1, H: 1, L: 512, D: 64, nHashes: 1, nBuckets: [4, 8], chunkLength: 64, chunksBefore: 1, chunksAfter: 0, causal: false },
]);
if (ops.has('lshAttention'))
  for (const [i, c] of LSH.entries()) {
    const n = c.B * c.H * c.L * c.D;
    const rot = typeof c.nBuckets === 'number' ? c.nBuckets : c.nBuckets.reduce((a, b) => a + b, 0);
    const rotationShape = [c.H, c.D, c.nHashes, rot / 2];
    const mask = c.padFrom ? localMask(c.B, c.L, [], c.padFrom).map((m) => (m < 0 ? 0 : 1)) : undefined;
    const x = { ...c, qk: randn(n, 500 + i), v: randn(n, 510 + i), rotations: randn(count(rotationShape), 520 + i),
      rotationShape, mask };
    const label = `lsh B=${c.B} H=${c.H} L=${c.L} D=${c.D} nh=${c.nHashes} buckets=${JSON.stringify(c.nBuckets)} chunk=${c.chunkLength}${c.causal ? ' causal' : ''}`;
    for (const dtype of ['float32', ...HALF])
      await check(`${label} ${dtype}`, () => againstCpu(runLsh, x, dtype, [c.B, c.H, c.L, c.D], roundFields(['qk', 'v'])));
    if (ops.has('lshHash'))
      await check(`${label} buckets`, async () => {
        const expected = await (await runHash(x, 'cpu', 'float32')).data();
        const actual = await (await onDevice([c.B, c.H, c.nHashes * c.L], 'int32', () => runHash(x, device, 'float32'))).data();
        return { exact: true, mismatches: mismatches(actual, expected) };
      });
  }

if (ops.has('sortByBucket'))
  for (const [B, H, N, buckets] of args.small ? [[2, 3, 1024, 64], [1, 1, 8192, 2052], [1, 1, 1000, 3]]
    : [[2, 3, 4096, 64], [1, 2, 4 * 65536, 2052], [1, 1, 1000, 3]]) {
    await check(`sortByBucket B=${B} H=${H} N=${N} buckets<${buckets}`, async () => {
      const keys = Int32Array.from(randn(B * H * N, N), (u) => Math.floor(Math.abs(u * 1e6)) % buckets);
      const onCpu = await api.sortByBucket(await tensor(keys, [B, H, N], 'int32', 'cpu'));
      const onDev = await onDevice([B, H, N], 'int32', async () => api.sortByBucket(await tensor(keys, [B, H, N], 'int32', device)));
      return { exact: true, mismatches: mismatches(await onDev.sortedIndex.data(), await onCpu.sortedIndex.data()) +
        mismatches(await onDev.undoIndex.data(), await onCpu.undoIndex.data()) };
    });
  }

if (ops.has('axialPositionEncoding'))
  for (const dtype of ['float32', ...HALF])
    await check(`axial random ${dtype}`, async () => {
      const w0 = randn(64 * 48, 600), w1 = randn(128 * 80, 601);
      const n = args.small ? 300 : 3000;
      const ids = Int32Array.from({ length: 2 * n }, (_, j) => (j * 7919) % (64 * 128));
      const run = async (dev) => api.axialPositionEncoding(
        [await tensor(w0, [64, 48], dtype, dev), await tensor(w1, [128, 80], dtype, dev)],
        { positionIds: await tensor(ids, [2, n], 'int32', dev) });
      const expected = await (await run('cpu')).data();
      const actual = await (await onDevice([2, n, 128], dtype, () => run(device))).data();
      return { exact: true, mismatches: mismatches(actual, expected) };
    });

const failed = results.filter((r) => !r.pass).length;
console.log(`ops: ${[...ops].join(', ')}`);
console.log(`parity (${device}): ${results.length - failed} passed, ${failed} failed`);
if (args.out) writeFileSync(args.out, JSON.stringify({ device, ops: [...ops], results }, null, 1));
process.exit(failed ? 1 : 0);
