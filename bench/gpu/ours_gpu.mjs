// Times this package's ops on the GPU over the benchmark matrix (cases.mjs): the device time
// of each call from CUDA events on the op's stream (SPARSE_ATTENTION_DEVICE_TIMING=1, read back
// with takeDeviceTimings), after two warm-up calls, median over up to 20 calls; inputs rotate
// among three sets when they would fit in L2. Peak memory is the growth of the device pool
// (live + cached bytes, cache emptied first) over one call: output and temporaries.
//   SPARSE_ATTENTION_DEVICE_TIMING=1 node bench/gpu/ours_gpu.mjs --cases cases.json --out ours.jsonl [--budget-s 150]
// Writes one JSON line per (case, dtype) as it goes, so a run cut short keeps what it measured.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { availableOps, loadPackage, median, parseArgs, randn } from './common.mjs';

const args = parseArgs(process.argv.slice(2), { cases: '', out: 'ours.jsonl', 'budget-s': '150', device: 'cuda' });
if (args.device !== 'cpu' && process.env.SPARSE_ATTENTION_DEVICE_TIMING !== '1') {
  console.error('ours_gpu: set SPARSE_ATTENTION_DEVICE_TIMING=1 (device times come from CUDA events)');
  process.exit(2);
}
const { api, native } = await loadPackage();
const ops = availableOps(api);
const cases = JSON.parse(readFileSync(args.cases, 'utf8'));
const deadline = Date.now() + Number(args['budget-s']) * 1000;
const device = args.device;
writeFileSync(args.out, '');

// Inputs are cut from one pool of 2^24 normal values per dtype (generating gigabytes of normal
// values in JS would take minutes); within a head no row repeats.
const POOL = 1 << 24;
const pool32 = randn(POOL, 12345);
const pools = { float32: pool32, float16: api.toFloat16(pool32), bfloat16: api.toBFloat16(pool32) };

function poolArray(n, dtype, offset) {
  const src = pools[dtype];
  const out = new src.constructor(n);
  for (let i = 0, at = offset % POOL; i < n;) {
    const take = Math.min(n - i, POOL - at);
    out.set(src.subarray(at, at + take), i);
    i += take;
    at = 0;
  }
  return out;
}

async function deviceTensor(shape, dtype, offset) {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = api.Tensor.from(poolArray(n, dtype, offset), shape, dtype === 'float32' ? undefined : { dtype });
  return device === 'cpu' ? t : t.to(device);
}

/** Bucket ids like lshHash's: round r holds r * (N + 1) + a bucket in [0, N]. */
async function bucketTensor(c, seed) {
  const rounds = 4, perRound = c.N / rounds, nb = c.buckets / rounds;
  const keys = new Int32Array(c.B * c.H * c.N);
  let s = seed;
  for (let i = 0; i < keys.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    keys[i] = Math.floor((i % c.N) / perRound) * nb + (s >>> 8) % nb;
  }
  const t = api.Tensor.from(keys, [c.B, c.H, c.N]);
  return device === 'cpu' ? t : t.to(device);
}

/** Inputs of one call, and the call. */
async function prepare(c, dtype, set) {
  const off = set * 7919 + 1;
  if (c.op === 'dense') {
    const shape = [c.B, c.H, c.L, c.D];
    const [q, k, v] = await Promise.all([0, 1, 2].map((i) => deviceTensor(shape, dtype, off + i * 104729)));
    return { inputs: [q, k, v], call: () => api.denseAttention(q, k, v, { causal: c.causal }) };
  }
  if (c.op === 'local') {
    const shape = [c.B, c.H, c.L, c.D];
    const [q, k, v] = await Promise.all([0, 1, 2].map((i) => deviceTensor(shape, dtype, off + i * 104729)));
    let mask;
    if (c.globals > 0) {
      const m = new Int32Array(c.B * c.L);
      for (let b = 0; b < c.B; b++) m.fill(1, b * c.L, b * c.L + c.globals);
      mask = api.Tensor.from(m, [c.B, c.L]);
      if (device !== 'cpu') mask = await mask.to(device);
    }
    return { inputs: [q, k, v, mask].filter(Boolean),
      call: () => api.localAttention(q, k, v, { window: c.window, attentionMask: mask }) };
  }
  if (c.op === 'lsh') {
    const shape = [c.B, c.H, c.L, c.D];
    const [qk, v] = await Promise.all([0, 1].map((i) => deviceTensor(shape, dtype, off + i * 104729)));
    const rotations = await deviceTensor([c.H, c.D, c.nHashes, c.nBuckets / 2], 'float32', off + 3);
    return { inputs: [qk, v, rotations], call: () => api.lshAttention(qk, v, {
      nHashes: c.nHashes, nBuckets: c.nBuckets, chunkLength: c.chunkLength, chunksBefore: c.chunksBefore,
      chunksAfter: c.chunksAfter, rotations }) };
  }
  const buckets = await bucketTensor(c, off);
  return { inputs: [buckets], call: () => api.sortByBucket(buckets) };
}

