// Checks of plain argument values (options objects, numbers, shapes, signals) and their rendering
// in messages: a leaf module, imported by tensor.ts and by validate.ts (the checks of tensors).
// Messages name the function, the argument, the expected and the actual value.

/** @internal Objects that render themselves in messages (a Tensor: its dtype, shape and device). */
export const describeSelf: unique symbol = Symbol('sparse-attention.describe');

/** @internal The most elements a tensor may have: the kernels index with 32-bit integers. */
export const MAX_ELEMENTS = 2 ** 31 - 1;
/** @internal The most dimensions a tensor may have: the native layer's limit. */
export const MAX_RANK = 8;

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
  if (typeof (value as { [describeSelf]?: unknown })[describeSelf] === 'function') {
    try {
      return (value as { [describeSelf](): string })[describeSelf]();
    } catch {
      // An object that only inherits the method (Object.create(Tensor.prototype)): its class name.
    }
  }
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

/** @internal Validates a shape for `fn`; returns its element count. */
export function checkShape(fn: string, shape: unknown): number {
  if (!Array.isArray(shape)) throw new TypeError(`${fn}: shape must be an array of integers, got ${describe(shape)}`);
  if (shape.length > MAX_RANK) throw new RangeError(`${fn}: shape has ${shape.length} dimensions, at most ${MAX_RANK} are supported`);
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number') throw new TypeError(`${fn}: shape ${describe(shape)} must hold numbers, got ${describe(d)}`);
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${fn}: shape ${describe(shape)} must hold non-negative integers`);
    if (d > MAX_ELEMENTS) throw new RangeError(`${fn}: dimension ${d} of shape ${shapeText(shape)} exceeds 32-bit indexing`);
    count *= d;
  }
  if (count > MAX_ELEMENTS)
    throw new RangeError(`${fn}: shape ${shapeText(shape)} has ${count} elements, more than 32-bit indexing allows (${MAX_ELEMENTS})`);
  return count;
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
