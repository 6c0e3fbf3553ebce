// Checks the onnxruntime peer (onnx_peer.mjs, as a separate process, through the job files the
// harness writes) against a float64 JavaScript reference on random inputs of odd sizes:
// dense attention (MultiHeadAttention), causal attention (GroupQueryAttention without a
// window) and causal local attention for several windows, one longer than the sequence; and
// that the jobs it cannot run are refused with an error naming what is unsupported.
//
//   node bench/peers/check_onnx_peer.mjs
//
// Prints one line per check; exits with status 1 if any check fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uniformUnitVariance } from '../inputs.mjs';
import { readRaw, writeRaw } from '../rawio.mjs';

const TOLERANCE = 1e-5;
const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'onnx_peer.mjs');
const SHAPE = [2, 3, 53, 24]; // B, H, L, D

/**
 * softmax(q kᵀ / √D) v per (batch, head) in float64, query i seeing key j where visible(i, j).
 */
function reference(q, k, v, [B, H, L, D], visible) {
  const out = new Float64Array(q.length);
  const scale = 1 / Math.sqrt(D);
  const scores = new Float64Array(L);
  for (let bh = 0; bh < B * H; bh++) {
    const base = bh * L * D;
    for (let i = 0; i < L; i++) {
      let max = -Infinity;
      for (let j = 0; j < L; j++) {
        if (!visible(i, j)) continue;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[base + i * D + d] * k[base + j * D + d];
        scores[j] = dot * scale;
        max = Math.max(max, scores[j]);
      }
      let sum = 0;
      for (let j = 0; j < L; j++) if (visible(i, j)) sum += (scores[j] = Math.exp(scores[j] - max));
      for (let j = 0; j < L; j++) {
        if (!visible(i, j)) continue;
        const p = scores[j] / sum;
        for (let d = 0; d < D; d++) out[base + i * D + d] += p * v[base + j * D + d];
      }
    }
  }
  return out;
}

function relativeL2(actual, expected) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i] - expected[i]) ** 2;
    den += expected[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** Runs the peer on one job in `dir` and returns its JSON line. */
function runPeer(dir, name, job) {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ dir, warmup: 1, repeats: 1, threads: 2, ...job }));
  const r = spawnSync(process.execPath, ['--expose-gc', PEER, file], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return line ? JSON.parse(line) : { ok: false, error: `no result line (status ${r.status}): ${r.stderr.trim().slice(-500)}` };
}

function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnx-peer-check-'));
  let failures = 0;
  const check = (name, ok, detail) => {
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
  };
  try {
    const count = SHAPE.reduce((a, b) => a * b, 1);
    const [q, k, v] = [11, 12, 13].map((seed) => uniformUnitVariance(count, seed));
    const inputs = {};
    for (const [name, data] of Object.entries({ q, k, v })) {
      writeRaw(path.join(dir, `${name}.f32`), data);
      inputs[name] = { file: `${name}.f32`, dtype: 'float32', shape: SHAPE };
    }
    const L = SHAPE[2];
    const cases = [
      { name: 'dense', job: { op: 'dense', config: {} }, visible: () => true },
      { name: 'dense causal', job: { op: 'dense', config: { causal: true } }, visible: (i, j) => j <= i },
      ...[0, 1, 7, L + 4].map((a) => ({
        name: `local window [${a}, 0]`, job: { op: 'local', config: { window: [a, 0] } }, visible: (i, j) => j <= i && j >= i - a,
      })),
    ];
    for (const c of cases) {
      const output = `out-${cases.indexOf(c)}.f32`;
      const result = runPeer(dir, `job-${cases.indexOf(c)}`, { ...c.job, inputs, output });
      if (!result.ok) {
        check(c.name, false, result.error);
        continue;
      }
      const err = relativeL2(readRaw(path.join(dir, output), 'float32', SHAPE), reference(q, k, v, SHAPE, c.visible));
      check(c.name, err <= TOLERANCE, `${result.operator}, rel. L2 ${err.toExponential(2)} (tolerance ${TOLERANCE})`);
    }

    const mask = new Int32Array(SHAPE[0] * L);
    mask[0] = 1;
    writeRaw(path.join(dir, 'mask.i32'), mask);
    const refused = [
      { name: 'two-sided window', job: { op: 'local', config: { window: [4, 4] } }, says: /window \[4,4\] unsupported/ },
      {
        name: 'global token', says: /attentionMask with global/,
        job: { op: 'local', config: { window: [4, 0] }, inputs: { ...inputs, attentionMask: { file: 'mask.i32', dtype: 'int32', shape: [SHAPE[0], L] } } },
      },
    ];
    for (const c of refused) {
      const result = runPeer(dir, `refused-${refused.indexOf(c)}`, { inputs, ...c.job });
      check(`refuses ${c.name}`, !result.ok && c.says.test(result.error), result.ok ? 'ran' : result.error);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
  process.exitCode = failures ? 1 : 0;
}

main();
