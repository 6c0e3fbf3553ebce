// Naive float64 references, written from SEMANTICS.md independently of the kernels.

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
