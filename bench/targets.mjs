// The project's performance targets, checked against a run's rows. Targets hold on the
// 2-core reference machine at float32 and L = 16k, for local and LSH attention:
//   * at least 30× faster than tfjs-wasm and 10× faster than PyTorch on the CPU;
//   * at least 40 % of the machine's sgemm rate (attended-score GFLOP/s);
//   * peak memory linear in L.
import { formatPercent, formatRatio } from './format.mjs';

export const TARGET_LENGTH = 16384;
// End to end: the Longformer-base model at L = 4k against PyTorch, and linear at the
// projections' shape against the machine's sgemm rate.
const MODEL = { length: 4096, peer: 'torch-cpu', factor: 3 };
const LINEAR_SGEMM_FRACTION = 0.8;
const SPEEDUPS = [
  { peer: 'tfjs-wasm', factor: 30 },
  { peer: 'torch-cpu', factor: 10 },
];
const SGEMM_FRACTION = 0.4;
// Log-log slope of peak memory over L above which growth is not called linear.
const LINEAR_SLOPE = 1.2;

function verdict(ok) {
  return ok ? 'met' : 'not met';
}

function speedupCheck(ours, peerRow, peer, factor) {
  const target = `≥ ${factor}× faster than ${peer}`;
  if (!peerRow) return { target, status: 'not measured', note: `${peer} did not run this configuration` };
  if (peerRow.status === 'ok')
    return { target, status: verdict(peerRow.ratio >= factor), note: `${formatRatio(peerRow.ratio)}` };
  if (peerRow.status === 'skipped' && peerRow.predicted)
    return {
      target, status: 'not measured',
      note: `${peerRow.reason}; predicted ratio ${formatRatio(peerRow.predicted.ms / ours.medianMs)} (${peerRow.predicted.basis})`,
    };
  return { target, status: 'not measured', note: `${peer}: ${peerRow.reason}` };
}

/** Least-squares slope of log(peak bytes) against log(L) over the rows given. */
function logLogSlope(rows) {
  const pts = rows.filter((r) => r.status === 'ok' && r.peakBytes > 0).map((r) => [Math.log(r.L), Math.log(r.peakBytes)]);
  if (pts.length < 2) return null;
  const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  const sxy = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const sxx = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return sxy / sxx;
}

/**
 * [{ config, target, status: 'met' | 'not met' | 'not measured', note }] for every local and
 * LSH variant this run measured with this package on the CPU.
 */
export function checkTargets(rows) {
  const checks = [];
  const ours = rows.filter((r) => r.implementation === 'ours-cpu' && (r.op === 'local' || r.op === 'lsh'));
  // Variants that exist at the target length (not the extra 64k bucket counts).
  const variants = [...new Set(ours.filter((r) => r.L === TARGET_LENGTH).map((r) => `${r.op} ${r.variant}`))];
  for (const key of variants) {
    const mine = ours.filter((r) => `${r.op} ${r.variant}` === key);
    const at = mine.find((r) => r.L === TARGET_LENGTH);
    const config = `${key} L=${TARGET_LENGTH}`;
    if (at.status !== 'ok') {
      checks.push({ config, target: 'all', status: 'not measured', note: `ours: ${at.reason}` });
    } else {
      for (const { peer, factor } of SPEEDUPS) {
        const peerRow = rows.find((r) => r.implementation === peer && r.op === at.op && r.variant === at.variant && r.L === at.L);
        checks.push({ config, ...speedupCheck(at, peerRow, peer, factor) });
      }
      const fraction = at.sgemmFraction;
      checks.push({
        config, target: `≥ ${SGEMM_FRACTION * 100} % of sgemm rate`,
        status: fraction == null ? 'not measured' : verdict(fraction >= SGEMM_FRACTION),
        note: fraction == null ? 'sgemm rate unknown' : formatPercent(fraction),
      });
    }
    // Memory below 4k is dominated by allocator noise; judge the growth from 4k up.
    const slope = logLogSlope(mine.filter((r) => r.L >= 4096));
    checks.push({
      config: `${key} (all L ≥ 4k)`, target: 'memory linear in L',
      status: slope == null ? 'not measured' : verdict(slope <= LINEAR_SLOPE),
      note: slope == null ? 'fewer than two lengths measured' : `peak memory ∝ L^${slope.toFixed(2)}`,
    });
  }
  return [...checks, ...endToEndTargets(rows)];
}

/** The end-to-end targets: the model against PyTorch, linear against sgemm. */
function endToEndTargets(rows) {
  const checks = [];
  const model = rows.find((r) => r.implementation === 'ours-cpu' && r.op === 'model' && r.L === MODEL.length);
  if (model) {
    const config = `model ${model.variant} L=${MODEL.length}`;
    if (model.status !== 'ok') checks.push({ config, target: 'all', status: 'not measured', note: `ours: ${model.reason}` });
    else {
      const peerRow = rows.find((r) => r.implementation === MODEL.peer && r.op === 'model' && r.L === MODEL.length);
      checks.push({ config, ...speedupCheck(model, peerRow, MODEL.peer, MODEL.factor) });
    }
  }
  const linear = rows.find((r) => r.implementation === 'ours-cpu' && r.op === 'linear');
  if (linear) {
    const fraction = linear.status === 'ok' ? linear.sgemmFraction : null;
    checks.push({
      config: `linear ${linear.variant}`, target: `≥ ${LINEAR_SGEMM_FRACTION * 100} % of sgemm rate`,
      status: fraction == null ? 'not measured' : verdict(fraction >= LINEAR_SGEMM_FRACTION),
      note: fraction == null ? (linear.status === 'ok' ? 'sgemm rate unknown' : linear.reason) : formatPercent(fraction),
    });
  }
  return checks;
}

/** The checks as a markdown table. */
export function targetsMarkdown(checks) {
  if (checks.length === 0) return '_No local, LSH, linear or model runs of this package: no targets to check._\n';
  const lines = ['| configuration | target | status | measured |', '| --- | --- | --- | --- |'];
  for (const c of checks) lines.push(`| ${c.config} | ${c.target} | **${c.status}** | ${c.note} |`);
  return lines.join('\n') + '\n';
}
