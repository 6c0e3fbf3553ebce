// Naive float64 references, written from docs/semantics.md independently of the kernels.

/** softmax(scale · q kᵀ (+ causal)) v per (b, h); q [B,H,Lq,D], k/v [B,H,Lk,D]. */
export function denseReference(
  q: Float32Array, k: Float32Array, v: Float32Array,
  [B, H, Lq, Lk, D]: [number, number, number, number, number], scale: number, causal: boolean,
): Float64Array {
  const out = new Float64Array(B * H * Lq * D);
  const scores = new Float64Array(Lk);
  for (let bh = 0; bh < B * H; bh++) {
    for (let i = 0; i < Lq; i++) {
      const end = causal ? Math.min(i + 1, Lk) : Lk;
      let max = -Infinity;
      for (let j = 0; j < end; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[(bh * Lq + i) * D + d]! * k[(bh * Lk + j) * D + d]!;
        scores[j] = dot * scale;
        max = Math.max(max, scores[j]!);
      }
      let sum = 0;
      for (let j = 0; j < end; j++) sum += (scores[j] = Math.exp(scores[j]! - max));
      for (let j = 0; j < end; j++)
        for (let d = 0; d < D; d++) out[(bh * Lq + i) * D + d] += (scores[j]! / sum) * v[(bh * Lk + j) * D + d]!;
    }
  }
  return out;
}

// E[p] = concat(w0[p div n1], w1[p mod n1]) ('reformer') or concat(E1[p mod n0], E2[p div n0]) ('seed').
export function axialReference(w0: Float32Array, [n0, d0]: number[], w1: Float32Array, [n1, d1]: number[], ids: Int32Array,
                               layout: 'reformer' | 'seed'): Float32Array {
  const out = new Float32Array(ids.length * (d0! + d1!));
  ids.forEach((p, j) => {
    const [r0, r1] = layout === 'reformer' ? [Math.floor(p / n1!), p % n1!] : [p % n0!, Math.floor(p / n0!)];
    out.set(w0.subarray(r0 * d0!, (r0 + 1) * d0!), j * (d0! + d1!));
    out.set(w1.subarray(r1 * d1!, (r1 + 1) * d1!), j * (d0! + d1!) + d0!);
  });
  return out;
}
