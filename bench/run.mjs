// npm run bench [-- --quick] [--ops ...] [--lengths ...] [--peers ...] [--device ...]
//
// Runs every (implementation, configuration) in a fresh child process, one after another
// (never side by side: the reference machine has 2 vCPUs), the peers on the same inputs as
// this package, checks that their outputs agree with ours, and writes bench/results/.
// bench/README.md explains every number.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL_BUDGET, QUICK_BUDGET, budgetFor, machineSpeed, overBudget, predict, repetitions } from './budget.mjs';
import { runJob } from './child.mjs';
import { ALL_PEERS, USAGE, parseArgs } from './cli.mjs';
import { MAX_RELATIVE_L2, relativeL2 } from './compare.mjs';
import { LENGTHS, OPS, QUICK_LENGTHS, QUICK_OPS, configId, configurations, familyOf } from './configs.mjs';
import { attendedFlops } from './flops.mjs';
import { formatBytes, formatDuration, formatError, formatLength, formatMs, formatRatio } from './format.mjs';
import { IMPLEMENTATIONS, TORCH, onnxAvailable, tfjsAvailable, torchAvailable } from './implementations.mjs';
import { writeInputs } from './inputs.mjs';
import { addonBuild, describeMachine, measureSgemm } from './machine.mjs';
import { acquireRunLock } from './lock.mjs';
import { writeReport } from './report.mjs';
import { checkTargets } from './targets.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
const SCRATCH_ROOT = path.join(RESULTS, 'tmp');
// This run's inputs and outputs; removed at the end.
const SCRATCH = path.join(SCRATCH_ROOT, `run-${process.pid}`);
const WASM_HEAP_BYTES = 4 * 2 ** 30;

/** The implementations this run measures; `notes` receives a line for each one left out. */
async function chooseImplementations(args, notes) {
  const { backendInfo } = await import('../dist/esm/index.js');
  const hasGpu = backendInfo().devices.length > 0;
  const device = args.device ?? 'all';
  const wanted = new Set(args.peers ?? ALL_PEERS);
  const chosen = [];
  for (const impl of IMPLEMENTATIONS) {
    if (!impl.peer) {
      if (device !== 'all' && impl.device !== device) continue;
      if (impl.device === 'cuda' && !hasGpu) {
        if (device === 'cuda') notes.push(`${impl.id}: no CUDA device here`);
        continue;
      }
    } else if (!wanted.has(impl.id)) {
      continue;
    } else if (impl.id === 'torch-cpu' && !torchAvailable()) {
      notes.push('torch-cpu: PyTorch is not installed for /usr/bin/python3 (`bash bench/peers/install-torch.sh` installs it)');
      continue;
    } else if (impl.id.startsWith('tfjs') && !tfjsAvailable()) {
      notes.push(`${impl.id}: @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm are not installed (they are devDependencies: npm install)`);
      continue;
    } else if (impl.id === 'onnxruntime-cpu' && !onnxAvailable()) {
      notes.push('onnxruntime-cpu: onnxruntime-node and onnx-proto are not installed (they are devDependencies: npm install)');
      continue;
    }
    chosen.push(impl);
  }
  return chosen;
}

/** Rows of `impl` on shorter configurations of the same series (see familyOf). */
function shorterRuns(rows, impl, cfg) {
  return rows.filter((r) => r.implementation === impl.id && r.op === cfg.op && familyOf(r.cfg) === familyOf(cfg) && r.L < cfg.L);
}

/** Why a shorter run of the same series rules this one out, if one does. */
function inheritedSkip(rows, impl, cfg) {
  const bad = shorterRuns(rows, impl, cfg).filter((r) => r.status !== 'ok').sort((a, b) => a.L - b.L)[0];
  if (!bad) return null;
  return `skipped: L=${formatLength(bad.L)} ${bad.status === 'failed' ? 'failed' : 'was skipped'} (${bad.reason.replace(/^(skipped|failed): /, '')})`;
}

/**
 * The measurement a prediction extends: the same series at the longest shorter length, else
 * a sibling configuration of the same op at this length (e.g. 64 global tokens from 1).
 */
function previousMeasurement(rows, impl, cfg) {
  const shorter = shorterRuns(rows, impl, cfg).filter((r) => r.status === 'ok').sort((a, b) => b.L - a.L)[0];
  const sibling = rows.find((r) => r.implementation === impl.id && r.op === cfg.op && r.L === cfg.L && r.status === 'ok');
  const basis = shorter ?? sibling;
  return basis && { cfg: basis.cfg, medianMs: basis.medianMs, peakBytes: basis.peakBytes };
}

