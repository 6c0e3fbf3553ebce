import { native } from '../native.js';
import { runNative } from '../run.js';
import { Tensor } from '../tensor.js';
import {
  checkBoolean, checkFloat32, checkOptions, checkSameDevice, checkShapeEquals, checkSignal, checkTensor, FLOAT_DTYPES, shapeText,
} from '../validate.js';
import { attentionShape, checkLayout, headDims, nativeLayout, type AttentionLayout } from './layout.js';

export interface DenseAttentionOptions {
  /** Multiplies q·k; default 1/sqrt(D). */
  scale?: number;
  /** Query i sees keys j <= i only. */
  causal?: boolean;
  /** 'bhld' (default): [B, H, L, D]; 'blhd': [B, L, H·D] with H = heads, read and written in place. */
  layout?: AttentionLayout;
  /** H, required with layout 'blhd'. */
  heads?: number;
  signal?: AbortSignal;
}

const FN = 'denseAttention';

/**
 * Full softmax attention: q [B,H,Lq,D], k and v [B,H,Lk,D] -> [B,H,Lq,D] (or [B,L,H·D] each
 * with layout 'blhd'). Tiled with an online softmax: memory stays O(L·D) whatever the length.
 */
export async function denseAttention(q: Tensor, k: Tensor, v: Tensor, opts?: DenseAttentionOptions): Promise<Tensor> {
  checkTensor(FN, 'q', q, { dtypes: FLOAT_DTYPES });
  checkTensor(FN, 'k', k, { dtypes: FLOAT_DTYPES });
  checkTensor(FN, 'v', v, { dtypes: FLOAT_DTYPES });
  const o = checkOptions(FN, opts, ['scale', 'causal', 'layout', 'heads', 'signal']);
  const layout = checkLayout(FN, o);
  const dims = headDims(FN, 'q', q, layout);
  const { D } = dims;
  const Lk = headDims(FN, 'k', k, layout).L;
  checkShapeEquals(FN, 'k', k, attentionShape({ ...dims, L: Lk }, layout), layout.layout === 'bhld' ? '[B,H,Lk,D] of q' : '[B,Lk,H·D] of q');
  checkShapeEquals(FN, 'v', v, k.shape, 'k.shape');
  if (k.dtype !== q.dtype) throw new TypeError(`${FN}: k.dtype '${k.dtype}' must equal q.dtype '${q.dtype}'`);
  if (v.dtype !== q.dtype) throw new TypeError(`${FN}: v.dtype '${v.dtype}' must equal q.dtype '${q.dtype}'`);
  if (Lk === 0 && dims.L > 0) throw new RangeError(`${FN}: k.shape ${shapeText(k.shape)} must have at least one key`);
  checkSameDevice(FN, { q, k, v });
  // With D = 0 there is nothing to scale (and 1/sqrt(0) would not fit a float32).
  const scale = o.scale === undefined ? (D > 0 ? 1 / Math.sqrt(D) : 1) : checkFloat32(FN, 'opts.scale', o.scale);
  const causal = o.causal === undefined ? false : checkBoolean(FN, 'opts.causal', o.causal);
  const signal = checkSignal(FN, o.signal);
  const nq = q._native(FN, 'q'), nk = k._native(FN, 'k'), nv = v._native(FN, 'v');
  return runNative(FN, signal, () => Tensor._allocate(q.dtype, q.shape, q._deviceIndex, FN), (out, cancel) =>
    native.denseAttention(nq, nk, nv, out._native(FN, 'out'), { scale, causal, ...nativeLayout(layout, dims) }, cancel),
  );
}
