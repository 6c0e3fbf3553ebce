// The benchmark configurations, taken from the papers' and the reference repositories'
// base models. B = 1, float32 throughout.

/**
 * 1M tokens: local attention only, with one global token (Longformer-base's shape over a
 * sequence whose four tensors take 12 GiB). The peers are skipped by their budgets.
 */
export const LONG_LOCAL_LENGTH = 1 << 20;
export const LENGTHS = [1024, 4096, 16384, 65536, LONG_LOCAL_LENGTH];
export const QUICK_LENGTHS = [1024, 4096];

const H = 12;
const D = 64;

/**
 * Reformer's bucket count for length L: max(64, √L), a power of two for the lengths here.
 * Buckets then hold √L tokens on average, and the hashing cost, D·nBuckets/2 multiply-adds
 * per token and round, grows like √L instead of like L (HF's suggestion, 2L/chunk, would
 * make hashing cost more than the attention itself from 16k on). At 64k a second point uses
 * L/128 = 512 buckets (two chunks per bucket) to show what more buckets cost.
 */
export function reformerBuckets(L) {
  return Math.max(64, 2 ** Math.round(Math.log2(Math.sqrt(L))));
}

function dense(L) {
  return { op: 'dense', variant: 'dense', label: 'full softmax', B: 1, H, D, L, config: {} };
}

/** Longformer-base: attention_window 512, i.e. 256 keys on each side, plus global tokens 0..n-1. */
function local(L, nGlobal) {
  return {
    op: 'local', variant: `longformer-g${nGlobal}`, label: `window 256+256, ${nGlobal} global`,
    B: 1, H, D, L, nGlobal, config: { window: [256, 256] },
  };
}

/**
 * Causal local attention: each query sees the 256 keys before it and its own, no global
 * tokens (window [256, 0]; onnxruntime's GroupQueryAttention with local_window_size 257).
 */
function localCausal(L) {
  return {
    op: 'local', variant: 'causal-w256', label: 'causal window 256+0, no global',
    B: 1, H, D, L, nGlobal: 0, config: { window: [256, 0] },
  };
}

/** Reformer (enwik8 / crime-and-punishment settings): chunk 64, one chunk looked back at. */
function lsh(L, nHashes, nBuckets = reformerBuckets(L)) {
  const family = `reformer-h${nHashes}`;
  const extra = nBuckets === reformerBuckets(L) ? '' : `-b${nBuckets}`;
  return {
    op: 'lsh', variant: `${family}${extra}`, family, label: `${nHashes} hash${nHashes > 1 ? 'es' : ''}, ${nBuckets} buckets`,
    B: 1, H, D, L,
    config: { nHashes, nBuckets, chunkLength: 64, chunksBefore: 1, chunksAfter: 0, causal: false },
  };
}

/** Reformer's axial encodings: 128×512 positions, weights [128,256] and [512,768]. */
function axial(L) {
  return {
    op: 'axial', variant: 'axial-128x512', label: 'weights [128,256] + [512,768]',
    B: 1, H: 1, D: 1024, L, weights: [[128, 256], [512, 768]], config: { length: L },
  };
}

/** A linear layer at Longformer-base width: the projections' shape, against the machine's sgemm rate. */
function linear() {
  return {
    op: 'linear', variant: 'linear-4096x768x768', label: 'x [4096,768] · Wᵀ [768,768] + b',
    B: 1, H: 1, D: 768, L: 4096, rows: 4096, in: 768, out: 768, config: {},
  };
}

/**
 * Longformer-base end to end: 12 layers, hidden 768, 12 heads, intermediate 3072, window 512,
 * vocabulary 50265, token 0 global; deterministic random weights (bench/model_checkpoint.mjs)
 * with position embeddings for 16k tokens.
 */
export const MODEL_SHAPE = {
  layers: 12, hidden: 768, heads: 12, intermediate: 3072, window: 512, vocab: 50265, positions: 16384 + 2,
};

function model(L) {
  return {
    op: 'model', variant: 'longformer-base', label: 'LongformerModel, base shape, 1 global token',
    B: 1, H: MODEL_SHAPE.heads, D: MODEL_SHAPE.hidden / MODEL_SHAPE.heads, L, nGlobal: 1,
    config: { checkpoint: '../longformer-base', ...MODEL_SHAPE },
  };
}

/** The lengths of the end-to-end rows. */
export const MODEL_LENGTHS = [4096, 16384];

export const OPS = ['dense', 'local', 'lsh', 'axial', 'linear', 'model'];
export const QUICK_OPS = ['dense', 'local', 'lsh', 'linear'];

/** Every configuration of `ops` at `lengths`, shortest first (budget predictions use the shorter runs). */
export function configurations({ ops = OPS, lengths = LENGTHS, quick = false } = {}) {
  const out = [];
  for (const L of [...lengths].sort((a, b) => a - b)) {
    if (L >= LONG_LOCAL_LENGTH) {
      if (ops.includes('local')) out.push(local(L, 1));
      continue;
    }
    if (ops.includes('dense')) out.push(dense(L));
    if (ops.includes('local')) {
      for (const g of quick ? [1] : [1, 64]) out.push(local(L, g));
      out.push(localCausal(L));
    }
    if (ops.includes('lsh')) {
      for (const nh of quick ? [4] : [1, 2, 4, 8]) out.push(lsh(L, nh));
      if (!quick && L >= 65536) for (const nh of [1, 2, 4, 8]) out.push(lsh(L, nh, L / 128));
    }
    if (ops.includes('axial') && L <= 128 * 512) out.push(axial(L));
    if (ops.includes('linear') && L === 4096) out.push(linear());
    if (ops.includes('model') && MODEL_LENGTHS.includes(L)) out.push(model(L));
  }
  return out;
}

/**
 * The series a configuration's budget prediction extends: its variant, except for LSH
 * bucket-count variants, which extend the same number of hashes at the shorter lengths.
 */
export function familyOf(cfg) {
  return cfg.family ?? cfg.variant;
}

/** A short stable id: "lsh reformer-h4 L=16384". */
export function configId(cfg) {
  return `${cfg.op} ${cfg.variant} L=${cfg.L}`;
}