function progressLine(row) {
  const name = `${configId(row).padEnd(38)} ${row.implementation.padEnd(10)}`;
  if (row.status !== 'ok') return `${name} ${row.reason}`;
  const parts = [formatMs(row.medianMs).padStart(9), formatBytes(row.peakBytes).padStart(10)];
  if (row.ratio != null) parts.push(`${formatRatio(row.ratio)} ours`);
  if (row.relL2 != null) parts.push(`relL2 ${formatError(row.relL2)}${row.agrees === false ? ' DISAGREES' : ''}`);
  return `${name} ${parts.join('  ')}`;
}

/**
 * Decides whether `impl` runs on `cfg`, runs it, and fills `row`. `ctx` holds the run's
 * budget, sgemm result, machine speed, start time and the rows so far.
 */
async function measure(impl, cfg, row, { dir, inputs, inputBytes }, ctx) {
  const prediction = predict(impl, cfg, previousMeasurement(ctx.rows, impl, cfg), ctx.speed);
  row.predicted = { ms: Math.round(prediction.ms), bytes: Math.round(prediction.bytes), basis: prediction.basis };
  const budget = budgetFor(cfg, ctx.budget);
  const skip = inheritedSkip(ctx.rows, impl, cfg) ?? overBudget(prediction, budget)
    ?? (impl.peer && Date.now() - ctx.started > ctx.maxMs ? `skipped: > total time budget (${ctx.maxMs / 60_000} min)` : null);
  if (skip) return Object.assign(row, { status: 'skipped', reason: skip });

  const reps = repetitions(prediction.ms, budget);
  const threads = impl.id === 'torch-cpu' ? ctx.sgemm.threads ?? os.cpus().length : os.cpus().length;
  const job = { op: cfg.op, dir, inputs, config: cfg.config, ...reps, output: `out-${impl.id}.f32`, threads, ...impl.job };
  const timeoutMs = (reps.warmup + reps.repeats) * budget.runMs * 2 + 60_000;
  const result = await runJob(impl.command, job, path.join(dir, `job-${impl.id}.json`), { cwd: ROOT, timeoutMs });
  row.runs = `${reps.warmup} warm-up + ${reps.repeats} timed`;
  if (!result.ok) {
    // tfjs-wasm is run even where it is predicted past its heap, so that its failure is on record.
    const heap = impl.id === 'tfjs-wasm' && prediction.bytes > WASM_HEAP_BYTES ? ' (predicted above the 4 GiB wasm heap)' : '';
    return Object.assign(row, { status: 'failed', reason: `failed: ${result.error}${heap}` });
  }
  const flops = attendedFlops(cfg);
  const gflops = flops == null ? null : flops / (result.medianMs * 1e6);
  const { ok, ms, medianMs, peakBytes, ...details } = result;
  return Object.assign(row, {
    status: 'ok', medianMs, ms,
    peakBytes: impl.peakIncludesInputs ? Math.max(0, peakBytes - inputBytes) : peakBytes,
    reportedPeakBytes: peakBytes,
    gflops,
    details,
  });
}

