// The workload of bench/gpu/sanitize.sh: every CUDA kernel on small cases (partial tiles, every
// dtype, head dimensions 1 to 256, masks, global tokens), the failure paths that report from the
// device (an out-of-range position id, an invalid attention mask value), NaN inputs, an aborted
// request, and concurrent requests on the worker threads' streams, each checked against the
// same request run alone. Plain Node, no test runner: it loads the compiled package (dist/).
//   node --expose-gc bench/gpu/sanitize-workload.mjs          kernels, failure paths, concurrency
//   node --expose-gc bench/gpu/sanitize-workload.mjs --oom    with SPARSE_ATTENTION_CUDA_MEMORY_LIMIT
//                   set: exhausts the pool, expects OUT_OF_MEMORY, then frees and allocates again
// At the end every device buffer is freed and the pool emptied (gc() finds forgotten tensors).
// Exits non-zero when a check fails; prints one line per check.
import * as api from '../../dist/esm/index.js';

const { Tensor } = api;
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};

function randn(n, seed) {
  let s = seed >>> 0 || 1;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next()));
}

function host(values, shape, dtype = 'float32') {
  if (dtype === 'float32' || dtype === 'int32') return Tensor.from(values, shape);
  return Tensor.from(dtype === 'float16' ? api.toFloat16(values) : api.toBFloat16(values), shape, { dtype });
}

const onGpu = (values, shape, dtype) => host(values, shape, dtype).to('cuda');

async function floats(t) {
  const d = await t.data();
  return t.dtype === 'float16' || t.dtype === 'bfloat16' ? api.fromHalf(d, t.dtype) : d;
}

/** Largest difference between the op on the GPU and on the CPU, NaN positions required equal. */
async function gpuMatchesCpu(label, run, inputs, tolerance) {
  const gpu = await floats(await run(...(await Promise.all(inputs.map((t) => t.to('cuda'))))));
  const cpu = await floats(await run(...inputs));
  let worst = 0, nanMismatch = 0;
  for (let i = 0; i < cpu.length; i++) {
    if (Number.isNaN(cpu[i]) !== Number.isNaN(gpu[i])) nanMismatch++;
    else if (!Number.isNaN(cpu[i])) worst = Math.max(worst, Math.abs(cpu[i] - gpu[i]));
  }
  check(worst <= tolerance && nanMismatch === 0, `${label}: max |gpu - cpu| ${worst.toExponential(2)}, NaN mismatches ${nanMismatch}`);
}

async function kernels() {
  for (const dtype of ['float32', 'float16', 'bfloat16']) {
    const tol = dtype === 'float32' ? 1e-4 : 3e-2;
    for (const [B, H, Lq, Lk, D, causal] of [[1, 2, 17, 33, 1, false], [2, 1, 100, 100, 64, true], [1, 1, 65, 70, 128, true], [1, 1, 40, 9, 256, false]]) {
      const inputs = [host(randn(B * H * Lq * D, 1), [B, H, Lq, D], dtype), host(randn(B * H * Lk * D, 2), [B, H, Lk, D], dtype),
        host(randn(B * H * Lk * D, 3), [B, H, Lk, D], dtype)];
      await gpuMatchesCpu(`dense ${dtype} B=${B} H=${H} Lq=${Lq} Lk=${Lk} D=${D}${causal ? ' causal' : ''}`,
        (q, k, v) => api.denseAttention(q, k, v, { causal }), inputs, tol);
    }
    if (api.localAttention) {
      const [B, H, L, D] = [2, 2, 150, 32];
      const mask = Int32Array.from({ length: B * L }, (_, i) => (i % L === 7 || i % L === 90 ? 1 : i % L > 140 ? -1 : 0));
      const x = [1, 2, 3, 4, 5, 6].map((s) => host(randn(B * H * L * D, s), [B, H, L, D], dtype));
      await gpuMatchesCpu(`local ${dtype} window [16, 4], mask, global projections`, (q, k, v, qg, kg, vg, m) =>
        api.localAttention(q, k, v, { window: [16, 4], attentionMask: m, global: { q: qg, k: kg, v: vg } }),
      [...x, Tensor.from(mask, [B, L])], tol);
      await gpuMatchesCpu(`local ${dtype} window beyond L`, (q, k, v) => api.localAttention(q, k, v, { window: 400 }), x.slice(0, 3), tol);
    }
    const ids = Int32Array.from({ length: 2 * 33 }, (_, i) => (i * 7) % 60);
    await gpuMatchesCpu(`axial ${dtype}`, (w0, w1, p) => api.axialPositionEncoding([w0, w1], { positionIds: p }),
      [host(randn(6 * 5, 1), [6, 5], dtype), host(randn(10 * 3, 2), [10, 3], dtype), Tensor.from(ids, [2, 33])], 0);
  }
  // LSH hashing is discontinuous: a near tie may hash differently on the GPU, so these cases
  // only run the kernels (their parity is the LSH tests' business).
  if (api.lshAttention) {
    const [B, H, L, D] = [1, 2, 96, 32];
    const x = [host(randn(B * H * L * D, 1), [B, H, L, D]), host(randn(B * H * L * D, 2), [B, H, L, D])];
    await gpuMatchesCpu('lshAttention', (qk, v) => api.lshAttention(qk, v, { nHashes: 2, nBuckets: 4, chunkLength: 16, seed: 3 }), x, Infinity);
    const padding = Int32Array.from({ length: B * L }, (_, i) => (i % L > 90 ? 0 : 1));
    await gpuMatchesCpu('lshAttention causal, padding, factorised buckets', (qk, v, m) => api.lshAttention(qk, v, {
      nHashes: 3, nBuckets: [2, 4], chunkLength: 16, chunksBefore: 1, chunksAfter: 1, causal: true, paddingMask: m, seed: 4 }),
    [...x, Tensor.from(padding, [B, L])], Infinity);
    await gpuMatchesCpu('lshHash', (qk, rotations) => api.lshHash(qk, { rotations, nBuckets: 8 }),
      [x[0], host(randn(H * D * 2 * 4, 5), [H, D, 2, 4])], Infinity);
    const buckets = Int32Array.from({ length: 2 * 2 * 200 }, (_, i) => (i * 2654435761) % 13);
    const sorted = async (b) => (await api.sortByBucket(b)).sortedIndex;
    await gpuMatchesCpu('sortByBucket', sorted, [Tensor.from(buckets, [2, 2, 200])], 0);
  }
}

