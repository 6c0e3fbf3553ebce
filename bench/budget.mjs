// Which (implementation, configuration) pairs run: each is predicted before it starts, and
// skipped when the prediction exceeds the memory or time budget, so that a full run ends
// in bounded time and never swaps the machine.
import { attendedFlops, predictionWork } from './flops.mjs';

export const FULL_BUDGET = { memoryBytes: 8 * 2 ** 30, runMs: 60_000 };
// CI: a few seconds per run, one timed run, keeps the quick run well under three minutes.
export const QUICK_BUDGET = { memoryBytes: 4 * 2 ** 30, runMs: 8_000, quick: true };

/** The float32 sgemm rate (GFLOP/s) the priors below were measured against. */
const PRIOR_SGEMM_GFLOPS = 230;

/**
 * Throughput (GFLOP/s of predictionWork, or of 4·D flops per score for denseScores; output
 * elements per µs for axial) at L = 1k on the 2-core reference machine, rescaled to its quiet
 * sgemm rate; used only when no other run of the same implementation and op exists yet. A
 * guess that is too high costs at most the child's timeout; one that is too low would wrongly
 * skip a run, so these are not padded.
 */
const PRIOR_RATE = {
  'ours-cpu': { dense: 50, local: 30, lsh: 10, axial: 100, linear: 150, model: 120 },
  'ours-cuda': { dense: 1000, local: 500, lsh: 200, axial: 1000, linear: 5000, model: 2000 },
  'torch-cpu': { dense: 20, local: 8, lsh: 8, linear: 150, model: 80 },
  'tfjs-wasm': { dense: 10, local: 2, lsh: 2 },
  'tfjs-cpu': { dense: 0.4, local: 0.2, lsh: 0.35 },
  'onnxruntime-cpu': { dense: 50, local: 50 },
  'plain-js': { axial: 20 },
};

/**
 * Extra memory per attended score (bytes) of implementations that materialise the score
 * matrix: PyTorch and tfjs keep a few float32 copies of it (scores, exponentials, masks);
 * this package streams scores through registers and holds O(L·D).
 */
const SCORE_COPIES = { dense: 3, local: 6, lsh: 8, model: 6 };

/**
 * Scores an implementation holds: the attended ones, or for one that computes every query
 * against every key whatever the window (`denseScores`), all L² per head.
 */
function scores(cfg, impl) {
  if (impl?.denseScores?.includes(cfg.op)) return cfg.B * cfg.H * cfg.L ** 2;
  if (cfg.op === 'linear') return 0;
  if (cfg.op === 'model') return cfg.H * cfg.L * (cfg.config.window + 1); // one layer's band at a time
  return (attendedFlops(cfg) ?? 0) / (4 * cfg.D);
}

/** Output bytes: the floor of any implementation's extra memory. */
function outputBytes(cfg) {
  if (cfg.op === 'axial') return cfg.L * (cfg.weights[0][1] + cfg.weights[1][1]) * 4;
  if (cfg.op === 'linear') return cfg.rows * cfg.out * 4;
  return cfg.B * cfg.H * cfg.L * cfg.D * 4;
}

/** How memory grows between two configurations of the same variant. */
function memoryScale(impl, from, to) {
  if (!impl.peer || to.op === 'axial') return to.L / from.L;
  return scores(to, impl) / scores(from, impl);
}

/**
 * Predicted { ms, bytes, basis } of one run of `impl` on `cfg`. `previous` is a successful
 * measurement of the same implementation on a shorter or sibling configuration ({ cfg,
 * medianMs, peakBytes }), or undefined. `speed` is this machine's sgemm rate over the priors' rate.
 */
export function predict(impl, cfg, previous, speed = 1) {
  // Work that scales the time: for denseScores, 4·D flops per score held.
  const work = (c) => (impl.denseScores?.includes(c.op) ? scores(c, impl) * 4 * c.D : predictionWork(c));
  if (previous) {
    return {
      ms: previous.medianMs * (work(cfg) / work(previous.cfg)),
      bytes: Math.max(outputBytes(cfg), previous.peakBytes * memoryScale(impl, previous.cfg, cfg)),
      basis: `scaled from ${previous.cfg.variant} L=${previous.cfg.L}`,
    };
  }
  const rate = PRIOR_RATE[impl.id]?.[cfg.op] ?? 1;
  const units = cfg.op === 'axial' ? work(cfg) / 1e6 : work(cfg) / 1e9;
  return {
    ms: (units / (rate * speed)) * 1e3,
    bytes: outputBytes(cfg) + (impl.peer ? SCORE_COPIES[cfg.op] ?? 0 : 0) * 4 * scores(cfg, impl),
    basis: 'prior estimate',
  };
}

/**
 * The budget of one configuration: the end-to-end model rows (a whole 12-layer forward pass,
 * not one op) get five times the per-run time.
 */
export function budgetFor(cfg, budget) {
  return cfg.op === 'model' ? { ...budget, runMs: budget.runMs * 5 } : budget;
}

/** Why a predicted run is skipped, or null if it fits the budget. */
export function overBudget(prediction, budget) {
  if (prediction.bytes > budget.memoryBytes)
    return `skipped: > memory budget (predicted ${gib(prediction.bytes)} > ${gib(budget.memoryBytes)})`;
  if (prediction.ms > budget.runMs)
    return `skipped: > time budget (predicted ${Math.round(prediction.ms / 1000)} s > ${budget.runMs / 1000} s per run)`;
  return null;
}

function gib(bytes) {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/**
 * Warm-up and timed runs: three timed runs after a warm-up when they are cheap, one after a
 * warm-up when they are not; the quick run skips the warm-up of runs over a second.
 */
export function repetitions(predictedMs, budget) {
  if (predictedMs <= (budget.quick ? 1000 : 3000)) return { warmup: 1, repeats: 3 };
  return { warmup: budget.quick ? 0 : 1, repeats: 1 };
}

/** The sgemm rate relative to the priors' machine (1 when unknown). */
export function machineSpeed(sgemmGflops) {
  return sgemmGflops ? sgemmGflops / PRIOR_SGEMM_GFLOPS : 1;
}