/** Every implementation on one configuration's inputs: ours first, then the peers. */
async function runConfiguration(cfg, impls, ctx) {
  const dir = path.join(SCRATCH, `${cfg.op}-${cfg.variant}-${cfg.L}`);
  const { inputs, bytes: inputBytes } = writeInputs(dir, cfg);
  const reference = impls.find((i) => !i.peer && i.device === 'cpu') ?? impls.find((i) => !i.peer);
  let referenceRow;
  for (const impl of impls) {
    const row = {
      op: cfg.op, variant: cfg.variant, label: cfg.label, L: cfg.L, B: cfg.B, H: cfg.H, D: cfg.D, config: cfg.config,
      implementation: impl.id, peer: impl.peer, device: impl.device, loadAverage: Number(os.loadavg()[0].toFixed(2)), cfg,
    };
    ctx.rows.push(row);
    await measure(impl, cfg, row, { dir, inputs, inputBytes }, ctx);
    if (row.status === 'ok' && impl === reference) referenceRow = row;
    if (row.status === 'ok' && referenceRow && row !== referenceRow) {
      if (impl.peer && reference.device === 'cpu') row.ratio = row.medianMs / referenceRow.medianMs;
      row.relL2 = relativeL2(path.join(dir, `out-${impl.id}.f32`), path.join(dir, `out-${reference.id}.f32`));
      row.tolerance = MAX_RELATIVE_L2;
      row.agrees = row.relL2 == null ? null : row.relL2 <= MAX_RELATIVE_L2;
    }
    console.log(progressLine(row));
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The better of the sgemm probes at the start and the end of the run, with both recorded. */
function bestRate(start, end) {
  if (!end?.gflops) return start;
  const best = end.gflops > (start.gflops ?? 0) ? end : start;
  return { ...best, probes: [start.gflops, end.gflops].map((g) => Number(g?.toFixed(1))) };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) return console.log(USAGE);
  if (!existsSync(path.join(ROOT, 'dist', 'esm', 'index.js'))) throw new Error('dist/ is missing: run `npm run build:all` first');
  acquireRunLock(SCRATCH_ROOT);
  // Holding the lock, no other run is alive: folders left by interrupted runs can go.
  for (const entry of readdirSync(SCRATCH_ROOT)) if (entry.startsWith('run-')) rmSync(path.join(SCRATCH_ROOT, entry), { recursive: true, force: true });
  const started = Date.now();
  const notes = [];
  const machine = { ...describeMachine(ROOT), addon: addonBuild(ROOT) };
  const impls = await chooseImplementations(args, notes);
  rmSync(SCRATCH, { recursive: true, force: true });
  mkdirSync(SCRATCH, { recursive: true });
  console.log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, commit ${machine.commit}`);
  for (const n of notes) console.log(`note: ${n}`);

  // The sgemm probe runs whenever PyTorch is there, even if its peer is not compared.
  const torch = torchAvailable();
  const sgemmSize = args.quick ? 2048 : 4096;
  const sgemm = torch
    ? await measureSgemm(TORCH.command, SCRATCH, ROOT, sgemmSize)
    : { gflops: null, reason: 'PyTorch is not installed, so the machine\'s sgemm rate is unknown' };
  console.log(sgemm.gflops
    ? `sgemm (${sgemm.n}³ float32, PyTorch, OpenBLAS ${sgemm.blasCore ?? sgemm.blas}): ${sgemm.gflops.toFixed(1)} GFLOP/s with ${sgemm.threads} thread(s)`
    : `sgemm rate: unknown (${sgemm.reason})`);

  const ctx = {
    rows: [], sgemm, speed: machineSpeed(sgemm.gflops), started,
    budget: args.quick ? QUICK_BUDGET : FULL_BUDGET,
    // Past this, no peer run starts (ours still run: they are the point of the run).
    maxMs: (args.maxMinutes ?? (args.quick ? 2 : 25)) * 60_000,
  };
  const ops = args.ops ?? (args.quick ? QUICK_OPS : OPS);
  const lengths = args.lengths ?? (args.quick ? QUICK_LENGTHS : LENGTHS);
  for (const cfg of configurations({ ops, lengths, quick: args.quick })) {
    const runnable = impls.filter((i) => i.ops.includes(cfg.op) && (i.accepts?.(cfg) ?? true));
    if (runnable.length) await runConfiguration(cfg, runnable, ctx);
  }
  // The rate again at the end, the better of the two counting: other load on the machine
  // during one probe must not make our fraction of it look better.
  const sgemmEnd = torch && !args.quick ? await measureSgemm(TORCH.command, SCRATCH, ROOT, sgemmSize) : null;
  const rate = bestRate(sgemm, sgemmEnd);
  rmSync(SCRATCH, { recursive: true, force: true });

  const addonAtEnd = addonBuild(ROOT);
  if (addonAtEnd?.sha256 !== machine.addon?.sha256)
    notes.push(`the addon was rebuilt during the run (${addonAtEnd?.builtAt}): rows after that time used another build; run again`);

  const rows = ctx.rows.map(({ cfg, ...row }) => ({
    ...row, sgemmFraction: row.gflops != null && rate.gflops && row.device === 'cpu' ? row.gflops / rate.gflops : null,
  }));
  const loads = rows.map((r) => r.loadAverage);
  const report = {
    label: args.quick ? 'quick' : args.filtered ? 'custom' : 'latest',
    machine, sgemm: rate, budget: ctx.budget, notes,
    elapsedSeconds: Math.round((Date.now() - started) / 1000),
    loadAverage: { min: Math.min(...loads), max: Math.max(...loads) },
    targets: checkTargets(rows), rows,
  };
  const files = writeReport(RESULTS, report, { plots: !args.quick });
  console.log(`\n${rows.length} rows in ${formatDuration(report.elapsedSeconds)}; wrote ${files.map((f) => `bench/results/${f}`).join(', ')}`);
  for (const n of notes.slice(-1)) if (n.startsWith('the addon was rebuilt')) console.log(`WARNING: ${n}`);
  const disagreeing = rows.filter((r) => r.agrees === false);
  if (disagreeing.length)
    console.log(`WARNING: ${disagreeing.length} output(s) disagree with ours beyond ${MAX_RELATIVE_L2}: ${disagreeing.map((r) => `${configId(r)} ${r.implementation}`).join('; ')}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
