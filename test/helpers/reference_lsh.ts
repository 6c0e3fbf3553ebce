// Naive float64 reference of Reformer LSH attention, written from docs/semantics.md section 1
// independently of the kernels: the padded sequence of 1.10 is built explicitly, and every
// query scores the explicit key list of its chunk densely. Only the two final log-sum-exp
// additions are rounded to float32 (Math.fround), as 1.9 requires.

export interface LshReferenceConfig {
  B: number;
  H: number;
  L: number;
  D: number;
  nHashes: number;
  nBuckets: number | number[];
  chunkLength: number;
  chunksBefore: number;
  chunksAfter: number;
  causal: boolean;
}

const MASKED = -1e9;
const SELF = -1e5;

function factorsOf(nBuckets: number | number[]): number[] {
  return typeof nBuckets === 'number' ? [nBuckets] : nBuckets;
}

/** fl32(M + fl32(log(Σ exp(x - M)))) over `values`. */
function logSumExp32(values: number[]): number {
  const max = Math.max(...values);
  let sum = 0;
  for (const x of values) sum += Math.exp(x - max);
  return Math.fround(max + Math.fround(Math.log(sum)));
}

/** First index of the maximum of concat(y, -y). */
function signedArgmax(y: number[]): number {
  const z = [...y, ...y.map((x) => -x)];
  let best = 0;
  for (let i = 1; i < z.length; i++) if (z[i]! > z[best]!) best = i;
  return best;
}

/**
 * Buckets [B, H, nHashes·L] (1.3) of qk [B, H, L, D] with rotations [H, D, nHashes, rot/2];
 * mask [B, L] or undefined.
 */
export function referenceBuckets(
  qk: ArrayLike<number>, rotations: ArrayLike<number>, mask: ArrayLike<number> | undefined,
  { B, H, L, D, nHashes, nBuckets }: Pick<LshReferenceConfig, 'B' | 'H' | 'L' | 'D' | 'nHashes' | 'nBuckets'>,
): Int32Array {
  const factors = factorsOf(nBuckets);
  const half = factors.reduce((a, b) => a + b, 0) / 2;
  const N = factors.reduce((a, b) => a * b, 1);
  const padded = mask !== undefined && Array.from(mask).some((m) => m === 0);
  const nPrime = padded ? N + 1 : N;
  const out = new Int32Array(B * H * nHashes * L);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let r = 0; r < nHashes; r++) {
        for (let t = 0; t < L; t++) {
          const y: number[] = [];
          for (let k = 0; k < half; k++) {
            let dot = 0;
            for (let d = 0; d < D; d++) dot += qk[((b * H + h) * L + t) * D + d]! * rotations[((h * D + d) * nHashes + r) * half + k]!;
            y.push(dot);
          }
          let bucket = 0, place = 1, start = 0;
          for (const f of factors) {
            bucket += place * signedArgmax(y.slice(start, start + f / 2));
            place *= f;
            start += f / 2;
          }
          if (padded && mask![b * L + t] === 0) bucket = N;
          out[((b * H + h) * nHashes + r) * L + t] = bucket + r * nPrime;
        }
      }
    }
  }
  return out;
}

/** Stable argsort of each row of `rows`·n keys by (key, index). */
export function referenceSort(keys: ArrayLike<number>, rows: number, n: number): { sorted: Int32Array; undo: Int32Array } {
  const sorted = new Int32Array(rows * n), undo = new Int32Array(rows * n);
  for (let row = 0; row < rows; row++) {
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((i, j) => keys[row * n + i]! - keys[row * n + j]! || i - j);
    order.forEach((i, j) => {
      sorted[row * n + j] = i;
      undo[row * n + i] = j;
    });
  }
  return { sorted, undo };
}

/** n(x) = x / sqrt(mean(x²) + 1e-6) / sqrt(D). */
function normalizedKey(qk: ArrayLike<number>, offset: number, D: number): number[] {
  let squares = 0;
  for (let d = 0; d < D; d++) squares += qk[offset + d]! ** 2;
  const scale = 1 / Math.sqrt(squares / D + 1e-6) / Math.sqrt(D);
  return Array.from({ length: D }, (_, d) => qk[offset + d]! * scale);
}

