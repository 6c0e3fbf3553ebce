// The layouts every attention op reads and writes in place:
//   'bhld'  [B, H, L, D]    (the default)
//   'blhd'  [B, L, H·D]     with H = opts.heads: the layout a linear projection produces
import type { Tensor } from '../tensor.js';
import { checkInt, checkShapeEquals, describe, shapeText } from '../validate.js';

export type AttentionLayout = 'bhld' | 'blhd';

export interface LayoutOptions {
  layout: AttentionLayout;
  /** H, with 'blhd'. */
  heads?: number;
}

export interface HeadDims {
  B: number;
  H: number;
  L: number;
  D: number;
}

/** @internal opts.layout (default 'bhld') and opts.heads, which 'blhd' requires and 'bhld' does not take. */
export function checkLayout(fn: string, o: Record<string, unknown>): LayoutOptions {
  const layout = o.layout === undefined ? 'bhld' : o.layout;
  if (layout !== 'bhld' && layout !== 'blhd') throw new TypeError(`${fn}: opts.layout must be 'bhld' or 'blhd', got ${describe(layout)}`);
  if (layout === 'bhld') {
    if (o.heads !== undefined) throw new TypeError(`${fn}: opts.heads applies only to layout 'blhd' (a [B, H, L, D] tensor has its heads in its shape)`);
    return { layout };
  }
  if (o.heads === undefined) throw new TypeError(`${fn}: opts.heads is required with layout 'blhd' (tensors [B, L, H·D])`);
  return { layout, heads: checkInt(fn, 'opts.heads', o.heads, 1) };
}

/** @internal B, H, L, D of an attention tensor in `layout`: rank 4, or rank 3 with H dividing its last dimension. */
export function headDims(fn: string, name: string, t: Tensor, l: LayoutOptions): HeadDims {
  if (l.layout === 'bhld') {
    if (t.shape.length !== 4) throw new RangeError(`${fn}: ${name}.shape ${shapeText(t.shape)} must have 4 dimensions [B, H, L, D]`);
    const [B, H, L, D] = t.shape as [number, number, number, number];
    return { B, H, L, D };
  }
  const H = l.heads!;
  if (t.shape.length !== 3 || t.shape[2]! % H !== 0)
    throw new RangeError(`${fn}: ${name}.shape ${shapeText(t.shape)} must be [B, L, H·D] with H = opts.heads = ${H} dividing its last dimension`);
  const [B, L, HD] = t.shape as [number, number, number];
  return { B, H, L, D: HD / H };
}

/** @internal q, k and v of one shape and one dtype in `layout` (q's B, H, L, D). */
export function checkQueryKeyValue(fn: string, q: Tensor, k: Tensor, v: Tensor, l: LayoutOptions): HeadDims {
  const dims = headDims(fn, 'q', q, l);
  checkShapeEquals(fn, 'k', k, q.shape, 'q.shape');
  checkShapeEquals(fn, 'v', v, q.shape, 'q.shape');
  if (k.dtype !== q.dtype) throw new TypeError(`${fn}: k.dtype '${k.dtype}' must equal q.dtype '${q.dtype}'`);
  if (v.dtype !== q.dtype) throw new TypeError(`${fn}: v.dtype '${v.dtype}' must equal q.dtype '${q.dtype}'`);
  return dims;
}

/** @internal The shape of a tensor of `dims` in `layout`. */
export function attentionShape(dims: HeadDims, l: LayoutOptions): number[] {
  return l.layout === 'blhd' ? [dims.B, dims.L, dims.H * dims.D] : [dims.B, dims.H, dims.L, dims.D];
}

/** @internal What the addon reads: the layout and, for 'blhd', the heads. */
export function nativeLayout(l: LayoutOptions, dims: HeadDims): { layout: AttentionLayout; heads: number } {
  return { layout: l.layout, heads: dims.H };
}
