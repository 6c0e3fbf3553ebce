import { native } from '../native.js';
import { runNative } from '../run.js';
import { Tensor } from '../tensor.js';
import {
  checkFloat32, checkOptions, checkSameDevice, checkSignal, checkTensor, FLOAT_DTYPES, shapeText,
} from '../validate.js';

export interface LayerNormOptions {
  /** Added to the variance; default 1e-5 (torch.nn.LayerNorm's). */
  eps?: number;
  signal?: AbortSignal;
}

const FN = 'layerNorm';

/**
 * Layer normalisation over the last dimension as torch.nn.LayerNorm: x [..., n],
 * weight and bias [n]; (x - mean) / sqrt(var + eps) · weight + bias with the biased variance.
 */
export async function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, opts?: LayerNormOptions): Promise<Tensor> {
  checkTensor(FN, 'x', x, { dtypes: FLOAT_DTYPES });
  if (x.shape.length < 1) throw new RangeError(`${FN}: x.shape ${shapeText(x.shape)} must have at least one dimension`);
  const width = x.shape[x.shape.length - 1]!;
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    checkTensor(FN, name, t, { rank: 1, dtypes: FLOAT_DTYPES });
    if (t.shape[0] !== width) throw new RangeError(`${FN}: ${name}.shape ${shapeText(t.shape)} must equal [${width}] (x.shape[-1])`);
    if (t.dtype !== x.dtype) throw new TypeError(`${FN}: ${name}.dtype '${t.dtype}' must equal x.dtype '${x.dtype}'`);
  }
  const o = checkOptions(FN, opts, ['eps', 'signal']);
  const eps = o.eps === undefined ? 1e-5 : checkFloat32(FN, 'opts.eps', o.eps);
  if (eps < 0) throw new RangeError(`${FN}: opts.eps must be >= 0, got ${eps}`);
  checkSameDevice(FN, { x, weight, bias });
  const signal = checkSignal(FN, o.signal);
  const nx = x._native(FN, 'x'), nw = weight._native(FN, 'weight'), nb = bias._native(FN, 'bias');
  return runNative(FN, signal, () => Tensor._allocate(x.dtype, x.shape, x._deviceIndex, FN), (out, cancel) =>
    native.layerNorm(nx, nw, nb, out._native(FN, 'out'), { eps }, cancel),
  );
}