const OP_NAMES = { dense: 'denseAttention', local: 'localAttention', lsh: 'lshAttention', sort: 'sortByBucket' };
const disposeResult = (r) => (r instanceof api.Tensor ? [r] : Object.values(r)).forEach((t) => t.dispose());
const inputBytes = (c) => (c.op === 'sort' ? c.B * c.H * c.N * 4 : 3 * c.B * c.H * c.L * c.D * 2);

/**
 * Device milliseconds of one call: every CUDA op it queued (copies excluded). On the CPU (a dry
 * run of this script) the wall time of the call.
 */
async function timedCall(call) {
  native.takeDeviceTimings();
  const started = performance.now();
  const result = await call();
  const wall = performance.now() - started;
  const ms = native.takeDeviceTimings().filter((t) => t.op !== 'copyTensor').reduce((a, t) => a + t.ms, 0);
  disposeResult(result);
  return device === 'cpu' ? wall : ms;
}

async function measure(c, dtype) {
  const sets = inputBytes(c) < 64 << 20 ? 3 : 1;
  const prepared = [];
  for (let s = 0; s < sets; s++) prepared.push(await prepare(c, dtype, s));
  for (let i = 0; i < 2; i++) await timedCall(prepared[i % sets].call);

  api.emptyCache();
  const pooled = () => api.memoryStats().cudaBytes;
  const before = pooled();
  const ms = [await timedCall(prepared[0].call)];
  const peakBytes = pooled() - before;
  const started = Date.now();
  while (ms.length < 20 && (ms.length < 5 || Date.now() - started < 2000)) ms.push(await timedCall(prepared[ms.length % sets].call));
  for (const p of prepared) p.inputs.forEach((t) => t.dispose());
  const medianMs = median(ms);
  const record = { id: c.id, side: 'ours', impl: `ours_${dtype}`, dtype, medianMs, ms, peakBytes };
  if (c.flops) record.tflops = c.flops / (medianMs * 1e-3) / 1e12;
  if (c.op === 'sort') record.gkeysPerS = (c.B * c.H * c.N) / (medianMs * 1e-3) / 1e9;
  return record;
}

for (const c of cases) {
  for (const dtype of c.ours) {
    let record;
    if (!ops.has(OP_NAMES[c.op])) record = { id: c.id, side: 'ours', impl: `ours_${dtype}`, dtype, status: 'op not in this build' };
    else if (Date.now() > deadline) record = { id: c.id, side: 'ours', impl: `ours_${dtype}`, dtype, status: 'skipped: time budget' };
    else {
      try {
        record = { ...(await measure(c, dtype)), status: 'ok' };
      } catch (e) {
        record = { id: c.id, side: 'ours', impl: `ours_${dtype}`, dtype, status: `error: ${e?.code ?? ''} ${e?.message ?? e}` };
      }
      api.emptyCache();
    }
    appendFileSync(args.out, JSON.stringify(record) + '\n');
    const figure = record.status !== 'ok' ? record.status
      : `${record.medianMs.toFixed(3)} ms${record.tflops ? `, ${record.tflops.toFixed(1)} TFLOP/s` : ''}${record.gkeysPerS ? `, ${record.gkeysPerS.toFixed(2)} Gkeys/s` : ''}`;
    console.log(`ours ${c.id} ${dtype}: ${figure}`);
  }
}
