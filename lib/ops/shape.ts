// Copies that change a tensor's extent: a slice along one dimension, the concatenation of
// tensors along one dimension, and a reshape. Each returns a new tensor (tensors are never views).
import { native } from '../native.js';
import { runNative } from '../run.js';
import { Tensor } from '../tensor.js';
import { checkInt, checkShape, checkOptions, checkSameDevice, checkSignal, checkTensor, describe, shapeText } from '../validate.js';

export interface ShapeOptions {
  signal?: AbortSignal;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** A dimension index, negative ones counted from the end. */
function checkDim(fn: string, value: unknown, rank: number): number {
  const d = checkInt(fn, 'dim', value, -rank, rank - 1);
  return d < 0 ? d + rank : d;
}

/** The elements [start, start + length) of dimension `dim` of x (a copy). */
export async function narrow(x: Tensor, dim: number, start: number, length: number, opts?: ShapeOptions): Promise<Tensor> {
  const FN = 'narrow';
  checkTensor(FN, 'x', x);
  if (x.shape.length === 0) throw new RangeError(`${FN}: x.shape [] has no dimension to narrow`);
  const d = checkDim(FN, dim, x.shape.length);
  const extent = x.shape[d]!;
  checkInt(FN, 'start', start, 0, extent);
  checkInt(FN, 'length', length, 0, extent - start);
  const signal = checkSignal(FN, checkOptions(FN, opts, ['signal']).signal);
  const inner = product(x.shape.slice(d + 1));
  const shape = x.shape.map((e, i) => (i === d ? length : e));
  const src = x._native(FN, 'x');
  const copy = {
    blocks: product(x.shape.slice(0, d)), length: length * inner,
    srcOffset: start * inner, srcStride: extent * inner, dstOffset: 0, dstStride: length * inner,
  };
  return runNative(FN, signal, () => Tensor._allocate(x.dtype, shape, x._deviceIndex, FN), (out, cancel) =>
    native.copyBlocks(src, out._native(FN, 'out'), copy, cancel),
  );
}

/** The tensors joined along dimension `dim`; they must agree in every other dimension and dtype. */
export async function concat(tensors: Tensor[], dim: number, opts?: ShapeOptions): Promise<Tensor> {
  const FN = 'concat';
  if (!Array.isArray(tensors) || tensors.length === 0)
    throw new TypeError(`${FN}: tensors must be a non-empty array of tensors, got ${describe(tensors)}`);
  const first = checkTensor(FN, 'tensors[0]', tensors[0]);
  if (first.shape.length === 0) throw new RangeError(`${FN}: tensors[0].shape [] has no dimension to join along`);
  const d = checkDim(FN, dim, first.shape.length);
  tensors.forEach((t, i) => {
    checkTensor(FN, `tensors[${i}]`, t, { rank: first.shape.length });
    if (t.dtype !== first.dtype) throw new TypeError(`${FN}: tensors[${i}].dtype '${t.dtype}' must equal tensors[0].dtype '${first.dtype}'`);
    if (t.shape.some((e, j) => j !== d && e !== first.shape[j]))
      throw new RangeError(`${FN}: tensors[${i}].shape ${shapeText(t.shape)} must equal tensors[0].shape ${shapeText(first.shape)} except in dimension ${d}`);
  });
  checkSameDevice(FN, Object.fromEntries(tensors.map((t, i) => [`tensors[${i}]`, t])));
  const signal = checkSignal(FN, checkOptions(FN, opts, ['signal']).signal);
  const total = tensors.reduce((a, t) => a + t.shape[d]!, 0);
  const shape = first.shape.map((e, i) => (i === d ? total : e));
  const inner = product(first.shape.slice(d + 1)), blocks = product(first.shape.slice(0, d));
  const sources = tensors.map((t, i) => t._native(FN, `tensors[${i}]`));
  return runNative(FN, signal, () => Tensor._allocate(first.dtype, shape, first._deviceIndex, FN), async (out, cancel) => {
    const dst = out._native(FN, 'out');
    let at = 0;
    for (let i = 0; i < tensors.length; i++) {
      const length = tensors[i]!.shape[d]! * inner;
      await native.copyBlocks(sources[i]!, dst, {
        blocks, length, srcOffset: 0, srcStride: length, dstOffset: at, dstStride: total * inner,
      }, cancel);
      at += length;
    }
  });
}

/** x's elements in row-major order under another shape of the same size (a copy). */
export async function reshape(x: Tensor, shape: readonly number[], opts?: ShapeOptions): Promise<Tensor> {
  const FN = 'reshape';
  checkTensor(FN, 'x', x);
  const dims: unknown = Array.isArray(shape) ? [...shape] : shape;
  const count = checkShape(FN, dims);
  if (count !== x.size) throw new RangeError(`${FN}: shape ${shapeText(dims as number[])} holds ${count} elements, x.shape ${shapeText(x.shape)} ${x.size}`);
  const signal = checkSignal(FN, checkOptions(FN, opts, ['signal']).signal);
  const src = x._native(FN, 'x');
  const copy = { blocks: 1, length: count, srcOffset: 0, srcStride: count, dstOffset: 0, dstStride: count };
  return runNative(FN, signal, () => Tensor._allocate(x.dtype, dims as number[], x._deviceIndex, FN), (out, cancel) =>
    native.copyBlocks(src, out._native(FN, 'out'), copy, cancel),
  );
}
