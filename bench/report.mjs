// The files a run leaves in bench/results/: <date>-<machine>[-label].json with every
// figure, <label>.md with the tables, and the SVG plots.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatBytes, formatDuration } from './format.mjs';
import { writePlots } from './plots.mjs';
import { detailTable, modelTable, summaryTable } from './table.mjs';
import { targetsMarkdown } from './targets.mjs';

function sgemmLine(sgemm) {
  if (!sgemm.gflops) return `Machine float32 sgemm rate: unknown — ${sgemm.reason}. The "of sgemm" column is empty.`;
  const byThreads = Object.entries(sgemm.byThreads).map(([t, g]) => `${t}: ${g.toFixed(1)}`).join(', ');
  return `Machine float32 sgemm rate: **${sgemm.gflops.toFixed(1)} GFLOP/s** (${sgemm.n}×${sgemm.n} matmul, PyTorch ` +
    `${sgemm.torch} with OpenBLAS ${sgemm.blasCore ?? ''}, ${sgemm.threads} thread(s); GFLOP/s by threads: ${byThreads}; ` +
    `the better of the probes at the start and the end of the run: ${sgemm.probes?.join(' and ') ?? 'one probe'}). ` +
    'The PyTorch peer runs with the best thread count.';
}

function loadLine(report) {
  const { min, max } = report.loadAverage;
  const busy = max > report.machine.cores
    ? ' — **the machine was busy with other work: times are inflated and noisier than on an idle machine**' : '';
  return `Load average (1 min) while the rows ran: ${min}–${max} on ${report.machine.cores} cores${busy}.`;
}

/** The library versions the peers reported (their result lines' fields of these names). */
const VERSION_FIELDS = ['torch', 'tfjs', 'onnxruntime'];

function peerVersionsLine(rows) {
  const seen = new Map();
  for (const r of rows) {
    if (!r.peer || r.status !== 'ok' || seen.has(r.implementation)) continue;
    const field = VERSION_FIELDS.find((f) => r.details?.[f]);
    if (field) seen.set(r.implementation, `${r.implementation} ${field} ${r.details[field]}${r.details.threads ? ` (${r.details.threads} threads)` : ''}`);
  }
  return seen.size ? [`Peer versions: ${[...seen.values()].join('; ')}.`] : [];
}

function markdown(report, jsonFile, plots) {
  const { machine, budget } = report;
  return [
    `# Benchmark results (${report.label === 'latest' ? 'full run' : `${report.label} run`})`,
    '',
    `${machine.cpu}, ${machine.cores} cores, ${formatBytes(machine.memoryBytes)}; Node ${machine.node}; commit ${machine.commit}` +
      `${machine.addon ? ` (addon built ${machine.addon.builtAt}, sha256 ${machine.addon.sha256})` : ''}; ${machine.date}; ` +
      `the run took ${formatDuration(report.elapsedSeconds)}.`,
    `Every figure: [${jsonFile}](${jsonFile}). B = 1, float32, each run in its own process, one at a time.`,
    '',
    sgemmLine(report.sgemm),
    `Budgets: ${formatBytes(budget.memoryBytes)} of memory and ${budget.runMs / 1000} s per run, predicted from the same ` +
      'implementation\'s shorter or sibling runs (see bench/README.md); runs predicted above either are skipped and marked so.',
    loadLine(report),
    ...peerVersionsLine(report.rows),
    ...report.notes.map((n) => `Note: ${n}.`),
    '',
    '## Side by side',
    '',
    'Peer cells: median time (peer time / our time: above 1 means this package is faster). ' +
      'GFLOP/s counts attended scores only (4·D flops each); "of sgemm" is that rate over the machine\'s sgemm rate.',
    '',
    summaryTable(report.rows),
    ...(modelTable(report.rows) ? [
      '## End to end',
      '',
      'LongformerModel with Longformer-base\'s shape (12 layers, hidden 768, 12 heads, intermediate 3072, window 512, ' +
        'token 0 global; deterministic random weights): this package from the checkpoint directory, PyTorch with Hugging ' +
        'Face\'s algorithms in plain torch ops on the same weights and ids (`bench/peers/torch_peer.py`), outputs compared.',
      '',
      modelTable(report.rows),
    ] : []),
    '## Targets (L = 16k for the attention ops, 4k end to end; float32, this machine)',
    '',
    targetsMarkdown(report.targets),
    ...(plots.length ? ['## Plots', '', ...plots.map((p) => `![${p.title}](${p.file})`), ''] : []),
    '## Every row',
    '',
    detailTable(report.rows),
  ].join('\n');
}

/** Writes the run's files into `dir`; returns their names. */
export function writeReport(dir, report, { plots: withPlots }) {
  mkdirSync(dir, { recursive: true });
  const { machine, label } = report;
  const jsonFile = `${machine.date.slice(0, 10)}-${machine.slug}${label === 'latest' ? '' : `-${label}`}.json`;
  writeFileSync(path.join(dir, jsonFile), JSON.stringify(report, null, 1) + '\n');
  const plots = withPlots ? writePlots(dir, report.rows, label === 'latest' ? '' : `${label}-`) : [];
  const mdFile = `${label}.md`;
  writeFileSync(path.join(dir, mdFile), markdown(report, jsonFile, plots));
  return [mdFile, jsonFile, ...plots.map((p) => p.file)];
}
