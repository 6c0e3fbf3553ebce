// This package as a benchmark implementation: runs one job in this process, in the same
// protocol as bench/peers/*, and prints one JSON line on stdout.
//
//   node --expose-gc bench/ours.mjs JOB.json
//
// JOB.json is the peers' format (see bench/README.md) plus "device": "cpu" | "cuda", and the
// op "axial" (inputs w0 [n0,d0], w1 [n1,d1]; config {length}).
//
// Success: {"ok": true, "ms": [...], "medianMs", "peakBytes", "device"}
// Failure: {"ok": false, "error"} (exit status 0, so that the caller always reads the line).
//
// peakBytes is measured as the PyTorch peer measures it, so that the two compare: on the
// CPU, the peak RSS reached during the warm-up and timed runs minus the RSS once the inputs
// are loaded; on CUDA, the growth of memoryStats().cudaBytes (live tensors plus the pool's
// cached blocks, which keep the high-water mark) sampled around every run.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { currentRssBytes, median, peakRssBytes, resetPeakRss, roundMs, settleGarbage } from './measure.mjs';
import { readJobInputs, writeRaw } from './rawio.mjs';

/** The package, loaded in main() so that a load failure is reported as a result line. */
let sa;

function report(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}

/** The package function for `op`, or an error naming what this build lacks. */
function opFunction(name) {
  const fn = sa[name];
  if (typeof fn !== 'function') throw new Error(`${name} is not exported by this build of sparse-attention`);
  return fn;
}

/** Returns a function that runs the job's computation once and resolves to the output Tensor. */
async function makeRun(job, t, dir) {
  const cfg = job.config ?? {};
  switch (job.op) {
    case 'dense': {
      const denseAttention = opFunction('denseAttention');
      const opts = { causal: !!cfg.causal };
      if (cfg.scale !== undefined) opts.scale = cfg.scale;
      return () => denseAttention(t.q, t.k, t.v, opts);
    }
    case 'local': {
      const localAttention = opFunction('localAttention');
      const opts = { window: cfg.window };
      if (t.attentionMask) opts.attentionMask = t.attentionMask;
      if (t.qGlobal) opts.global = { q: t.qGlobal, k: t.kGlobal ?? t.k, v: t.vGlobal ?? t.v };
      return () => localAttention(t.q, t.k, t.v, opts);
    }
    case 'lsh': {
      const lshAttention = opFunction('lshAttention');
      const opts = {
        nHashes: cfg.nHashes,
        nBuckets: cfg.nBuckets,
        chunkLength: cfg.chunkLength,
        chunksBefore: cfg.chunksBefore ?? 1,
        chunksAfter: cfg.chunksAfter ?? 0,
        causal: !!cfg.causal,
      };
      if (t.rotations) opts.rotations = t.rotations;
      if (t.paddingMask) opts.paddingMask = t.paddingMask;
      return () => lshAttention(t.qk, t.v, opts);
    }
    case 'axial': {
      const axialPositionEncoding = opFunction('axialPositionEncoding');
      const opts = cfg.length === undefined ? {} : { length: cfg.length };
      return () => axialPositionEncoding([t.w0, t.w1], opts);
    }
    case 'linear': {
      const linear = opFunction('linear');
      return () => linear(t.x, t.weight, t.bias);
    }
    case 'model': {
      // The end to end row: the checkpoint is loaded once, before the measured runs.
      const { LongformerModel } = await import('../dist/esm/models/index.js');
      const model = await LongformerModel.fromPretrained(path.resolve(dir, cfg.checkpoint), { device: job.device ?? 'cpu' });
      return async () => {
        const { lastHiddenState, poolerOutput } = await model.forward({ inputIds: t.inputIds, globalAttentionMask: t.globalAttentionMask });
        poolerOutput?.dispose();
        return lastHiddenState;
      };
    }
    default:
      throw new Error(`unknown op ${job.op} (dense, local, lsh, axial, linear or model)`);
  }
}

/** The job's inputs as Tensors on `device`. */
async function loadTensors(job, dir, device) {
  const tensors = {};
  for (const [name, { data, dtype, shape }] of Object.entries(readJobInputs(job, dir))) {
    const host = sa.Tensor.from(data, shape, { dtype });
    tensors[name] = device === 'cpu' ? host : await host.to(device);
  }
  return tensors;
}

async function runJob(job, dir) {
  const device = job.device ?? 'cpu';
  if (device !== 'cpu' && !sa.backendInfo().devices.length) throw new Error(`device ${device}: no CUDA device here`);
  const warmup = job.warmup ?? 1;
  const repeats = Math.max(1, job.repeats ?? 3);
  const tensors = await loadTensors(job, dir, device);
  const run = await makeRun(job, tensors, dir);
  const onCuda = device !== 'cpu';
  const cudaBytes = () => sa.memoryStats().cudaBytes;

  // Host copies of device inputs are garbage now; collect them before the baseline.
  await settleGarbage();
  resetPeakRss();
  const baseRss = currentRssBytes();
  const baseCuda = onCuda ? cudaBytes() : 0;
  let peakCuda = baseCuda;

  const ms = [];
  let out;
  for (let i = 0; i < warmup + repeats; i++) {
    // Let the previous result go before the next run (untimed), as the peers do.
    out?.dispose();
    out = undefined;
    globalThis.gc?.();
    if (onCuda) peakCuda = Math.max(peakCuda, cudaBytes());
    const start = performance.now();
    out = await run();
    const elapsed = performance.now() - start;
    if (onCuda) peakCuda = Math.max(peakCuda, cudaBytes());
    if (i >= warmup) ms.push(elapsed);
  }
  const peakRss = peakRssBytes();

  if (job.output) {
    const values = await out.data();
    writeRaw(path.resolve(dir, job.output), values instanceof Float32Array ? values : Float32Array.from(values));
  }
  const outDevice = out.device;
  out.dispose();

  return {
    ok: true,
    ms: ms.map(roundMs),
    medianMs: roundMs(median(ms)),
    peakBytes: onCuda ? peakCuda - baseCuda : Math.max(0, peakRss - baseRss),
    device: outDevice,
  };
}

async function main() {
  const jobFile = process.argv[2];
  if (!jobFile) throw new Error('usage: node --expose-gc bench/ours.mjs JOB.json');
  const job = JSON.parse(readFileSync(jobFile, 'utf8'));
  sa = await import('../dist/esm/index.js');
  const dir = job.dir ?? path.dirname(path.resolve(jobFile));
  report(await runJob(job, dir));
}

main().catch((e) => report({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }));
