// Naive float64 reference of Longformer sliding-window attention with global tokens,
// written from docs/semantics.md section 2 (generalised to a [left, right] window) independently
// of the kernels: an explicit L×L window mask per batch row, the batch-wide n_max global
// columns, FMIN added to removed window keys and replacing unused global columns.

/** float32 lowest, the mask constant of docs/semantics.md 2.2 and 2.3. */
export const FMIN = -3.4028234663852886e38;

export interface LocalCase {
  shape: [B: number, H: number, L: number, D: number];
  q: Float32Array; k: Float32Array; v: Float32Array;
  qGlobal: Float32Array; kGlobal: Float32Array; vGlobal: Float32Array;
  /** int32 [B, L]: -1 padding, 0 local, 1 global; absent: every token local. */
  mask?: Int32Array;
  left: number;
  right: number;
  scale: number;
}

/**
 * The window part of the scores of one batch row as an explicit L×L additive mask:
 * -Infinity where key j is not in query t's window (offset outside [-left, right]),
 * FMIN where it is but is padding or global, 0 where it is visible.
 */
export function windowMask(maskRow: ArrayLike<number>, L: number, left: number, right: number): Float64Array {
  const m = new Float64Array(L * L);
  for (let t = 0; t < L; t++)
    for (let j = 0; j < L; j++) {
      const offset = j - t;
      m[t * L + j] = offset < -left || offset > right ? -Infinity : maskRow[j] !== 0 ? FMIN : 0;
    }
  return m;
}

function dot(a: Float32Array, ia: number, b: Float32Array, ib: number, D: number, scale: number): number {
  let s = 0;
  for (let d = 0; d < D; d++) s += a[ia + d]! * scale * b[ib + d]!;
  return s;
}

/**
 * out[base..base+D) = Σ_c weights[c] · values[rows[c]] / Σ weights, after a max-shifted exp.
 * rows[c] is null for a masked column (outside the window, padding or global in a window, an
 * unused global slot): its weight counts in the sum (it is 0 whenever a row has an ordinary
 * score) but its value is never read, as the kernels drop masked keys. Every other column's
 * value enters the sum, even with a weight of 0: 0 times NaN or infinity is NaN.
 */
function softmaxCombine(scores: number[], rows: (number | null)[], values: Float32Array, base: number, D: number,
                        out: Float64Array, outBase: number): void {
  const max = Math.max(...scores.filter((s) => s !== -Infinity));
  const weights = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - max)));
  const total = weights.reduce((a, b) => a + b, 0);
  weights.forEach((w, c) => {
    const row = rows[c];
    if (row === null || row === undefined) return;
    for (let d = 0; d < D; d++) out[outBase + d] += (w / total) * values[base + row * D + d]!;
  });
}

/** [B, H, L, D] per docs/semantics.md 2.4: global rows from 2.3, padding rows 0, the rest from 2.2. */
export function localReference(c: LocalCase): Float64Array {
  const [B, H, L, D] = c.shape;
  const mask = c.mask ?? new Int32Array(B * L);
  const maskRow = (b: number) => mask.subarray(b * L, (b + 1) * L);
  const globalsOf = (b: number) => [...maskRow(b)].flatMap((m, t) => (m > 0 ? [t] : []));
  const nMax = Math.max(0, ...Array.from({ length: B }, (_, b) => globalsOf(b).length));  // batch-wide
  const out = new Float64Array(B * H * L * D);
  for (let b = 0; b < B; b++) {
    const row = maskRow(b);
    const globals = globalsOf(b);
    const window = windowMask(row, L, c.left, c.right);
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * L * D;
      for (let t = 0; t < L; t++) {
        if (row[t]! < 0) continue;  // padding: zero row
        const scores: number[] = [];
        const rows: (number | null)[] = [];
        if (row[t]! > 0) {
          // Global branch: all keys with the global projections, padding replaced by FMIN.
          for (let j = 0; j < L; j++) {
            scores.push(row[j]! < 0 ? FMIN : dot(c.qGlobal, base + t * D, c.kGlobal, base + j * D, D, c.scale));
            rows.push(row[j]! < 0 ? null : j);
          }
          softmaxCombine(scores, rows, c.vGlobal, base, D, out, base + t * D);
          continue;
        }
        // Local branch: n_max global columns (local k/v), then the L window columns.
        for (let i = 0; i < nMax; i++) {
          const g = globals[i];
          scores.push(g === undefined ? FMIN : dot(c.q, base + t * D, c.k, base + g * D, D, c.scale));
          rows.push(g ?? null);
        }
        for (let j = 0; j < L; j++) {
          const m = window[t * L + j]!;
          scores.push(m === -Infinity ? -Infinity : dot(c.q, base + t * D, c.k, base + j * D, D, c.scale) + m);
          rows.push(m === 0 ? j : null);
        }
        softmaxCombine(scores, rows, c.v, base, D, out, base + t * D);
      }
    }
  }
  return out;
}
