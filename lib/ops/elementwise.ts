import { native } from '../native.js';
import { runNative } from '../run.js';
import { Tensor } from '../tensor.js';
import { checkOptions, checkSameDevice, checkShapeEquals, checkSignal, checkTensor, FLOAT_DTYPES } from '../validate.js';

export interface ElementwiseOptions {
  signal?: AbortSignal;
}

async function activation(fn: 'gelu' | 'relu' | 'tanh', x: Tensor, opts: ElementwiseOptions | undefined): Promise<Tensor> {
  checkTensor(fn, 'x', x, { dtypes: FLOAT_DTYPES });
  const signal = checkSignal(fn, checkOptions(fn, opts, ['signal']).signal);
  const nx = x._native(fn, 'x');
  return runNative(fn, signal, () => Tensor._allocate(x.dtype, x.shape, x._deviceIndex, fn), (out, cancel) =>
    native.activation(nx, out._native(fn, 'out'), { fn }, cancel),
  );
}

/** GELU in its exact form, Hugging Face's "gelu": x · ½ · (1 + erf(x / √2)), element-wise. */
export function gelu(x: Tensor, opts?: ElementwiseOptions): Promise<Tensor> {
  return activation('gelu', x, opts);
}

/** max(x, 0) element-wise (NaN stays NaN). */
export function relu(x: Tensor, opts?: ElementwiseOptions): Promise<Tensor> {
  return activation('relu', x, opts);
}

/** tanh(x) element-wise. */
export function tanh(x: Tensor, opts?: ElementwiseOptions): Promise<Tensor> {
  return activation('tanh', x, opts);
}

/** a + b element-wise; a and b of one shape and dtype. */
export async function add(a: Tensor, b: Tensor, opts?: ElementwiseOptions): Promise<Tensor> {
  const FN = 'add';
  checkTensor(FN, 'a', a, { dtypes: FLOAT_DTYPES });
  checkTensor(FN, 'b', b, { dtypes: FLOAT_DTYPES });
  checkShapeEquals(FN, 'b', b, a.shape, 'a.shape');
  if (b.dtype !== a.dtype) throw new TypeError(`${FN}: b.dtype '${b.dtype}' must equal a.dtype '${a.dtype}'`);
  const signal = checkSignal(FN, checkOptions(FN, opts, ['signal']).signal);
  checkSameDevice(FN, { a, b });
  const na = a._native(FN, 'a'), nb = b._native(FN, 'b');
  return runNative(FN, signal, () => Tensor._allocate(a.dtype, a.shape, a._deviceIndex, FN), (out, cancel) =>
    native.add(na, nb, out._native(FN, 'out'), cancel),
  );
}
