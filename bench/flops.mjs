// Useful floating-point work of a configuration: only the scores actually attended, each
// costing 4·D flops (q·k is D multiply-adds, p·v another D). Hashing, sorting, softmax and
// masking are not counted, so achieved GFLOP/s is comparable with the machine's sgemm rate
// and cannot be inflated by wasted work (an implementation computing masked scores gets no
// credit for them).

/** Attended scores × 4·D × heads × batch, or null where the op does no dot products. */
export function attendedFlops(cfg) {
  const { B, H, L, D } = cfg;
  switch (cfg.op) {
    case 'dense':
      return B * H * L * L * D * 4 * (cfg.config.causal ? 0.5 : 1);
    case 'local':
      return B * H * localScores(L, cfg.config.window, cfg.nGlobal) * D * 4;
    case 'lsh': {
      const { nHashes, chunkLength, chunksBefore, chunksAfter } = cfg.config;
      return B * H * L * nHashes * chunkLength * (1 + chunksBefore + chunksAfter) * D * 4;
    }
    case 'linear':
      return 2 * cfg.rows * cfg.in * cfg.out;
    case 'model':
      return modelFlops(cfg);
    default:
      return null;
  }
}

/**
 * A Longformer layer's useful work, times the layers: the query, key, value and output
 * projections and the key_global / value_global ones (query_global projects the global
 * tokens only), the feed-forward pair, and the attended scores.
 */
function modelFlops(cfg) {
  const { B, L } = cfg;
  const { layers, hidden: E, intermediate: I, window } = cfg.config;
  const g = cfg.nGlobal;
  const projections = 2 * B * L * E * E * 6 + 2 * B * g * E * E;
  const feedForward = 2 * 2 * B * L * E * I;
  const attention = B * cfg.H * localScores(L, [window / 2, window / 2], g) * cfg.D * 4;
  return layers * (projections + feedForward + attention);
}

/**
 * Scores of one head of Longformer attention with tokens 0..nGlobal-1 global: a local query
 * sees the keys of its window that exist and are not global, plus every global key (through
 * the global columns); a global query sees all L keys.
 */
function localScores(L, [left, right], nGlobal) {
  const g = Math.min(nGlobal, L);
  let scores = g * L;
  for (let t = g; t < L; t++) {
    const first = Math.max(0, t - left);
    const last = Math.min(L - 1, t + right);
    const globalsInWindow = Math.max(0, Math.min(last, g - 1) - first + 1);
    scores += last - first + 1 - globalsInWindow + g;
  }
  return scores;
}

/**
 * Work used only to predict run time from a shorter run: the attended flops plus, for LSH,
 * the hashing projection (2·D·nBuckets/2 flops per token and round), which grows with the
 * bucket count; axial encodings are a copy, predicted by their output size.
 */
export function predictionWork(cfg) {
  if (cfg.op === 'axial') return cfg.L * (cfg.weights[0][1] + cfg.weights[1][1]);
  const attended = attendedFlops(cfg);
  if (cfg.op !== 'lsh') return attended;
  const { nHashes, nBuckets } = cfg.config;
  return attended + cfg.B * cfg.H * cfg.L * nHashes * cfg.D * nBuckets;
}

/** The n×n×n float32 matmul of the sgemm probe. */
export function sgemmFlops(n) {
  return 2 * n ** 3;
}
