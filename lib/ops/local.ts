import { native } from '../native.js';
import { runNative } from '../run.js';
import { Tensor } from '../tensor.js';
import {
  checkFloat32, checkInt, checkOptions, checkSameDevice, checkShapeEquals, checkSignal, checkTensor, describe, FLOAT_DTYPES,
} from '../validate.js';
import { checkLayout, checkQueryKeyValue, nativeLayout, type AttentionLayout, type HeadDims } from './layout.js';

/** Longformer's separate projections for global attention, each [B,H,L,D] like q. */
export interface GlobalProjections {
  q: Tensor;
  k: Tensor;
  v: Tensor;
}

export interface LocalAttentionOptions {
  /**
   * Keys visible on each side of a query: `w`, or `[left, right]`. Hugging Face's
   * attention_window w is `w / 2`; `[w, 0]` is causal local attention; `0` sees only itself
   * (plus the global tokens).
   */
  window: number | [left: number, right: number];
  /** int32 [B, L]: -1 padding, 0 local, 1 global. Default: every token local. */
  attentionMask?: Tensor;
  /** Projections global tokens attend with (query_global, key_global, value_global); default q, k, v. */
  global?: GlobalProjections;
  /** Multiplies q (and global.q) before the dot products; default 1/sqrt(D). */
  scale?: number;
  /** 'bhld' (default): [B, H, L, D]; 'blhd': [B, L, H·D] with H = heads, read and written in place. */
  layout?: AttentionLayout;
  /** H, required with layout 'blhd'. */
  heads?: number;
  signal?: AbortSignal;
}

const FN = 'localAttention';
const OPTIONS = ['window', 'attentionMask', 'global', 'scale', 'layout', 'heads', 'signal'] as const;

function checkWindow(value: unknown): [number, number] {
  if (typeof value === 'number') {
    const side = checkInt(FN, 'opts.window', value, 0);
    return [side, side];
  }
  if (Array.isArray(value) && value.length === 2)
    return [checkInt(FN, 'opts.window[0]', value[0], 0), checkInt(FN, 'opts.window[1]', value[1], 0)];
  throw new TypeError(
    `${FN}: opts.window must be a non-negative integer or a pair [left, right] of them, got ${describe(value)}`,
  );
}

function checkMask(mask: unknown, { B, L }: HeadDims): Tensor {
  const m = checkTensor(FN, 'opts.attentionMask', mask, { rank: 2, dtypes: ['int32'] });
  checkShapeEquals(FN, 'opts.attentionMask', m, [B, L], '[B,L] of q');
  if (m.device === 'cpu') {
    const values = m._native(FN, 'opts.attentionMask').host as Int32Array;
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      if (x < -1 || x > 1) {
        const at = `[${Math.floor(i / L)},${i % L}]`;
        throw new RangeError(`${FN}: opts.attentionMask${at} = ${x} must be -1 (padding), 0 (local) or 1 (global)`);
      }
    }
  }
  return m;
}

function checkGlobal(value: unknown, q: Tensor): GlobalProjections {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError(`${FN}: opts.global must be an object { q, k, v } of tensors, got ${describe(value)}`);
  for (const key of Object.keys(value))
    if (key !== 'q' && key !== 'k' && key !== 'v')
      throw new TypeError(`${FN}: unknown key '${key}' in opts.global (expected q, k, v)`);
  const g = value as Record<string, unknown>;
  const out = {} as GlobalProjections;
  for (const key of ['q', 'k', 'v'] as const) {
    const name = `opts.global.${key}`;
    const t = checkTensor(FN, name, g[key], { dtypes: FLOAT_DTYPES });
    checkShapeEquals(FN, name, t, q.shape, 'q.shape');
    if (t.dtype !== q.dtype) throw new TypeError(`${FN}: ${name}.dtype '${t.dtype}' must equal q.dtype '${q.dtype}'`);
    out[key] = t;
  }
  return out;
}

/**
 * Longformer sliding-window attention with symmetric global attention (Hugging Face's
 * LongformerSelfAttention before heads are merged): q, k, v [B,H,L,D] -> [B,H,L,D], or with
 * layout 'blhd' [B,L,H·D] -> [B,L,H·D] (heads merged, as the module returns them).
 * Local tokens attend to the keys of their window and to every global token; global tokens
 * attend to every non-padding token with the global projections; padding rows are 0.
 * Any L >= 1. Memory stays linear in L.
 */
export async function localAttention(q: Tensor, k: Tensor, v: Tensor, opts: LocalAttentionOptions): Promise<Tensor> {
  checkTensor(FN, 'q', q, { dtypes: FLOAT_DTYPES });
  checkTensor(FN, 'k', k, { dtypes: FLOAT_DTYPES });
  checkTensor(FN, 'v', v, { dtypes: FLOAT_DTYPES });
  const o = checkOptions(FN, opts, OPTIONS, true);
  const layout = checkLayout(FN, o);
  const dims = checkQueryKeyValue(FN, q, k, v, layout);
  if (o.window === undefined)
    throw new TypeError(`${FN}: opts.window is required (keys visible on each side, or [left, right])`);
  const [left, right] = checkWindow(o.window);
  const mask = o.attentionMask === undefined ? undefined : checkMask(o.attentionMask, dims);
  const global = o.global === undefined ? undefined : checkGlobal(o.global, q);
  checkSameDevice(FN, {
    q, k, v, 'opts.attentionMask': mask, 'opts.global.q': global?.q, 'opts.global.k': global?.k, 'opts.global.v': global?.v,
  });
  // With D = 0 there is nothing to scale (and 1/sqrt(0) would not fit a float32).
  const { D } = dims;
  const scale = o.scale === undefined ? (D > 0 ? 1 / Math.sqrt(D) : 1) : checkFloat32(FN, 'opts.scale', o.scale);
  const signal = checkSignal(FN, o.signal);
  const nq = q._native(FN, 'q'), nk = k._native(FN, 'k'), nv = v._native(FN, 'v');
  const nMask = mask ? mask._native(FN, 'opts.attentionMask') : null;
  const nGlobal = global
    ? {
      q: global.q._native(FN, 'opts.global.q'),
      k: global.k._native(FN, 'opts.global.k'),
      v: global.v._native(FN, 'opts.global.v'),
    }
    : null;
  return runNative(FN, signal, () => Tensor._allocate(q.dtype, q.shape, q._deviceIndex, FN), (out, cancel) =>
    native.localAttention(nq, nk, nv, nGlobal, nMask, out._native(FN, 'out'), { left, right, scale, ...nativeLayout(layout, dims) }, cancel),
  );
}