/** Copies [B, H, L, D] into [B, H, Lp, D] with zero rows at the end. */
function padRows(x: ArrayLike<number>, B: number, H: number, L: number, Lp: number, D: number): Float64Array {
  const out = new Float64Array(B * H * Lp * D);
  for (let bh = 0; bh < B * H; bh++)
    for (let i = 0; i < L * D; i++) out[bh * Lp * D + i] = x[bh * L * D + i]!;
  return out;
}

/**
 * LSH attention output [B, H, L, D] (1.2-1.10) of qk, v [B, H, L, D] with rotations
 * [H, D, nHashes, rot/2] and an optional padding mask [B, L].
 */
export function referenceLshAttention(
  qk: ArrayLike<number>, v: ArrayLike<number>, rotations: ArrayLike<number> | undefined,
  mask: ArrayLike<number> | undefined, cfg: LshReferenceConfig,
): Float64Array {
  const { B, H, L, D, chunkLength: c, causal } = cfg;
  const standard = L <= c;
  // 1.10: pad the end with padding tokens to a multiple of the chunk length.
  const Lp = standard ? L : Math.ceil(L / c) * c;
  const maskP = Lp === L && mask === undefined ? undefined : new Int32Array(B * Lp);
  if (maskP) for (let b = 0; b < B; b++) for (let t = 0; t < L; t++) maskP[b * Lp + t] = mask ? mask[b * L + t]! : 1;
  const qkP = padRows(qk, B, H, L, Lp, D), vP = padRows(v, B, H, L, Lp, D);
  const nHashes = standard ? 1 : cfg.nHashes;
  const chunk = standard ? L : c;
  const before = standard ? 0 : cfg.chunksBefore, after = standard ? 0 : cfg.chunksAfter;
  const S = nHashes * Lp, nChunks = S / chunk;
  const sorted = standard
    ? Int32Array.from({ length: B * H * S }, (_, i) => i % S)
    : referenceSort(referenceBuckets(qkP, rotations!, maskP, { ...cfg, L: Lp }), B * H, S).sorted;

  const out = new Float64Array(B * H * L * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      const roundOut = new Float64Array(nHashes * Lp * D), roundLse = new Float64Array(nHashes * Lp);
      for (let k = 0; k < nChunks; k++) {
        const keySlots: number[] = [];
        for (let u = -before; u <= after; u++) {
          const other = (((k + u) % nChunks) + nChunks) % nChunks;
          for (let i = 0; i < chunk; i++) keySlots.push(other * chunk + i);
        }
        const keyPos = keySlots.map((j) => sorted[bh * S + j]! % Lp);
        const keys = keyPos.map((p) => normalizedKey(qkP, (bh * Lp + p) * D, D));
        for (let i = 0; i < chunk; i++) {
          const flat = sorted[bh * S + k * chunk + i]!;
          const qPos = flat % Lp, round = Math.floor(flat / Lp);
          const scores = keyPos.map((kPos, j) => {
            let s = 0;
            for (let d = 0; d < D; d++) s += qkP[(bh * Lp + qPos) * D + d]! * keys[j]![d]!;
            const allowed = (!maskP || maskP[b * Lp + kPos] === 1) && (!causal || qPos >= kPos);
            if (!allowed) s = MASKED;
            if (kPos === qPos) s = SELF;
            return s;
          });
          const lse = logSumExp32(scores);
          roundLse[round * Lp + qPos] = lse;
          const row = roundOut.subarray((round * Lp + qPos) * D, (round * Lp + qPos + 1) * D);
          scores.forEach((s, j) => {
            const p = Math.exp(s - lse);
            for (let d = 0; d < D; d++) row[d] = row[d]! + p * vP[(bh * Lp + keyPos[j]!) * D + d]!;
          });
        }
      }
      for (let t = 0; t < L; t++) {
        const lses = Array.from({ length: nHashes }, (_, r) => roundLse[r * Lp + t]!);
        const total = nHashes === 1 ? lses[0]! : logSumExp32(lses);
        for (let r = 0; r < nHashes; r++) {
          const w = nHashes === 1 ? 1 : Math.exp(lses[r]! - total);
          const row = out.subarray((bh * L + t) * D, (bh * L + t + 1) * D);
          for (let d = 0; d < D; d++) row[d] = row[d]! + w * roundOut[(r * Lp + t) * D + d]!;
        }
      }
    }
  }
  return out;
}
