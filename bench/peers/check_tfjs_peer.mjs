// Checks the tfjs peer computations (tfjs_ops.mjs) before they are used in benchmarks:
//   * every lsh/local golden fixture (safetensors) on the cpu backend, and on wasm;
//   * LSH buckets and sort order, where the fixture stores them, compared exactly;
//   * dense and asymmetric-window local attention against float64 JS references on
//     random inputs;
//   * no tensors leak from any call;
//   * tfjs_peer.mjs run as a separate process on fixture inputs (file I/O, JSON line).
//
//   node bench/peers/check_tfjs_peer.mjs [FIXTURE_DIR]
//
// FIXTURE_DIR defaults to <repo>/test/fixtures if it exists, else <repo>/../shared/fixtures.
// Prints one line per check and a summary; exits with status 1 if any check fails.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { randn } from '../../test/helpers/random.js';
import { FIXTURE_DIR, readFixture } from '../../test/helpers/safetensors.js';
import { denseAttention, localAttention, lshAttention, lshBucketsAndOrder } from './tfjs_ops.mjs';

/** Relative L2 error bound for float outputs. */
const TOL = { cpu: 1e-5, wasm: 1e-5 };
/** Fixtures up to this many elements per tensor also run on wasm (all current ones do). */
const WASM_MAX_ELEMENTS = 1 << 20;

// ---------------------------------------------------------------------------------------
// Fixtures

function fixtureDir() {
  if (process.argv[2]) return path.resolve(process.argv[2]);
  return existsSync(FIXTURE_DIR) ? FIXTURE_DIR : path.join(FIXTURE_DIR, '..', '..', '..', 'shared', 'fixtures');
}

// ---------------------------------------------------------------------------------------
// Comparison helpers

function relL2(got, want) {
  let num = 0;
  let den = 0;
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) {
    const d = got[i] - want[i];
    num += d * d;
    den += want[i] * want[i];
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  if (Number.isNaN(num)) return { rel: NaN, maxAbs: NaN };
  return { rel: den > 0 ? Math.sqrt(num / den) : Math.sqrt(num), maxAbs };
}

function countMismatches(got, want) {
  let n = 0;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) n++;
  return n;
}

