// The run's SVG plots: per op, median time against L and peak memory against L, log-log,
// one line per implementation and variant (colour: implementation; dash: variant).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatLength } from './format.mjs';
import { COLORS, DASHES, logLogChart } from './plot.mjs';

const TITLES = { dense: 'Dense attention', local: 'Longformer local attention', lsh: 'Reformer LSH attention', axial: 'Axial position encodings' };

function tickMs(ms) {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

function tickBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (bytes >= 1024 && u < units.length - 1) {
    bytes /= 1024;
    u++;
  }
  return `${bytes} ${units[u]}`;
}

/** Lines of one op and measure; variants measured at a single length are left to the table. */
function seriesOf(rows, op, measure) {
  const mine = rows.filter((r) => r.op === op);
  const impls = [...new Set(mine.map((r) => r.implementation))];
  const lengthsOf = (v) => new Set(mine.filter((r) => r.variant === v).map((r) => r.L));
  const variants = [...new Set(mine.map((r) => r.variant))].filter((v) => lengthsOf(v).size > 1 || rows.every((r) => r.L === mine[0].L));
  const series = [];
  impls.forEach((impl, i) => {
    variants.forEach((variant, j) => {
      const points = mine
        .filter((r) => r.implementation === impl && r.variant === variant && r.status === 'ok' && r[measure] > 0)
        .map((r) => [r.L, r[measure]]);
      const name = variants.length > 1 ? `${impl}, ${variant}` : impl;
      series.push({ name, color: COLORS[i % COLORS.length], dash: DASHES[j % DASHES.length], points });
    });
  });
  return series.filter((s) => s.points.length > 0);
}

/** Writes time-<op>.svg and memory-<op>.svg (with `prefix`) into `dir`; returns [{ file, title }]. */
export function writePlots(dir, rows, prefix = '') {
  const written = [];
  const lengths = [...new Set(rows.map((r) => r.L))].sort((a, b) => a - b);
  for (const op of [...new Set(rows.map((r) => r.op))]) {
    for (const [measure, kind, yLabel, formatY, binaryY] of [
      ['medianMs', 'time', 'median time per call', tickMs, false],
      ['peakBytes', 'memory', 'peak memory beyond the inputs', tickBytes, true],
    ]) {
      const series = seriesOf(rows, op, measure);
      if (series.length === 0) continue;
      const title = `${TITLES[op] ?? op}: ${kind === 'time' ? 'time' : 'memory'} vs sequence length`;
      const file = `${prefix}${kind}-${op}.svg`;
      const svg = logLogChart({ title, xLabel: 'sequence length L', yLabel, series, xTicks: lengths, formatX: formatLength, formatY, binaryY });
      writeFileSync(path.join(dir, file), svg + '\n');
      written.push({ file, title });
    }
  }
  return written;
}
