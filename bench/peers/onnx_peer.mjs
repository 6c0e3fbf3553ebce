// onnxruntime peer for the benchmarks: onnxruntime-node on the CPU, the attention a Node user
// gets from onnxruntime's contrib operators (the models: onnx_models.mjs). Runs one job in
// this process and prints one JSON line on stdout.
//
//   node --expose-gc bench/peers/onnx_peer.mjs JOB.json
//
// JOB.json is the peers' format (bench/README.md, peers/tfjs_peer.mjs):
//   dense: q, k, v [B, H, L, D]; config {scale?, causal?}
//          non-causal: MultiHeadAttention; causal: GroupQueryAttention without a window
//   local: q, k, v [B, H, L, D], optional attentionMask with no global or padding token;
//          config {window: [a, 0]} (causal local attention: the a keys before each query and
//          its own), through GroupQueryAttention with local_window_size a + 1 (onnxruntime's
//          window counts the query's own key)
//   "threads": intra-op threads (default: every core), "warmup", "repeats", "output".
//
// Success: {"ok": true, "ms": [...], "medianMs", "peakBytes", "operator", "onnxruntime",
//           "threads"}
// Failure: {"ok": false, "error"} (exit status 0, so that the caller always reads the line).
//
// The inputs are converted to the operators' layout [B, L, H·D] once, before the timed runs,
// and the output back to [B, H, L, D] after them: the timed runs are the session's run()
// alone. peakBytes is measured as for this package (bench/ours.mjs): the peak RSS reached
// during the warm-up and timed runs minus the RSS once the session and its inputs exist.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { currentRssBytes, median, peakRssBytes, resetPeakRss, roundMs, settleGarbage } from '../measure.mjs';
import { readJobInputs, writeRaw } from '../rawio.mjs';
import { causalLocalAttentionModel, multiHeadAttentionModel } from './onnx_models.mjs';

function report(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}

/**
 * [B, H, L, D] → [B, L, H, D] (`toHeads` false) or back (true): one row of D values at a
 * time.
 */
function swapHeadsAndTokens(src, [B, H, L, D], toHeads) {
  const out = new Float32Array(src.length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let l = 0; l < L; l++) {
        const headMajor = ((b * H + h) * L + l) * D;
        const tokenMajor = ((b * L + l) * H + h) * D;
        if (toHeads) out.set(src.subarray(tokenMajor, tokenMajor + D), headMajor);
        else out.set(src.subarray(headMajor, headMajor + D), tokenMajor);
      }
    }
  }
  return out;
}

/** The model for the job and the feeds it needs besides query, key and value. */
function modelFor(job, inputs, [B, H, L, D]) {
  const cfg = job.config ?? {};
  const shape = { B, heads: H, headSize: D, scale: cfg.scale };
  // GroupQueryAttention's sequence lengths: a prompt of L tokens per batch entry, no past.
  const promptOfL = () => ({
    seqlens_k: new ort.Tensor('int32', new Int32Array(B).fill(L - 1), [B]),
    total_sequence_length: new ort.Tensor('int32', Int32Array.of(L), [1]),
  });
  if (job.op === 'dense') {
    if (!cfg.causal) return { operator: 'MultiHeadAttention', bytes: multiHeadAttentionModel(shape), feeds: {} };
    // local_window_size -1: the operator's "no window", i.e. plain causal attention.
    return { operator: 'GroupQueryAttention', bytes: causalLocalAttentionModel({ ...shape, localWindowSize: -1 }), feeds: promptOfL() };
  }
  if (job.op === 'local') {
    const [before, after] = Array.isArray(cfg.window) ? cfg.window : [cfg.window, cfg.window];
    if (!(Number.isInteger(before) && before >= 0 && after === 0))
      throw new Error(`local: window [${cfg.window}] unsupported; onnxruntime's local attention is causal: window [a, 0], a >= 0`);
    const mask = inputs.attentionMask?.data;
    if (mask?.some((m) => m !== 0)) throw new Error('local: attentionMask with global or padding tokens is unsupported (GroupQueryAttention has neither)');
    if (inputs.qGlobal) throw new Error('local: global projections are unsupported (GroupQueryAttention has no global tokens)');
    return { operator: 'GroupQueryAttention', bytes: causalLocalAttentionModel({ ...shape, localWindowSize: before + 1 }), feeds: promptOfL() };
  }
  throw new Error(`unknown op ${job.op} (dense or local)`);
}

async function runJob(job, dir) {
  const warmup = job.warmup ?? 1;
  const repeats = Math.max(1, job.repeats ?? 3);
  const threads = job.threads ?? os.availableParallelism();
  const inputs = readJobInputs(job, dir);
  for (const name of ['q', 'k', 'v'])
    if (inputs[name]?.shape.length !== 4) throw new Error(`${job.op}: input ${name} [B, H, L, D] is missing`);
  const bhld = inputs.q.shape;
  const [B, H, L, D] = bhld;
  const { operator, bytes, feeds: extra } = modelFor(job, inputs, bhld);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const sequence = (name) => new ort.Tensor('float32', swapHeadsAndTokens(inputs[name].data, bhld, false), [B, L, H * D]);
  const feeds = { query: sequence('q'), key: sequence('k'), value: sequence('v'), ...extra };
  for (const name of Object.keys(inputs)) delete inputs[name];

  await settleGarbage();
  resetPeakRss();
  const baseRss = currentRssBytes();
  const ms = [];
  let out;
  for (let i = 0; i < warmup + repeats; i++) {
    // Let the previous result go before the next run (untimed), as the other peers do.
    out = undefined;
    globalThis.gc?.();
    const start = performance.now();
    out = (await session.run(feeds)).output;
    const elapsed = performance.now() - start;
    if (i >= warmup) ms.push(elapsed);
  }
  const peakRss = peakRssBytes();
  if (job.output) writeRaw(path.resolve(dir, job.output), swapHeadsAndTokens(out.data, bhld, true));
  await session.release();

  return {
    ok: true,
    ms: ms.map(roundMs),
    medianMs: roundMs(median(ms)),
    peakBytes: Math.max(0, peakRss - baseRss),
    operator,
    onnxruntime: ort.env.versions.node,
    threads,
  };
}

async function main() {
  const jobFile = process.argv[2];
  if (!jobFile) throw new Error('usage: node --expose-gc bench/peers/onnx_peer.mjs JOB.json');
  const job = JSON.parse(readFileSync(jobFile, 'utf8'));
  const dir = job.dir ?? path.dirname(path.resolve(jobFile));
  report(await runJob(job, dir));
}

main().catch((e) => report({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }));
