// Markdown tables of a run: a side-by-side summary (one line per configuration, the peers'
// times with their ratio to ours) and the full list of rows.
import { formatBytes, formatError, formatGflops, formatLength, formatMs, formatPercent, formatRatio } from './format.mjs';

/** A short cell for a row that did not produce a time. */
function statusCell(row) {
  if (row.status === 'skipped') return row.reason.startsWith('skipped: > memory') ? 'skipped: > memory budget'
    : row.reason.startsWith('skipped: > time') ? 'skipped: > time budget' : row.reason.replace(/\s*\(.*$/, '');
  const reason = row.reason ?? '';
  if (/memory access out of bounds|out of memory|Cannot allocate|OUT_OF_MEMORY|SIGKILL/i.test(reason)) return 'failed: out of memory';
  if (/wasm heap/.test(reason)) return 'failed (past the 4 GiB wasm heap)';
  if (/timeout/.test(reason)) return 'failed: timeout';
  return 'failed';
}

function timeCell(row, withRatio) {
  if (!row) return '';
  if (row.status !== 'ok') return statusCell(row);
  const flag = row.agrees === false ? ' ⚠ disagrees' : '';
  return withRatio && row.ratio != null ? `${formatMs(row.medianMs)} (${formatRatio(row.ratio)})${flag}` : `${formatMs(row.medianMs)}${flag}`;
}

function groupByConfig(rows) {
  const groups = new Map();
  for (const r of rows) {
    const key = `${r.op}|${r.variant}|${r.L}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  return [...groups.values()];
}

/** The fastest peer row of a configuration that agrees with ours, or undefined. */
function bestPeer(group) {
  return group.filter((r) => r.peer && r.status === 'ok' && r.ratio != null && r.agrees !== false)
    .sort((a, b) => a.medianMs - b.medianMs)[0];
}

function bestPeerCell(group) {
  const best = bestPeer(group);
  return best ? `${best.implementation}: ${timeCell(best, true)}` : '';
}

/** One line per configuration; peer cells read "time (peer time / our time)". */
export function summaryTable(rows, ourId = 'ours-cpu') {
  const peers = [...new Set(rows.filter((r) => r.peer).map((r) => r.implementation))];
  const header = ['op', 'config', 'L', `${ourId} time`, 'GFLOP/s (of sgemm)', 'peak memory', 'best peer (× ours)',
    ...peers.map((p) => `${p} (× ours)`)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const group of groupByConfig(rows)) {
    const ours = group.find((r) => r.implementation === ourId);
    const first = group[0];
    const perf = ours?.status === 'ok' && ours.gflops != null ? `${formatGflops(ours.gflops)} (${formatPercent(ours.sgemmFraction)})` : '—';
    const cells = [
      first.op, first.label, formatLength(first.L), ours ? timeCell(ours, false) : '', perf,
      ours?.status === 'ok' ? formatBytes(ours.peakBytes) : '—', bestPeerCell(group),
      ...peers.map((p) => timeCell(group.find((r) => r.implementation === p), true)),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

/** Every row with all its figures. */
export function detailTable(rows) {
  const header = ['op', 'config', 'L', 'implementation', 'device', 'median', 'peak memory', 'ratio (peer / ours)',
    'GFLOP/s', 'of sgemm', 'rel. L2 vs ours', 'note'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const r of rows) {
    const ok = r.status === 'ok';
    const note = ok ? (r.agrees === false ? `⚠ disagrees with ours (> ${r.tolerance})` : r.runs) : r.reason;
    lines.push(`| ${[
      r.op, r.label, formatLength(r.L), r.implementation, r.device,
      ok ? formatMs(r.medianMs) : statusCell(r), ok ? formatBytes(r.peakBytes) : '—',
      r.peer && ok ? formatRatio(r.ratio) : '—', ok ? formatGflops(r.gflops) : '—',
      ok ? formatPercent(r.sgemmFraction) : '—', r.peer ? formatError(r.relL2) : '—',
      String(note ?? '').replace(/\|/g, '\\|'),
    ].join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

/** The end-to-end rows: time, tokens per second and peak memory of each implementation. */
export function modelTable(rows) {
  const model = rows.filter((r) => r.op === 'model');
  if (!model.length) return '';
  const header = ['model', 'L', 'implementation', 'time', 'tokens/s', 'peak memory', 'ratio (peer / ours)', 'rel. L2 vs ours'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const r of model) {
    const ok = r.status === 'ok';
    lines.push(`| ${[
      r.label, formatLength(r.L), r.implementation, ok ? formatMs(r.medianMs) : statusCell(r),
      ok ? Math.round(r.L / (r.medianMs / 1000)).toLocaleString('en') : '—', ok ? formatBytes(r.peakBytes) : '—',
      r.peer && ok ? formatRatio(r.ratio) : '—', r.peer ? formatError(r.relL2) : '—',
    ].join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
