// Argument checks shared by the public functions. Messages name the function, the argument,
// the expected and the actual value.
import type { DType } from './dtype.js';
import { AttentionError } from './errors.js';
import { Tensor } from './tensor.js';

/** @internal `[1,2,128,64]` */
export function shapeText(shape: readonly unknown[]): string {
  return `[${shape.join(',')}]`;
}

/** @internal A short rendering of any value for messages; never throws (getters may). */
export function describe(value: unknown): string {
  try {
    return describeUnsafe(value);
  } catch {
    return typeof value;
  }
}

function describeUnsafe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.length <= 8 ? `[${value.map(describeUnsafe).join(',')}]` : `an array of ${value.length}`;
  if (Tensor._isTensor(value)) return value.toString();
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
  return typeof value;
}

/** @internal Objects made by `{...}` or Object.create(null), from any realm. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** @internal Options must be a plain object (or absent) with only the known keys. */
export function checkOptions(fn: string, opts: unknown, allowed: readonly string[], required = false): Record<string, unknown> {
  if (opts === undefined && !required) return {};
  if (!isPlainObject(opts)) throw new TypeError(`${fn}: opts must be an object (a plain { ... } of options), got ${describe(opts)}`);
  for (const key of Object.keys(opts))
    if (!allowed.includes(key)) throw new TypeError(`${fn}: unknown option '${key}' (expected one of ${allowed.join(', ')})`);
  return opts as Record<string, unknown>;
}

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

/** @internal An integer in [min, max]. */
export function checkInt(fn: string, name: string, value: unknown, min: number, max = 2 ** 31 - 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new TypeError(`${fn}: ${name} must be an integer, got ${describe(value)}`);
  if (value < min || value > max) throw new RangeError(`${fn}: ${name} must be in [${min}, ${max}], got ${value}`);
  return value;
}

/** @internal A finite number. */
export function checkFinite(fn: string, name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${fn}: ${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value)) throw new RangeError(`${fn}: ${name} must be finite, got ${value}`);
  return value;
}

/** @internal A number the kernels can hold as a finite float32 (|x| <= 3.4e38). */
export function checkFloat32(fn: string, name: string, value: unknown): number {
  checkFinite(fn, name, value);
  if (!Number.isFinite(Math.fround(value as number)))
    throw new RangeError(`${fn}: ${name} must fit a float32 (|x| <= 3.4e38), got ${value}`);
  return value as number;
}

/** @internal */
export function checkBoolean(fn: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** @internal */
export function checkSignal(fn: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new TypeError(`${fn}: opts.signal must be an AbortSignal, got ${describe(value)}`);
  return value;
}

export const FLOAT_DTYPES: readonly DType[] = ['float32', 'float16', 'bfloat16'];