const results = [];
function record(name, ok, detail) {
  results.push({ name, ok });
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}  ${detail}`);
}

/** Run fn (returning a tensor), read its values, and check that nothing else leaked. */
function runChecked(fn) {
  const before = tf.memory().numTensors;
  const out = fn();
  const values = out.dataSync().slice();
  const shape = out.shape;
  out.dispose();
  const leaked = tf.memory().numTensors - before;
  return { values, shape, leaked };
}

function compareFloat(name, backend, got, want) {
  const { values, shape, leaked } = got;
  const sameShape = JSON.stringify(shape) === JSON.stringify(want.shape);
  const { rel, maxAbs } = relL2(values, want.data);
  const ok = sameShape && leaked === 0 && rel <= TOL[backend];
  record(`${backend.padEnd(4)} ${name}`, ok,
    `relL2=${rel.toExponential(2)} maxAbs=${maxAbs.toExponential(2)}` +
    (sameShape ? '' : ` shape=[${shape}] want [${want.shape}]`) +
    (leaked ? ` leaked ${leaked} tensors` : ''));
}

// ---------------------------------------------------------------------------------------
// Fixture checks

function checkLshFixture(name, fx, backend) {
  const { tensors: T, config: c } = fx;
  const t = (x) => (x ? tf.tensor(x.data, x.shape, x.dtype) : undefined);
  const qk = t(T.qk);
  const v = t(T.v);
  const rotations = t(T.rotations);
  const paddingMask = t(T.padding_mask);
  const opts = {
    rotations,
    nHashes: c.num_hashes,
    nBuckets: c.num_buckets,
    chunkLength: c.chunk_length,
    chunksBefore: c.num_chunks_before,
    chunksAfter: c.num_chunks_after,
    causal: !!c.causal,
    paddingMask,
  };
  compareFloat(name, backend, runChecked(() => lshAttention(tf, qk, v, opts)), T.out);

  if (T.buckets && T.sorted_idx) {
    const before = tf.memory().numTensors;
    const { buckets, sortedIdx } = lshBucketsAndOrder(tf, qk, opts);
    const bad = countMismatches(buckets.dataSync(), T.buckets.data) +
      countMismatches(sortedIdx.dataSync(), T.sorted_idx.data);
    buckets.dispose();
    sortedIdx.dispose();
    const leaked = tf.memory().numTensors - before;
    record(`${backend.padEnd(4)} ${name} buckets+sorted_idx`, bad === 0 && leaked === 0,
      `${bad} mismatches` + (leaked ? ` leaked ${leaked} tensors` : ''));
  }
  tf.dispose([qk, v, rotations, paddingMask].filter(Boolean));
}

function checkLocalFixture(name, fx, backend) {
  const { tensors: T, config: c } = fx;
  const t = (x) => (x ? tf.tensor(x.data, x.shape, x.dtype) : undefined);
  const inputs = {
    q: t(T.q), k: t(T.k), v: t(T.v),
    attentionMask: t(T.attention_mask),
    global: T.q_global ? { q: t(T.q_global), k: t(T.k_global), v: t(T.v_global) } : undefined,
  };
  const a = c.one_sided ?? c.attention_window / 2;
  compareFloat(name, backend, runChecked(() => localAttention(tf, inputs.q, inputs.k, inputs.v, {
    window: [a, a], attentionMask: inputs.attentionMask, global: inputs.global,
  })), T.out);
  tf.dispose([inputs.q, inputs.k, inputs.v, inputs.attentionMask,
    ...(inputs.global ? Object.values(inputs.global) : [])].filter(Boolean));
}

// ---------------------------------------------------------------------------------------
// Float64 references on random inputs

/** Softmax-weighted sum of value rows for one query, float64; scores may hold -Infinity. */
function attendRow(scores, values, D, out, outOffset) {
  let m = -Infinity;
  for (const s of scores) m = Math.max(m, s);
  let z = 0;
  const p = scores.map((s) => {
    const e = Math.exp(s - m);
    z += e;
    return e;
  });
  for (let d = 0; d < D; d++) {
    let acc = 0;
    for (let j = 0; j < p.length; j++) acc += p[j] * values[j][d];
    out[outOffset + d] = acc / z;
  }
}

const row = (x, bh, L, D, t) => x.subarray((bh * L + t) * D, (bh * L + t + 1) * D);
const dot = (a, b) => a.reduce((acc, ai, i) => acc + ai * b[i], 0);

function denseReference(q, k, v, [B, H, L, D], Lk, scale, causal) {
  const out = new Float64Array(B * H * L * D);
  for (let bh = 0; bh < B * H; bh++) {
    for (let i = 0; i < L; i++) {
      const qi = row(q, bh, L, D, i);
      const scores = [];
      const values = [];
      for (let j = 0; j < Lk; j++) {
        scores.push(causal && j > i ? -Infinity : dot(qi, row(k, bh, Lk, D, j)) * scale);
        values.push(row(v, bh, Lk, D, j));
      }
      attendRow(scores, values, D, out, (bh * L + i) * D);
    }
  }
  return out;
}

/** docs/semantics.md section 2 with a [left, right] window, keys outside [0, L) absent. */
function localReference(q, k, v, qg, kg, vg, mask, [B, H, L, D], [left, right]) {
  const FMIN = -3.4028234663852886e38;
  const out = new Float64Array(B * H * L * D);
  const globals = [];
  for (let b = 0; b < B; b++) {
    globals.push([]);
    for (let t = 0; t < L; t++) if (mask[b * L + t] > 0) globals[b].push(t);
  }
  const nMax = Math.max(...globals.map((g) => g.length));
  const sq = Math.sqrt(D);
  for (let b = 0; b < B; b++) {
    const m = (t) => mask[b * L + t];
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let t = 0; t < L; t++) {
        const o = (bh * L + t) * D;
        if (m(t) < 0) continue;                  // padding row: zero
        const scores = [];
        const values = [];
        if (m(t) > 0) {                          // global row: all non-padding keys
          const qt = row(qg, bh, L, D, t).map((x) => x / sq);
          for (let j = 0; j < L; j++) {
            scores.push(m(j) < 0 ? FMIN : dot(qt, row(kg, bh, L, D, j)));
            values.push(row(vg, bh, L, D, j));
          }
        } else {
          const qt = row(q, bh, L, D, t).map((x) => x / sq);
          for (let i = 0; i < nMax; i++) {
            const g = globals[b][i];
            scores.push(g === undefined ? FMIN : dot(qt, row(k, bh, L, D, g)));
            values.push(g === undefined ? new Float32Array(D) : row(v, bh, L, D, g));
          }
          for (let j = Math.max(0, t - left); j <= Math.min(L - 1, t + right); j++) {
            scores.push(dot(qt, row(k, bh, L, D, j)) + (m(j) !== 0 ? FMIN : 0));
            values.push(row(v, bh, L, D, j));
          }
        }
        attendRow(scores, values, D, out, o);
      }
    }
  }
  return out;
}

function checkDenseRandom(backend, shape, { Lk = shape[2], causal = false, scale, seed }) {
  const [B, H, L, D] = shape;
  const q = randn(B * H * L * D, seed);
  const k = randn(B * H * Lk * D, seed + 1);
  const v = randn(B * H * Lk * D, seed + 2);
  const s = scale ?? 1 / Math.sqrt(D);
  const want = { data: denseReference(q, k, v, shape, Lk, s, causal), shape };
  const tq = tf.tensor(q, shape);
  const tk = tf.tensor(k, [B, H, Lk, D]);
  const tv = tf.tensor(v, [B, H, Lk, D]);
  const name = `dense [${shape}] Lk=${Lk} causal=${causal} scale=${scale ?? 'default'}`;
  compareFloat(name, backend, runChecked(() => denseAttention(tf, tq, tk, tv, { scale, causal })), want);
  tf.dispose([tq, tk, tv]);
}

function checkLocalRandom(backend, shape, window, maskFor, seed) {
  const [B, H, L, D] = shape;
  const n = B * H * L * D;
  const [q, k, v, qg, kg, vg] = [0, 1, 2, 3, 4, 5].map((i) => randn(n, seed + i));
  const mask = new Int32Array(B * L);
  for (let b = 0; b < B; b++) for (let t = 0; t < L; t++) mask[b * L + t] = maskFor(b, t);
  const want = { data: localReference(q, k, v, qg, kg, vg, mask, shape, window), shape };
  const T = [q, k, v, qg, kg, vg].map((x) => tf.tensor(x, shape));
  const tm = tf.tensor(mask, [B, L], 'int32');
  const name = `local [${shape}] window=[${window}] (random)`;
  compareFloat(name, backend, runChecked(() => localAttention(tf, T[0], T[1], T[2], {
    window, attentionMask: tm, global: { q: T[3], k: T[4], v: T[5] },
  })), want);
  tf.dispose([...T, tm]);
}

// ---------------------------------------------------------------------------------------
// The peer process

/** Run tfjs_peer.mjs on a job; returns {json, lines, status, outFile}. */
function runPeer(dir, job) {
  const jobFile = path.join(dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify({ dir, ...job }));
  const peer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tfjs_peer.mjs');
  const r = spawnSync(process.execPath, [...process.execArgv, peer, jobFile], { encoding: 'utf8' });
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  let json = null;
  try {
    json = JSON.parse(lines[lines.length - 1]);
  } catch {
    // reported below as a malformed answer
  }
  return { json, lines, status: r.status, stderr: r.stderr };
}

/** The peer on a fixture's inputs, written as raw files, must reproduce the fixture. */
function checkPeerProcess(fx, backend) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tfjs-peer-check-'));
  try {
    const T = fx.tensors;
    const c = fx.config;
    const inputs = {};
    const put = (name, t) => {
      if (!t) return;
      writeFileSync(path.join(dir, `${name}.bin`), new Uint8Array(t.data.buffer));
      inputs[name] = { file: `${name}.bin`, dtype: t.dtype, shape: t.shape };
    };
    let config;
    if (fx.kind === 'lsh') {
      put('qk', T.qk); put('v', T.v); put('rotations', T.rotations); put('paddingMask', T.padding_mask);
      config = {
        nHashes: c.num_hashes, nBuckets: c.num_buckets, chunkLength: c.chunk_length,
        chunksBefore: c.num_chunks_before, chunksAfter: c.num_chunks_after, causal: !!c.causal,
      };
    } else {
      put('q', T.q); put('k', T.k); put('v', T.v); put('attentionMask', T.attention_mask);
      put('qGlobal', T.q_global); put('kGlobal', T.k_global); put('vGlobal', T.v_global);
      const a = c.one_sided ?? c.attention_window / 2;
      config = { window: [a, a] };
    }
    const r = runPeer(dir, {
      op: fx.kind, backend, inputs, config, warmup: 1, repeats: 2, output: 'out.f32',
    });
    const name = `${backend.padEnd(4)} peer process ${fx.name}`;
    if (!r.json?.ok || r.lines.length !== 1 || r.status !== 0) {
      record(name, false, `status=${r.status} stdout=${JSON.stringify(r.lines)} ${r.stderr.slice(-500)}`);
      return;
    }
    const buf = readFileSync(path.join(dir, 'out.f32'));
    const out = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    const { rel } = relL2(out, T.out.data);
    const j = r.json;
    const ok = rel <= TOL[backend] && j.ms.length === 2 && j.medianMs > 0 && j.peakBytes > 0 &&
      j.backend === backend && typeof j.tfjs === 'string';
    record(name, ok, `relL2=${rel.toExponential(2)} ${JSON.stringify(j)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A job that cannot run must still give one JSON line with ok: false, and status 1. */
function checkPeerFailure() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tfjs-peer-check-'));
  try {
    const r = runPeer(dir, { op: 'nonsense', backend: 'cpu', inputs: {} });
    record('peer process reports failures', r.json?.ok === false && r.lines.length === 1 &&
      r.status === 1, JSON.stringify(r.lines));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------

async function useBackend(name) {
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
  }
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}

async function main() {
  const dir = fixtureDir();
  const files = readdirSync(dir).filter((f) => /^(lsh|local)_.*\.safetensors$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no lsh/local fixtures in ${dir}`);
  const fixtures = files.map((f) => ({ ...readFixture(f, dir), name: f.replace(/\.safetensors$/, '') }));
  console.log(`fixtures: ${dir} (${fixtures.length} lsh/local cases)`);

  for (const backend of ['cpu', 'wasm']) {
    await useBackend(backend);
    for (const fx of fixtures) {
      const largest = Math.max(...Object.values(fx.tensors).map((x) => x.data.length));
      if (backend === 'wasm' && largest > WASM_MAX_ELEMENTS) continue;
      if (fx.kind === 'lsh') checkLshFixture(fx.name, fx, backend);
      else checkLocalFixture(fx.name, fx, backend);
    }
    checkDenseRandom(backend, [2, 3, 37, 16], { seed: 11 });
    checkDenseRandom(backend, [1, 2, 64, 32], { causal: true, seed: 21 });
    checkDenseRandom(backend, [2, 2, 20, 8], { Lk: 29, scale: 0.3, seed: 31 });
    // Asymmetric windows, L not a multiple of the block, globals, padding, B > 1.
    checkLocalRandom(backend, [2, 2, 45, 8], [3, 5], (b, t) =>
      (b === 0 && (t === 0 || t === 20) ? 1 : b === 1 && t >= 40 ? -1 : b === 1 && t === 7 ? 1 : 0), 41);
    checkLocalRandom(backend, [1, 2, 30, 8], [4, 0], (b, t) => (t === 29 ? 1 : 0), 51);
    checkLocalRandom(backend, [1, 1, 19, 4], [0, 2], () => 0, 61);
  }

  // The peer as a process, on one fixture of each kind that exercises most features.
  for (const backend of ['cpu', 'wasm']) {
    for (const name of ['lsh_h4_b32_c64_b1a1_pad_B2', 'local_w16_B2_scattered_pad']) {
      const fx = fixtures.find((f) => f.name === name);
      if (fx) checkPeerProcess(fx, backend);
    }
  }
  checkPeerFailure();

  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length}/${results.length} checks passed` +
    (failed.length ? `; failed: ${failed.map((r) => r.name.trim()).join(', ')}` : ''));
  process.exitCode = failed.length ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
