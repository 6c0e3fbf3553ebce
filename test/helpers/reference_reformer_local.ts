// A float64 reference of Reformer's LocalSelfAttention, written from Hugging Face's module
// (chunks, _look_adjacent, masks) independently of the kernels.

export interface ReformerLocalCase {
  B: number;
  H: number;
  L: number;
  D: number;
  chunkLength: number;
  chunksBefore: number;
  chunksAfter: number;
  causal: boolean;
  /** [B, L], 1 real, 0 padding. */
  mask?: Int32Array;
}

/** out [B, H, L, D] from q, k, v [B, H, L, D]. */
export function reformerLocalReference(q: Float32Array, k: Float32Array, v: Float32Array, c: ReformerLocalCase): Float64Array {
  const { B, H, L, D, chunkLength: n } = c;
  const out = new Float64Array(B * H * L * D);
  const chunked = L > n;
  // HF's model pads the sequence to a multiple of the chunk length with padding tokens.
  const Lp = chunked ? Math.ceil(L / n) * n : L;
  const chunks = chunked ? Lp / n : 1;
  const keysOf = (t: number): number[] => {
    if (!chunked) return Array.from({ length: L }, (_, j) => j);
    const chunk = Math.floor(t / n), keys: number[] = [];
    for (let o = -c.chunksBefore; o <= c.chunksAfter; o++) {
      const other = (((chunk + o) % chunks) + chunks) % chunks;
      for (let j = 0; j < n; j++) keys.push(other * n + j);
    }
    return keys;
  };
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const row = (t: number) => ((b * H + h) * L + t) * D;
      for (let t = 0; t < L; t++) {
        const keys = keysOf(t);
        const scores = keys.map((j) => {
          const padding = j >= L || (c.mask !== undefined && c.mask[b * L + j] === 0);
          if (padding || (c.causal && j > t)) return -1e9;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[row(t) + d]! * (k[row(j) + d]! / Math.sqrt(D));
          return dot;
        });
        // Hugging Face's softmax is exp(score - logsumexp) with the logsumexp a float32 value:
        // a row whose every key is masked (-1e9) has lse = fl32(-1e9 + log K) = -1e9, so each
        // key weighs 1 and the output is the sum of the values (docs/semantics.md 1.9's effect).
        const max = Math.max(...scores);
        const sum = scores.reduce((a, s) => a + Math.exp(s - max), 0);
        const lse = Math.fround(max + Math.fround(Math.log(sum)));
        keys.forEach((j, i) => {
          if (j >= L) return; // padding rows hold zeros
          const p = Math.exp(scores[i]! - lse);
          for (let d = 0; d < D; d++) out[row(t) + d] += p * v[row(j) + d]!;
        });
      }
    }
  return out;
}

/** [B, H, L, D] -> [B, L, H·D]. */
export function toTokenMajor(x: Float32Array | Int32Array, [B, H, L, D]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B!; b++)
    for (let h = 0; h < H!; h++)
      for (let t = 0; t < L!; t++)
        for (let d = 0; d < D!; d++) out[((b * L! + t) * H! + h) * D! + d] = x[((b * H! + h) * L! + t) * D! + d]!;
  return out;
}
