// Plain JavaScript axial position encodings, the baseline a Node user writes without this
// package: one TypedArray.set per half row. Same job protocol and measurements as ours.mjs.
//
//   node --expose-gc bench/axial_js.mjs JOB.json      (op "axial", inputs w0, w1, config {length})
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { currentRssBytes, median, peakRssBytes, resetPeakRss, roundMs, settleGarbage } from './measure.mjs';
import { readJobInputs, writeRaw } from './rawio.mjs';

/** Reformer layout: E[p] = concat(w0[p div n1], w1[p mod n1]); [L, d0 + d1]. */
function axialEncoding(w0, w1, length) {
  const [, d0] = w0.shape;
  const [n1, d1] = w1.shape;
  const width = d0 + d1;
  const out = new Float32Array(length * width);
  for (let p = 0; p < length; p++) {
    const row = Math.floor(p / n1);
    const col = p % n1;
    out.set(w0.data.subarray(row * d0, (row + 1) * d0), p * width);
    out.set(w1.data.subarray(col * d1, (col + 1) * d1), p * width + d0);
  }
  return out;
}

async function runJob(job, dir) {
  if (job.op !== 'axial') throw new Error(`unsupported op ${job.op} (axial only)`);
  const { w0, w1 } = readJobInputs(job, dir);
  const length = job.config?.length ?? w0.shape[0] * w1.shape[0];
  await settleGarbage();
  resetPeakRss();
  const baseRss = currentRssBytes();
  const ms = [];
  let out;
  for (let i = 0; i < (job.warmup ?? 1) + Math.max(1, job.repeats ?? 3); i++) {
    out = undefined;
    globalThis.gc?.();
    const start = performance.now();
    out = axialEncoding(w0, w1, length);
    if (i >= (job.warmup ?? 1)) ms.push(performance.now() - start);
  }
  const peakBytes = Math.max(0, peakRssBytes() - baseRss);
  if (job.output) writeRaw(path.resolve(dir, job.output), out);
  return { ok: true, ms: ms.map(roundMs), medianMs: roundMs(median(ms)), peakBytes };
}

try {
  const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const dir = job.dir ?? path.dirname(path.resolve(process.argv[2]));
  process.stdout.write(JSON.stringify(await runJob(job, dir)) + '\n');
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: `${e.name}: ${e.message}` }) + '\n');
}
