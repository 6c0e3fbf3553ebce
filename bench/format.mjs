// Human-readable numbers for tables and logs.

export function formatMs(ms) {
  if (ms == null) return '—';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function formatBytes(bytes) {
  if (bytes == null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

export function formatLength(L) {
  return L >= 1024 && L % 1024 === 0 ? `${L / 1024}k` : String(L);
}

export function formatRatio(r) {
  if (r == null) return '—';
  return r >= 100 ? `${r.toFixed(0)}×` : r >= 10 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`;
}

export function formatGflops(g) {
  return g == null ? '—' : g >= 100 ? g.toFixed(0) : g.toFixed(1);
}

export function formatPercent(f) {
  return f == null ? '—' : `${(f * 100).toFixed(f < 0.1 ? 1 : 0)} %`;
}

export function formatError(e) {
  return e == null ? '—' : Number.isNaN(e) ? 'NaN' : e.toExponential(1);
}

export function formatDuration(seconds) {
  return seconds >= 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds} s`;
}
