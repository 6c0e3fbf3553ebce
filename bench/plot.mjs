// A small dependency-free SVG line-chart writer: log-log axes, one polyline per series,
// a legend. Enough for "time vs sequence length" and "memory vs sequence length".

const WIDTH = 720;
const HEIGHT = 440;
const MARGIN = { left: 78, right: 210, top: 40, bottom: 52 };
export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
export const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

function escapeXml(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Powers of ten (and, over narrow ranges, 2× and 5× them) inside [lo, hi]. */
function logTicks(lo, hi) {
  const ticks = [];
  const steps = Math.log10(hi / lo) < 2 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of steps) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
    }
  return ticks;
}

/** Powers of two inside [lo, hi]; over wide ranges every n-th of them, so that at most 8 remain. */
function binaryTicks(lo, hi) {
  const first = Math.ceil(Math.log2(lo));
  const last = Math.floor(Math.log2(hi));
  const step = Math.max(1, Math.ceil((last - first + 1) / 8));
  const ticks = [];
  for (let e = first; e <= last; e += step) ticks.push(2 ** e);
  return ticks;
}

/** Padded log-scale bounds of some positive values. */
function bounds(values) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return hi / lo < 10 ? [lo / 3, hi * 3] : [lo / 1.5, hi * 1.5];
}

/**
 * An SVG document. series: [{ name, color, dash, points: [[x, y], ...] }] with x, y > 0;
 * xTicks: the x values to label (e.g. the sequence lengths); formatX / formatY: tick labels;
 * binaryY: y ticks at powers of two (for bytes) instead of 1-2-5 × powers of ten.
 */
export function logLogChart({ title, xLabel, yLabel, series, xTicks, formatX = String, formatY = String, binaryY = false }) {
  const drawn = series.filter((s) => s.points.length > 0);
  const xs = drawn.flatMap((s) => s.points.map((p) => p[0])).concat(xTicks ?? []);
  const ys = drawn.flatMap((s) => s.points.map((p) => p[1]));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  if (ys.length === 0) {
    out.push(`<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no measurements</text>`, '</svg>');
    return out.join('\n');
  }
  const [x0, x1] = xTicks?.length ? [Math.min(...xs) / 1.3, Math.max(...xs) * 1.3] : bounds(xs);
  const [y0, y1] = bounds(ys);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x) => MARGIN.left + (Math.log(x / x0) / Math.log(x1 / x0)) * plotW;
  const py = (y) => MARGIN.top + plotH - (Math.log(y / y0) / Math.log(y1 / y0)) * plotH;
  const bottom = MARGIN.top + plotH;

  for (const t of xTicks?.length ? xTicks : logTicks(x0, x1)) {
    out.push(`<line x1="${px(t)}" y1="${MARGIN.top}" x2="${px(t)}" y2="${bottom}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${px(t)}" y="${bottom + 16}" text-anchor="middle">${escapeXml(formatX(t))}</text>`);
  }
  for (const t of binaryY ? binaryTicks(y0, y1) : logTicks(y0, y1)) {
    out.push(`<line x1="${MARGIN.left}" y1="${py(t)}" x2="${MARGIN.left + plotW}" y2="${py(t)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${py(t) + 4}" text-anchor="end">${escapeXml(formatY(t))}</text>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`);

  drawn.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]).map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
    const ly = MARGIN.top + 8 + i * 18;
    const lx = MARGIN.left + plotW + 14;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 32}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
