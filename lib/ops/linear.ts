import { native } from '../native.js';
import { runNative } from '../run.js';
import { Tensor } from '../tensor.js';
import { checkOptions, checkSameDevice, checkSignal, checkTensor, FLOAT_DTYPES, shapeText } from '../validate.js';

export interface LinearOptions {
  signal?: AbortSignal;
}

const FN = 'linear';

/**
 * A linear layer as torch.nn.Linear: x [..., in] · weightᵀ + bias, with weight [out, in] and
 * bias [out] (optional); returns [..., out]. On the CPU through the register-blocked tile
 * GEMM; float32 accumulation for every dtype.
 */
export async function linear(x: Tensor, weight: Tensor, bias?: Tensor, opts?: LinearOptions): Promise<Tensor> {
  checkTensor(FN, 'x', x, { dtypes: FLOAT_DTYPES });
  if (x.shape.length < 1) throw new RangeError(`${FN}: x.shape ${shapeText(x.shape)} must have at least one dimension`);
  checkTensor(FN, 'weight', weight, { rank: 2, dtypes: FLOAT_DTYPES });
  const [features, inputs] = weight.shape as [number, number];
  const width = x.shape[x.shape.length - 1]!;
  if (inputs !== width)
    throw new RangeError(`${FN}: weight.shape ${shapeText(weight.shape)} must be [out, ${width}] for x.shape ${shapeText(x.shape)}`);
  if (weight.dtype !== x.dtype) throw new TypeError(`${FN}: weight.dtype '${weight.dtype}' must equal x.dtype '${x.dtype}'`);
  if (bias !== undefined) {
    checkTensor(FN, 'bias', bias, { rank: 1, dtypes: FLOAT_DTYPES });
    if (bias.shape[0] !== features)
      throw new RangeError(`${FN}: bias.shape ${shapeText(bias.shape)} must equal [${features}] (weight.shape[0])`);
    if (bias.dtype !== x.dtype) throw new TypeError(`${FN}: bias.dtype '${bias.dtype}' must equal x.dtype '${x.dtype}'`);
  }
  const o = checkOptions(FN, opts, ['signal']);
  checkSameDevice(FN, { x, weight, bias });
  const signal = checkSignal(FN, o.signal);
  const outShape = [...x.shape.slice(0, -1), features];
  const nx = x._native(FN, 'x'), nw = weight._native(FN, 'weight'), nb = bias ? bias._native(FN, 'bias') : null;
  return runNative(FN, signal, () => Tensor._allocate(x.dtype, outShape, x._deviceIndex, FN), (out, cancel) =>
    native.linear(nx, nw, nb, out._native(FN, 'out'), cancel),
  );
}
