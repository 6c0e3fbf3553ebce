// Checks of tensor arguments shared by the public functions (and, re-exported, those of plain
// values in arguments.ts). Messages name the function, the argument, the expected and the actual
// value.
import { describe, shapeText } from './arguments.js';
import type { DType } from './dtype.js';
import { AttentionError } from './errors.js';
import { Tensor } from './tensor.js';

export * from './arguments.js';

interface TensorRule {
  rank?: number;
  dtypes?: readonly DType[];
}

/** @internal A live Tensor of the given rank and dtype. */
export function checkTensor(fn: string, name: string, value: unknown, rule: TensorRule = {}): Tensor {
  if (!Tensor._isTensor(value)) throw new TypeError(`${fn}: ${name} must be a Tensor, got ${describe(value)}`);
  if (value.disposed) throw new AttentionError('DISPOSED', `${fn}: ${name} has been disposed`);
  if (rule.rank !== undefined && value.shape.length !== rule.rank)
    throw new RangeError(`${fn}: ${name}.shape ${shapeText(value.shape)} must have ${rule.rank} dimensions`);
  if (rule.dtypes && !rule.dtypes.includes(value.dtype))
    throw new TypeError(`${fn}: ${name}.dtype must be ${rule.dtypes.join(' or ')}, got '${value.dtype}'`);
  return value;
}

/** @internal `a.shape` must equal `expected`. */
export function checkShapeEquals(fn: string, name: string, t: Tensor, expected: readonly number[], expectedName: string): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i]))
    throw new RangeError(`${fn}: ${name}.shape ${shapeText(t.shape)} must equal ${expectedName} ${shapeText(expected)}`);
}

/** @internal All tensors on one device. */
export function checkSameDevice(fn: string, tensors: Record<string, Tensor | undefined>): void {
  let first: [string, Tensor] | undefined;
  for (const [name, t] of Object.entries(tensors)) {
    if (!t) continue;
    if (!first) first = [name, t];
    else if (t.device !== first[1].device)
      throw new TypeError(`${fn}: ${name} is on ${t.device} but ${first[0]} is on ${first[1].device}; move them to one device`);
  }
}

export const FLOAT_DTYPES: readonly DType[] = ['float32', 'float16', 'bfloat16'];