async function failurePaths() {
  const w = [await onGpu(randn(4, 1), [2, 2]), await onGpu(randn(6, 2), [3, 2])];
  const bad = await onGpu(Int32Array.from([0, 6]), [1, 2]);
  const axial = await api.axialPositionEncoding(w, { positionIds: bad }).then(() => 'resolved', (e) => e.constructor.name);
  check(axial === 'RangeError', `axial with a position id outside the table on the GPU rejects: ${axial}`);
  if (api.localAttention) {
    const x = await onGpu(randn(24, 3), [1, 1, 6, 4]);
    const mask = await onGpu(Int32Array.from([0, 0, 2, 0, 0, 0]), [1, 6]);
    const local = await api.localAttention(x, x, x, { window: 1, attentionMask: mask }).then(() => 'resolved', (e) => e.constructor.name);
    check(local === 'RangeError', `local with an invalid mask value on the GPU rejects: ${local}`);
  }
  const q = randn(2 * 50 * 16, 4);
  q[3 * 16] = NaN;
  await gpuMatchesCpu('dense with a NaN query on the GPU', (a) => api.denseAttention(a, a, a, { causal: true }),
    [Tensor.from(q, [1, 2, 50, 16])], 1e-4);
  const x = await onGpu(randn(64, 5), [1, 1, 16, 4]);
  const aborted = await api.denseAttention(x, x, x, { signal: AbortSignal.abort() }).then(() => 'resolved', (e) => e.code);
  check(aborted === 'ABORTED', `aborted before it starts: ${aborted}`);
}

async function concurrency() {
  const requests = [];
  for (let n = 0; n < 60; n++) {
    const [H, L, D] = [1 + (n % 3), 20 + ((n * 37) % 180), [16, 32, 64][n % 3]];
    const [q, k, v] = await Promise.all([1, 2, 3].map((s) => onGpu(randn(H * L * D, n * 3 + s), [1, H, L, D], n % 2 ? 'float16' : 'float32')));
    requests.push(n % 4 === 3 && api.localAttention ? () => api.localAttention(q, k, v, { window: 8 })
      : () => api.denseAttention(q, k, v, { causal: n % 2 === 0 }));
  }
  const bytes = async (t) => Buffer.from((await t.data()).buffer).toString('base64');
  const alone = [];
  for (const r of requests) alone.push(await bytes(await r()));
  const together = await Promise.all(requests.map(async (r) => bytes(await r())));
  const differing = together.filter((b, i) => b !== alone[i]).length;
  check(differing === 0, `60 concurrent GPU requests equal their one-by-one results (${differing} differ)`);
}

async function outOfMemory() {
  const limit = process.env.SPARSE_ATTENTION_CUDA_MEMORY_LIMIT;
  if (!limit) return check(false, '--oom needs SPARSE_ATTENTION_CUDA_MEMORY_LIMIT');
  const block = Tensor.from(new Float32Array(4 << 20), [4 << 20]);  // 16 MiB
  const held = [];
  let error;
  try {
    for (let i = 0; i < 1000; i++) held.push(await block.to('cuda'));
  } catch (e) {
    error = e;
  }
  check(error?.code === 'OUT_OF_MEMORY', `pool capped at ${limit}: ${held.length} blocks of 16 MiB, then ${error?.code ?? 'no error'}`);
  const survivor = held[0];
  check(survivor && (await survivor.data()).length === 4 << 20, 'a tensor allocated before OUT_OF_MEMORY is still readable');
  for (const t of held) t.dispose();
  const again = await block.to('cuda').then(() => 'ok', (e) => e.code);
  check(again === 'ok', `after disposing, allocating again: ${again}`);
}

if (!api.backendInfo().devices.length) {
  console.log('FAIL no CUDA device');
  process.exit(2);
}
if (process.argv.includes('--oom')) await outOfMemory();
else {
  await kernels();
  await failurePaths();
  await concurrency();
}
// Every device buffer back to the pool (the forgotten ones through their finalizers), and the
// pool back to the driver, so that memcheck's leak check sees only real leaks.
for (let round = 0; round < 3; round++) {
  globalThis.gc?.();
  await new Promise((resolve) => setImmediate(resolve));
}
api.emptyCache();
check(api.memoryStats().cudaBytes === 0, `device memory at the end: ${JSON.stringify(api.memoryStats())}`);
console.log(failures ? `${failures} checks failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
