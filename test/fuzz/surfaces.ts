// The public API as the fuzz tests see it: for each function, how to make a random valid
// call, where its tensor arguments and options sit, and which relations between arguments
// its validation enforces. Each malformation below breaks exactly one thing in a valid call
// and says which error that must give.
//
// The error convention (lib/validate.ts): a value of the wrong JavaScript type, a non-integer
// where an integer is needed (NaN and ±Infinity included), an unknown option or enum value,
// and a tensor of the wrong dtype are TypeErrors; a number out of range, a non-finite or
// non-float32 float, and a shape of the wrong rank or size are RangeErrors; a disposed tensor
// is AttentionError DISPOSED, an aborted signal ABORTED.
import {
  axialPositionEncoding, denseAttention, embedding, fromHalf, layerNorm, linear, localAttention, lshAttention, lshHash,
  reformerLocalAttention, sortByBucket, Tensor, toBFloat16, toFloat16, type DType,
} from '../../lib/index.js';
import type { Rand } from '../helpers/fuzz.js';

export type Expected = 'TypeError' | 'RangeError' | 'DISPOSED' | 'ABORTED';
export type Args = unknown[];

/** A malformed variant of a valid call. */
export interface Malformed {
  what: string;
  args: Args;
  expected: Expected;
  /** Text the message must contain besides the function name (the argument at fault). */
  mentions: string;
}

interface Slot {
  name: string;
  get(args: Args): unknown;
  set(args: Args, value: unknown): void;
  rank: number;
  dtypes: readonly DType[];
  optional?: boolean;
}

type OptionKind =
  | { kind: 'int'; min: number; max?: (args: Args) => number; prepare?: (args: Args) => void }
  | { kind: 'float32' }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'signal' };

export interface Surface {
  fn: string;
  async: boolean;
  /** Arguments every call has (a method's receiver); truncation keeps at least these. */
  fixedArgs?: number;
  /** Arguments a call cannot do without, when optional ones precede the options (linear's bias). */
  requiredArgs?: number;
  valid(r: Rand): Args;
  invoke(args: Args): unknown;
  slots: Slot[];
  /** Index of the options argument, its kinds, whether it may be omitted. */
  options?: {
    index: number; required: boolean; kinds: Record<string, OptionKind>; tensors: readonly string[];
    /** Other known options, malformed by the surface's own breakers. */
    others?: readonly string[];
  };
  /** Breakers of relations between arguments; each returns undefined when it does not apply. */
  relations: Array<(r: Rand, args: Args) => Malformed | undefined>;
  /** Other breakers specific to the function. */
  extra: Array<(r: Rand, args: Args) => Malformed | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Tensors made for a call are disposed after it, so that the test can prove that rejected
// calls leave no memory behind.

const made: Tensor[] = [];
export function disposeMade(): void {
  for (const t of made.splice(0)) t.dispose();
}

const FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16'];
const ALL: readonly DType[] = ['float32', 'float16', 'bfloat16', 'int32'];

export function tensor(shape: number[], dtype: DType = 'float32', fill?: (i: number) => number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint16Array(n);
  if (fill) for (let i = 0; i < n; i++) data[i] = fill(i);
  const t = Tensor.from(data, shape, { dtype });
  made.push(t);
  return t;
}

const shapeOf = (t: unknown) => [...(t as Tensor).shape];
const dtypeOf = (t: unknown) => (t as Tensor).dtype;
const isPlain = (a: unknown) => typeof a === 'object' && a !== null && Object.getPrototypeOf(a) === Object.prototype;
/** A copy of the argument list whose arrays and option objects can be changed freely. */
const clone = (args: Args): Args => args.map((a) => (Array.isArray(a) ? [...a] : isPlain(a) ? { ...(a as object) } : a));

function optionsOf(args: Args, index: number): Record<string, unknown> {
  if (args[index] === undefined) args[index] = {};
  return args[index] as Record<string, unknown>;
}

function slotAt(name: string, index: number, rank: number, dtypes: readonly DType[]): Slot {
  return { name, rank, dtypes, get: (a) => a[index], set: (a, v) => (a[index] = v) };
}

function optionSlot(name: string, index: number, key: string, rank: number, dtypes: readonly DType[]): Slot {
  return {
    name: `opts.${key}`, rank, dtypes, optional: true,
    get: (a) => (a[index] as Record<string, unknown> | undefined)?.[key],
    set: (a, v) => (optionsOf(a, index)[key] = v),
  };
}

// ---------------------------------------------------------------------------------------------
// Generic malformations: of a tensor argument, of an option, of the options object.

const NOT_TENSORS: Array<[string, () => unknown]> = [
  ['a number', () => 1], ['a string', () => 'tensor'], ['null', () => null], ['a plain object', () => ({ shape: [1], dtype: 'float32' })],
  ['an array', () => [[1, 2]]], ['a Float32Array', () => new Float32Array(4)], ['a forged Tensor', () => Object.create(Tensor.prototype)],
  ['a function', () => () => 0], ['a symbol', () => Symbol('t')], ['a bigint', () => 1n],
];

export function malformTensor(r: Rand, s: Surface, slot: Slot, args: Args): Malformed {
  const current = slot.get(args);
  const a = clone(args);
  const roll = r.int(0, 3);
  if (roll === 0 || !(current instanceof Tensor)) {
    const [what, make] = r.pick(NOT_TENSORS);
    slot.set(a, make());
    return { what: `${slot.name} is ${what}`, args: a, expected: 'TypeError', mentions: slot.name };
  }
  if (roll === 1) {
    const t = tensor(shapeOf(current), dtypeOf(current));
    t.dispose();
    slot.set(a, t);
    return { what: `${slot.name} is disposed`, args: a, expected: 'DISPOSED', mentions: slot.name };
  }
  if (roll === 2) {
    const shape = shapeOf(current);
    const other = r.chance(0.5) && shape.length > 0 ? shape.slice(1) : [...shape, r.int(1, 2)];
    slot.set(a, tensor(other, dtypeOf(current)));
    return { what: `${slot.name} has rank ${other.length}`, args: a, expected: 'RangeError', mentions: slot.name };
  }
  const wrong = ALL.filter((d) => !slot.dtypes.includes(d));
  const dtype = r.pick(wrong);
  slot.set(a, tensor(shapeOf(current), dtype));
  return { what: `${slot.name} is ${dtype}`, args: a, expected: 'TypeError', mentions: slot.name };
}

const WRONG_TYPES: Array<[string, unknown]> = [
  ['a string', '3'], ['a boolean', true], ['null', null], ['an object', {}], ['a bigint', 3n], ['an array', [3]],
];

function badValue(r: Rand, kind: OptionKind, args: Args): [string, unknown, Expected] {
  const wrongType = (): [string, unknown, Expected] => {
    const [what, value] = r.pick(WRONG_TYPES.filter(([, v]) => typeof v !== kind.kind));
    return [what, value, 'TypeError'];
  };
  switch (kind.kind) {
    case 'int': {
      const max = kind.max ? kind.max(args) : 2 ** 31 - 1;
      return r.pick<() => [string, unknown, Expected]>([
        wrongType,
        () => ['NaN', NaN, 'TypeError'], () => ['Infinity', Infinity, 'TypeError'], () => ['-Infinity', -Infinity, 'TypeError'],
        () => ['fractional', kind.min + 0.5, 'TypeError'],
        () => ['below the minimum', kind.min - r.int(1, 3), 'RangeError'],
        () => ['above the maximum', max + r.int(1, 3), 'RangeError'],
        () => ['absurdly large', 1e300, 'RangeError'],
        () => ['absurdly negative', -1e300, 'RangeError'],
      ])();
    }
    case 'float32':
      return r.pick<() => [string, unknown, Expected]>([
        wrongType, () => ['NaN', NaN, 'RangeError'], () => ['Infinity', Infinity, 'RangeError'],
        () => ['-Infinity', -Infinity, 'RangeError'], () => ['beyond float32', r.pick([1e39, -1e39, Number.MAX_VALUE]), 'RangeError'],
      ])();
    case 'boolean':
      return r.pick<() => [string, unknown, Expected]>([
        wrongType, () => ['1', 1, 'TypeError'], () => ['"true"', 'true', 'TypeError'],
      ])();
    case 'enum':
      return r.pick<() => [string, unknown, Expected]>([
        () => ['an unknown name', 'bogus', 'TypeError'], () => ['upper case', kind.values[0]!.toUpperCase(), 'TypeError'],
        () => ['a number', 1, 'TypeError'], () => ['null', null, 'TypeError'],
      ])();
    case 'signal':
      return r.pick<() => [string, unknown, Expected]>([
        wrongType, () => ['an EventTarget', new EventTarget(), 'TypeError'],
        () => ['an AbortController', new AbortController(), 'TypeError'], () => ['aborted', AbortSignal.abort(), 'ABORTED'],
      ])();
  }
}

export function malformOption(r: Rand, s: Surface, args: Args): Malformed {
  const spec = s.options!;
  const [key, kind] = r.pick(Object.entries(spec.kinds));
  const a = clone(args);
  if (kind.kind === 'int') kind.prepare?.(a);
  const [what, value, expected] = badValue(r, kind, a);
  optionsOf(a, spec.index)[key] = value;
  return { what: `opts.${key} is ${what}`, args: a, expected, mentions: expected === 'ABORTED' ? 'abort' : `opts.${key}` };
}

const NOT_OPTIONS: Array<[string, unknown]> = [
  ['a number', 5], ['a string', 'opts'], ['an array', []], ['a Map', new Map()], ['a function', () => ({})],
  ['null', null], ['a Date', new Date(0)], ['a boxed boolean', Object(true)],
];
const FOREIGN_KEYS = ['window', 'Scale', 'causal_', 'nBuckets', 'device', 'dtype', 'constructor', 'toString', 'extra', ''];

export function malformOptionsObject(r: Rand, s: Surface, args: Args): Malformed | undefined {
  const spec = s.options!;
  const a = clone(args);
  if (r.chance(0.5)) {
    const [what, value] = r.pick(NOT_OPTIONS);
    a[spec.index] = value;
    return { what: `opts is ${what}`, args: a, expected: 'TypeError', mentions: 'opts' };
  }
  const allowed = new Set([...Object.keys(spec.kinds), ...spec.tensors, ...(spec.others ?? [])]);
  const key = r.pick(FOREIGN_KEYS.filter((k) => !allowed.has(k)));
  optionsOf(a, spec.index)[key] = r.pick([1, 'x', true, undefined]);
  return { what: `opts has the unknown key '${key}'`, args: a, expected: 'TypeError', mentions: `unknown option '${key}'` };
}

export function truncate(r: Rand, s: Surface, args: Args): Malformed | undefined {
  const required = s.requiredArgs ?? (s.options && !s.options.required ? s.options.index : args.length);
  const fixed = s.fixedArgs ?? 0;
  if (required <= fixed) return undefined;
  const keep = r.int(fixed, required - 1);
  return { what: `only ${keep} arguments`, args: args.slice(0, keep), expected: 'TypeError', mentions: '' };
}

// ---------------------------------------------------------------------------------------------
// The surfaces.

function randomShape(r: Rand, rank: number, max = 4): number[] {
  return Array.from({ length: rank }, () => r.int(1, max));
}

const tensorFrom: Surface = {
  fn: 'Tensor.from', async: false,
  valid(r) {
    const dtype = r.pick(ALL);
    const shape = randomShape(r, r.int(0, 4));
    const n = shape.reduce((a, b) => a * b, 1);
    const data = dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint16Array(n);
    return [data, shape, dtype === 'float16' || dtype === 'bfloat16' || r.chance(0.3) ? { dtype } : undefined];
  },
  invoke: (a) => made.push(Tensor.from(...(a as Parameters<typeof Tensor.from>))),
  slots: [],
  options: { index: 2, required: false, kinds: { dtype: { kind: 'enum', values: ALL } }, tensors: [] },
  relations: [
    (r, args) => {
      const a = clone(args);
      const shape = a[1] as number[];
      a[1] = [...shape, r.int(2, 5)];
      return { what: 'the shape holds more elements than the data', args: a, expected: 'RangeError', mentions: 'shape' };
    },
    (r, args) => {
      const a = clone(args);
      const data = a[0] as Float32Array;
      const Other = data instanceof Float32Array ? Int32Array : Float32Array;
      a[0] = new Other(data.length);
      if (!(data instanceof Uint16Array) && a[2] === undefined) a[2] = { dtype: (data instanceof Float32Array ? 'float32' : 'int32') };
      if (data instanceof Uint16Array) return undefined;
      return { what: 'the data array does not match opts.dtype', args: a, expected: 'TypeError', mentions: 'dtype' };
    },
  ],
  extra: [
    (r, args) => {
      const a = clone(args);
      a[0] = r.pick<unknown>([[1, 2], new Float64Array(2), new Uint8Array(4), new Int16Array(2), new DataView(new ArrayBuffer(4)), Buffer.alloc(4), null, 'data']);
      return { what: 'data is not a Float32Array, Int32Array or Uint16Array', args: a, expected: 'TypeError', mentions: 'data' };
    },
    (r, args) => {
      const a = clone(args);
      a[1] = r.pick<unknown>(['2,3', 6, null, { length: 1, 0: 1 }, new Int32Array([1])]);
      return { what: 'shape is not an array', args: a, expected: 'TypeError', mentions: 'shape' };
    },
    (r, args) => {
      const a = clone(args);
      const shape = [...(a[1] as number[]), 1];
      const i = r.int(0, shape.length - 1);
      const [what, value, expected] = r.pick<[string, unknown, Expected]>([
        ['negative', -1, 'RangeError'], ['fractional', 1.5, 'RangeError'], ['NaN', NaN, 'RangeError'], ['Infinity', Infinity, 'RangeError'],
        ['2^31', 2 ** 31, 'RangeError'], ['a string', '1', 'TypeError'], ['null', null, 'TypeError'], ['a bigint', 1n, 'TypeError'],
      ]);
      shape[i] = value as number;
      a[1] = shape;
      return { what: `a dimension is ${what}`, args: a, expected, mentions: 'shape' };
    },
    (r, args) => {
      const a = clone(args);
      a[1] = r.chance(0.5) ? [65536, 65536] : [1, 1, 1, 1, 1, 1, 1, 1, 1];
      return { what: 'the shape is beyond 32-bit indexing or rank 8', args: a, expected: 'RangeError', mentions: 'shape' };
    },
    (r, args) => {
      const data = args[0] as Float32Array;
      const Same = data.constructor as Float32ArrayConstructor;
      const buffer = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(data.byteLength, { maxByteLength: data.byteLength * 2 + 8 });
      const a = clone(args);
      a[0] = new Same(buffer);
      return { what: 'data sits on a resizable ArrayBuffer', args: a, expected: 'TypeError', mentions: 'resizable' };
    },
    (r, args) => {
      if (!(args[0] instanceof Uint16Array)) return undefined;
      const a = clone(args);
      a[2] = undefined;
      return { what: 'a Uint16Array without a dtype', args: a, expected: 'TypeError', mentions: 'dtype' };
    },
  ],
};

const tensorTo: Surface = {
  fn: 'Tensor.to', async: true, fixedArgs: 1,
  valid: (r) => [tensor(randomShape(r, 2)), 'cpu'],
  invoke: (a) => (a[0] as Tensor).to(a[1] as never),
  slots: [],
  relations: [],
  extra: [
    (r, args) => {
      const a = clone(args);
      a[1] = r.pick<unknown>(['gpu', 'CPU', 'cuda:', 'cuda:-1', 'cuda:1.5', 'cuda:00000', 'cuda: 0', 'cuda0', 0, -1, null, undefined, {}, ['cpu']]);
      return { what: 'device is not a device name', args: a, expected: 'TypeError', mentions: 'device' };
    },
    (r, args) => {
      const a = clone(args);
      (a[0] as Tensor).dispose();
      return { what: 'the tensor is disposed', args: a, expected: 'DISPOSED', mentions: 'disposed' };
    },
  ],
};

const halfConversions: Surface[] = [
  ['toFloat16', toFloat16], ['toBFloat16', toBFloat16],
].map(([fn, f]) => ({
  fn: fn as string, async: false,
  valid: (r: Rand) => [new Float32Array(r.int(0, 8))],
  invoke: (a: Args) => (f as (x: unknown) => unknown)(a[0]),
  slots: [], relations: [],
  extra: [(r: Rand) => ({
    what: 'x is not a Float32Array', args: [r.pick<unknown>([[1], new Float64Array(1), new Uint16Array(1), 1, null, undefined])],
    expected: 'TypeError' as Expected, mentions: 'x',
  })],
}));

const fromHalfSurface: Surface = {
  fn: 'fromHalf', async: false,
  valid: (r) => [new Uint16Array(r.int(0, 8)), r.pick(['float16', 'bfloat16'])],
  invoke: (a) => fromHalf(a[0] as Uint16Array, a[1] as 'float16'),
  slots: [], relations: [],
  extra: [
    (r, args) => ({ what: 'bits is not a Uint16Array', args: [r.pick<unknown>([[1], new Int16Array(1), new Float32Array(1), null]), args[1]], expected: 'TypeError', mentions: 'bits' }),
    (r, args) => ({ what: 'dtype is not a half type', args: [args[0], r.pick<unknown>(['float32', 'int32', 'FLOAT16', 1, null, undefined])], expected: 'TypeError', mentions: 'dtype' }),
  ],
};

const dense: Surface = {
  fn: 'denseAttention', async: true,
  valid(r) {
    const dtype = r.pick(FLOATS);
    const [B, H, Lq, Lk, D] = [r.int(1, 2), r.int(1, 2), r.int(1, 5), r.int(1, 5), r.int(1, 4)];
    const opts: Record<string, unknown> = {};
    if (r.chance(0.3)) opts.scale = r.next() * 2 - 1;
    if (r.chance(0.3)) opts.causal = r.chance(0.5);
    return [tensor([B, H, Lq, D], dtype), tensor([B, H, Lk, D], dtype), tensor([B, H, Lk, D], dtype), r.chance(0.3) ? undefined : opts];
  },
  invoke: (a) => denseAttention(...(a as Parameters<typeof denseAttention>)),
  slots: [slotAt('q', 0, 4, FLOATS), slotAt('k', 1, 4, FLOATS), slotAt('v', 2, 4, FLOATS)],
  options: {
    index: 3, required: false, tensors: [],
    kinds: { scale: { kind: 'float32' }, causal: { kind: 'boolean' }, signal: { kind: 'signal' } },
  },
  relations: [
    (r, args) => {
      const a = clone(args);
      const which = r.int(0, 2), dim = r.pick([0, 1, 3]);
      const shape = shapeOf(a[which]);
      shape[dim]! += 1;
      a[which] = tensor(shape, dtypeOf(a[which]));
      return { what: `${'qkv'[which]} differs in dimension ${dim}`, args: a, expected: 'RangeError', mentions: which === 2 ? 'v.shape' : 'k.shape' };
    },
    (r, args) => {
      const a = clone(args);
      const shape = shapeOf(a[2]);
      shape[2]! += 1;
      a[2] = tensor(shape, dtypeOf(a[2]));
      return { what: 'v has more keys than k', args: a, expected: 'RangeError', mentions: 'v.shape' };
    },
    (r, args) => {
      const a = clone(args);
      const which = r.int(1, 2);
      a[which] = tensor(shapeOf(a[which]), r.pick(FLOATS.filter((d) => d !== dtypeOf(a[0]))));
      return { what: `${'qkv'[which]} has another float dtype`, args: a, expected: 'TypeError', mentions: `${'qkv'[which]}.dtype` };
    },
    (r, args) => {
      const a = clone(args);
      const shape = shapeOf(a[1]);
      shape[2] = 0;
      a[1] = tensor(shape, dtypeOf(a[1]));
      a[2] = tensor(shape, dtypeOf(a[2]));
      return { what: 'no keys for the queries', args: a, expected: 'RangeError', mentions: 'at least one key' };
    },
  ],
  extra: [],
};

const axial: Surface = {
  fn: 'axialPositionEncoding', async: true,
  valid(r) {
    const dtype = r.pick(FLOATS);
    const [n0, d0, n1, d1] = [r.int(1, 4), r.int(1, 3), r.int(1, 4), r.int(1, 3)];
    const opts: Record<string, unknown> = {};
    if (r.chance(0.4)) {
      const [B, L] = [r.int(1, 2), r.int(1, 6)];
      opts.positionIds = tensor([B, L], 'int32', () => r.int(0, n0 * n1 - 1));
    } else if (r.chance(0.5)) {
      opts.length = r.int(0, n0 * n1);
    }
    if (r.chance(0.3)) opts.layout = r.pick(['reformer', 'seed']);
    return [[tensor([n0, d0], dtype), tensor([n1, d1], dtype)], r.chance(0.2) && Object.keys(opts).length === 0 ? undefined : opts];
  },
  invoke: (a) => axialPositionEncoding(...(a as Parameters<typeof axialPositionEncoding>)),
  slots: [
    { name: 'weights[0]', rank: 2, dtypes: FLOATS, get: (a) => (a[0] as unknown[])[0], set: (a, v) => ((a[0] as unknown[])[0] = v) },
    { name: 'weights[1]', rank: 2, dtypes: FLOATS, get: (a) => (a[0] as unknown[])[1], set: (a, v) => ((a[0] as unknown[])[1] = v) },
    optionSlot('positionIds', 1, 'positionIds', 2, ['int32']),
  ],
  options: {
    index: 1, required: false, tensors: ['positionIds'],
    kinds: {
      length: {
        kind: 'int', min: 0,
        max: (a) => { const [w0, w1] = a[0] as Tensor[]; return w0!.shape[0]! * w1!.shape[0]!; },
        prepare: (a) => { delete optionsOf(a, 1).positionIds; },
      },
      layout: { kind: 'enum', values: ['reformer', 'seed'] },
      signal: { kind: 'signal' },
    },
  },
  relations: [
    (r, args) => {
      const a = clone(args);
      const w = a[0] as Tensor[];
      const which = r.int(0, 1);
      w[which] = tensor(shapeOf(w[which]), r.pick(FLOATS.filter((d) => d !== dtypeOf(w[1 - which]))));
      return { what: 'the weights differ in dtype', args: a, expected: 'TypeError', mentions: 'weights[1].dtype' };
    },
    (r, args) => {
      const a = clone(args);
      const w = a[0] as Tensor[];
      const which = r.int(0, 1);
      w[which] = tensor([0, w[which]!.shape[1]!], dtypeOf(w[which]));
      return { what: 'a weight has no rows', args: a, expected: 'RangeError', mentions: 'no positions' };
    },
    (r, args) => {
      const a = clone(args);
      const [w0, w1] = a[0] as Tensor[];
      const positions = w0!.shape[0]! * w1!.shape[0]!;
      const bad = r.pick([-1, positions, positions + 7, -(2 ** 31), 2 ** 31 - 1]);
      const o = optionsOf(a, 1);
      delete o.length;
      o.positionIds = tensor([1, 3], 'int32', (i) => (i === 1 ? bad : 0));
      return { what: `a position id is ${bad}`, args: a, expected: 'RangeError', mentions: 'positionIds' };
    },
    (r, args) => {
      const a = clone(args);
      const o = optionsOf(a, 1);
      o.positionIds = tensor([1, 3], 'int32');
      o.length = r.pick([2, 4, 0]);
      return { what: 'opts.length differs from the ids', args: a, expected: 'RangeError', mentions: 'opts.length' };
    },
  ],
  extra: [
    (r, args) => {
      const a = clone(args);
      const w = a[0] as Tensor[];
      a[0] = r.pick<unknown>([[w[0]], [w[0], w[1], w[1]], [], w[0], 'weights', null, { 0: w[0], 1: w[1], length: 2 }]);
      return { what: 'weights is not a pair', args: a, expected: 'TypeError', mentions: 'weights' };
    },
  ],
};

function globalSlot(key: 'q' | 'k' | 'v'): Slot {
  return {
    name: `opts.global.${key}`, rank: 4, dtypes: FLOATS, optional: true,
    get: (a) => ((a[3] as Record<string, unknown> | undefined)?.global as Record<string, unknown> | undefined)?.[key],
    set: (a, value) => {
      const o = optionsOf(a, 3);
      o.global = { ...((o.global as object | undefined) ?? { q: a[0], k: a[1], v: a[2] }), [key]: value };
    },
  };
}

const local: Surface = {
  fn: 'localAttention', async: true,
  valid(r) {
    const dtype = r.pick(FLOATS);
    const [B, H, L, D] = [r.int(1, 2), r.int(1, 2), r.int(1, 12), r.int(1, 4)];
    const opts: Record<string, unknown> = { window: r.chance(0.5) ? r.int(0, L + 2) : [r.int(0, L), r.int(0, L)] };
    if (r.chance(0.5)) opts.attentionMask = tensor([B, L], 'int32', () => r.int(-1, 1));
    if (r.chance(0.4)) opts.global = { q: tensor([B, H, L, D], dtype), k: tensor([B, H, L, D], dtype), v: tensor([B, H, L, D], dtype) };
    if (r.chance(0.3)) opts.scale = r.next();
    return [tensor([B, H, L, D], dtype), tensor([B, H, L, D], dtype), tensor([B, H, L, D], dtype), opts];
  },
  invoke: (a) => localAttention(...(a as Parameters<typeof localAttention>)),
  slots: [
    slotAt('q', 0, 4, FLOATS), slotAt('k', 1, 4, FLOATS), slotAt('v', 2, 4, FLOATS),
    optionSlot('attentionMask', 3, 'attentionMask', 2, ['int32']), globalSlot('q'), globalSlot('k'), globalSlot('v'),
  ],
  options: {
    index: 3, required: true, tensors: ['attentionMask', 'global'], others: ['window'],
    kinds: { window: { kind: 'int', min: 0 }, scale: { kind: 'float32' }, signal: { kind: 'signal' } },
  },
  relations: [
    (r, args) => {
      const a = clone(args);
      const which = r.int(1, 2), shape = shapeOf(a[0]);
      shape[r.int(0, 3)]! += 1;
      a[which] = tensor(shape, dtypeOf(a[0]));
      return { what: `${'qkv'[which]} differs from q in shape`, args: a, expected: 'RangeError', mentions: `${'qkv'[which]}.shape` };
    },
    (r, args) => {
      const a = clone(args);
      const which = r.int(1, 2);
      a[which] = tensor(shapeOf(a[0]), r.pick(FLOATS.filter((d) => d !== dtypeOf(a[0]))));
      return { what: `${'qkv'[which]} has another float dtype`, args: a, expected: 'TypeError', mentions: `${'qkv'[which]}.dtype` };
    },
    (r, args) => {
      const a = clone(args);
      const [B, , L] = shapeOf(a[0]);
      optionsOf(a, 3).attentionMask = tensor(r.chance(0.5) ? [B!, L! + 1] : [B! + 1, L!], 'int32');
      return { what: 'the attention mask has another shape', args: a, expected: 'RangeError', mentions: 'opts.attentionMask' };
    },
    (r, args) => {
      const a = clone(args);
      const [B, , L] = shapeOf(a[0]);
      const bad = r.pick([2, -2, 7, -(2 ** 31), 2 ** 31 - 1]);
      optionsOf(a, 3).attentionMask = tensor([B!, L!], 'int32', (i) => (i === L! - 1 ? bad : 0));
      return { what: `an attention mask value is ${bad}`, args: a, expected: 'RangeError', mentions: 'opts.attentionMask' };
    },
    (r, args) => {
      const a = clone(args);
      const key = r.pick(['q', 'k', 'v'] as const);
      const shape = shapeOf(a[0]);
      shape[r.int(0, 3)]! += 1;
      globalSlot(key).set(a, tensor(shape, dtypeOf(a[0])));
      return { what: `the global ${key} differs from q in shape`, args: a, expected: 'RangeError', mentions: `opts.global.${key}` };
    },
    (r, args) => {
      const a = clone(args);
      const key = r.pick(['q', 'k', 'v'] as const);
      globalSlot(key).set(a, tensor(shapeOf(a[0]), r.pick(FLOATS.filter((d) => d !== dtypeOf(a[0])))));
      return { what: `the global ${key} has another float dtype`, args: a, expected: 'TypeError', mentions: `opts.global.${key}` };
    },
  ],
  extra: [
    (r, args) => {
      const a = clone(args);
      const o = optionsOf(a, 3);
      const [what, value] = r.pick<[string, unknown]>([['a number', 1], ['a string', 'g'], ['an array', []], ['null', null]]);
      o.global = value;
      return { what: `opts.global is ${what}`, args: a, expected: 'TypeError', mentions: 'opts.global' };
    },
    (r, args) => {
      const a = clone(args);
      const o = optionsOf(a, 3);
      o.global = r.chance(0.5) ? { q: a[0], k: a[1] } : { q: a[0], k: a[1], v: a[2], w: a[2] };
      return { what: 'opts.global lacks v or has a fourth key', args: a, expected: 'TypeError', mentions: 'opts.global' };
    },
    (r, args) => {
      const a = clone(args);
      delete optionsOf(a, 3).window;
      return { what: 'opts.window is missing', args: a, expected: 'TypeError', mentions: 'opts.window' };
    },
    (r, args) => {
      const a = clone(args);
      const [what, value, expected, mentions] = r.pick<[string, unknown, Expected, string]>([
        ['a pair with a negative side', [-1, 2], 'RangeError', 'opts.window[0]'],
        ['a pair with a fractional side', [1, 2.5], 'TypeError', 'opts.window[1]'],
        ['a pair with a NaN side', [NaN, 2], 'TypeError', 'opts.window[0]'],
        ['a pair with a string side', [1, '2'], 'TypeError', 'opts.window[1]'],
        ['a pair with a side beyond int32', [2 ** 31, 0], 'RangeError', 'opts.window[0]'],
        ['one element', [1], 'TypeError', 'opts.window'],
        ['three elements', [1, 2, 3], 'TypeError', 'opts.window'],
      ]);
      optionsOf(a, 3).window = value;
      return { what: `opts.window is ${what}`, args: a, expected, mentions };
    },
  ],
};

// ---- LSH: bucket counts are an even integer >= 2 or a list of them, rotations [H, D, nHashes, rot/2].

function randomBuckets(r: Rand): number | number[] {
  return r.chance(0.6) ? 2 * r.int(1, 4) : Array.from({ length: r.int(1, 3) }, () => 2 * r.int(1, 2));
}

const halfRotation = (nBuckets: unknown) => ((typeof nBuckets === 'number' ? [nBuckets] : (nBuckets as number[])).reduce((a, b) => a + b, 0)) / 2;

function malformBuckets(r: Rand, args: Args, index: number): Malformed {
  const a = clone(args);
  const [what, value, expected, mentions] = r.pick<[string, unknown, Expected, string]>([
    ['odd', 5, 'RangeError', 'opts.nBuckets'], ['1', 1, 'RangeError', 'opts.nBuckets'], ['0', 0, 'RangeError', 'opts.nBuckets'],
    ['NaN', NaN, 'TypeError', 'opts.nBuckets'], ['a string', '4', 'TypeError', 'opts.nBuckets'], ['null', null, 'TypeError', 'opts.nBuckets'],
    ['an empty list', [], 'RangeError', 'opts.nBuckets'], ['a list with an odd factor', [4, 3], 'RangeError', 'opts.nBuckets[1]'],
    ['a list with a fractional factor', [2.5], 'TypeError', 'opts.nBuckets[0]'], ['31 factors', new Array(31).fill(2), 'RangeError', 'opts.nBuckets'],
    ['factors whose product passes int32', [65536, 65536], 'RangeError', 'opts.nBuckets'],
  ]);
  optionsOf(a, index).nBuckets = value;
  return { what: `opts.nBuckets is ${what}`, args: a, expected, mentions };
}

/** Rotations slot of lshAttention: giving rotations takes the seed away (they are exclusive). */
function rotationsSlot(index: number, exclusiveWithSeed: boolean): Slot {
  const slot = optionSlot('rotations', index, 'rotations', 4, FLOATS);
  return {
    ...slot, optional: !exclusiveWithSeed ? false : true,
    set: (a, value) => {
      slot.set(a, value);
      if (exclusiveWithSeed) delete optionsOf(a, index).seed;
    },
  };
}

const lshHashSurface: Surface = {
  fn: 'lshHash', async: true,
  valid(r) {
    const dtype = r.pick(FLOATS);
    const [B, H, L, D, rounds] = [r.int(1, 2), r.int(1, 2), r.int(1, 12), r.int(1, 6), r.int(1, 3)];
    const nBuckets = randomBuckets(r);
    const opts: Record<string, unknown> = { nBuckets, rotations: tensor([H, D, rounds, halfRotation(nBuckets)], r.chance(0.5) ? 'float32' : dtype) };
    if (r.chance(0.4)) opts.paddingMask = tensor([B, L], 'int32', () => r.int(0, 1));
    return [tensor([B, H, L, D], dtype), opts];
  },
  invoke: (a) => lshHash(...(a as Parameters<typeof lshHash>)),
  slots: [slotAt('qk', 0, 4, FLOATS), rotationsSlot(1, false), optionSlot('paddingMask', 1, 'paddingMask', 2, ['int32'])],
  options: { index: 1, required: true, tensors: ['rotations', 'paddingMask'], others: ['nBuckets'], kinds: { signal: { kind: 'signal' } } },
  relations: [
    (r, args) => {
      const a = clone(args);
      const o = optionsOf(a, 1);
      const shape = shapeOf(o.rotations);
      shape[r.pick([0, 1, 3])]! += 1;
      o.rotations = tensor(shape);
      return { what: 'the rotations do not fit qk and nBuckets', args: a, expected: 'RangeError', mentions: 'opts.rotations' };
    },
    (r, args) => {
      const a = clone(args);
      const o = optionsOf(a, 1);
      const others = FLOATS.filter((d) => d !== 'float32' && d !== dtypeOf(a[0]));
      if (!others.length) return undefined;
      o.rotations = tensor(shapeOf(o.rotations), r.pick(others));
      return { what: 'the rotations are neither float32 nor of qk\'s dtype', args: a, expected: 'TypeError', mentions: 'opts.rotations.dtype' };
    },
    (r, args) => {
      const a = clone(args);
      const [B, , L] = shapeOf(a[0]);
      const bad = r.pick([2, -1, 7]);
      optionsOf(a, 1).paddingMask = tensor([B!, L!], 'int32', (i) => (i === 0 ? bad : 1));
      return { what: `a padding mask value is ${bad}`, args: a, expected: 'RangeError', mentions: 'opts.paddingMask' };
    },
    (r, args) => {
      const a = clone(args);
      const [B, , L] = shapeOf(a[0]);
      optionsOf(a, 1).paddingMask = tensor([B!, L! + 1], 'int32');
      return { what: 'the padding mask has another length', args: a, expected: 'RangeError', mentions: 'opts.paddingMask' };
    },
  ],
  extra: [(r, args) => malformBuckets(r, args, 1)],
};

const sortSurface: Surface = {
  fn: 'sortByBucket', async: true,
  valid(r) {
    const shape = [r.int(1, 2), r.int(1, 3), r.int(0, 40)];
    return [tensor(shape, 'int32', () => r.int(-5, 20)), r.chance(0.5) ? undefined : {}];
  },
  invoke: (a) => sortByBucket(...(a as Parameters<typeof sortByBucket>)),
  slots: [slotAt('buckets', 0, 3, ['int32'])],
  options: { index: 1, required: false, tensors: [], kinds: { signal: { kind: 'signal' } } },
  relations: [],
  extra: [],
};

// chunksBefore / chunksAfter: at most the number of chunks when L > chunkLength, else unused.
function lshNeighbourMax(args: Args): number {
  const L = shapeOf(args[0])[2]!, opts = optionsOf(args, 2);
  const chunkLength = opts.chunkLength as number, nHashes = opts.nHashes as number;
  return L <= chunkLength ? 2 ** 31 - 1 : nHashes * Math.ceil(L / chunkLength);
}

const lsh: Surface = {
  fn: 'lshAttention', async: true,
  valid(r) {
    const dtype = r.pick(FLOATS);
    const [B, H, L, D] = [r.int(1, 2), r.int(1, 2), r.int(1, 20), r.int(1, 6)];
    const nBuckets = randomBuckets(r), nHashes = r.int(1, 3);
    const opts: Record<string, unknown> = { nHashes, nBuckets, chunkLength: r.int(1, 8) };
    if (r.chance(0.3)) opts.chunksBefore = r.int(0, 2);
    if (r.chance(0.3)) opts.chunksAfter = r.int(0, 2);
    if (r.chance(0.3)) opts.causal = r.chance(0.5);
    if (r.chance(0.3)) opts.paddingMask = tensor([B, L], 'int32', () => (r.chance(0.8) ? 1 : 0));
    if (r.chance(0.4)) opts.rotations = tensor([H, D, nHashes, halfRotation(nBuckets)], r.chance(0.5) ? 'float32' : dtype);
    else if (r.chance(0.5)) opts.seed = r.int(0, 2 ** 32 - 1);
    return [tensor([B, H, L, D], dtype), tensor([B, H, L, D], dtype), opts];
  },
  invoke: (a) => lshAttention(...(a as Parameters<typeof lshAttention>)),
  slots: [slotAt('qk', 0, 4, FLOATS), slotAt('v', 1, 4, FLOATS), rotationsSlot(2, true), optionSlot('paddingMask', 2, 'paddingMask', 2, ['int32'])],
  options: {
    index: 2, required: true, tensors: ['rotations', 'paddingMask'], others: ['nBuckets'],
    kinds: {
      nHashes: { kind: 'int', min: 1 }, chunkLength: { kind: 'int', min: 1 },
      chunksBefore: { kind: 'int', min: 0, max: lshNeighbourMax }, chunksAfter: { kind: 'int', min: 0, max: lshNeighbourMax },
      causal: { kind: 'boolean' },
      seed: { kind: 'int', min: 0, max: () => 2 ** 32 - 1, prepare: (a) => { delete optionsOf(a, 2).rotations; } },
      signal: { kind: 'signal' },
    },
  },
  relations: [
    (r, args) => {
      const a = clone(args);
      const shape = shapeOf(a[0]);
      shape[r.int(0, 3)]! += 1;
      a[1] = tensor(shape, dtypeOf(a[0]));
      return { what: 'v differs from qk in shape', args: a, expected: 'RangeError', mentions: 'v.shape' };
    },
    (r, args) => {
      const a = clone(args);
      a[1] = tensor(shapeOf(a[0]), r.pick(FLOATS.filter((d) => d !== dtypeOf(a[0]))));
      return { what: 'v has another float dtype', args: a, expected: 'TypeError', mentions: 'v.dtype' };
    },
    (r, args) => {
      const a = clone(args);
      const o = optionsOf(a, 2);
      const [, H, , D] = shapeOf(a[0]);
      const shape = [H!, D!, o.nHashes as number, halfRotation(o.nBuckets)];
      shape[r.int(0, 3)]! += 1;
      o.rotations = tensor(shape);
      delete o.seed;
      return { what: 'the rotations do not fit qk, nHashes and nBuckets', args: a, expected: 'RangeError', mentions: 'opts.rotations' };
    },
    (r, args) => {
      const a = clone(args);
      const o = optionsOf(a, 2);
      const [, H, , D] = shapeOf(a[0]);
      o.rotations = tensor([H!, D!, o.nHashes as number, halfRotation(o.nBuckets)]);
      o.seed = 1;
      return { what: 'both rotations and a seed', args: a, expected: 'TypeError', mentions: 'opts.rotations' };
    },
    (r, args) => {
      const a = clone(args);
      const [B, , L] = shapeOf(a[0]);
      const bad = r.pick([2, -1, 9]);
      optionsOf(a, 2).paddingMask = tensor([B!, L!], 'int32', (i) => (i === 0 ? bad : 1));
      return { what: `a padding mask value is ${bad}`, args: a, expected: 'RangeError', mentions: 'opts.paddingMask' };
    },
  ],
  extra: [
    (r, args) => malformBuckets(r, args, 2),
    (r, args) => {
      const a = clone(args);
      const key = r.pick(['nHashes', 'nBuckets', 'chunkLength']);
      delete optionsOf(a, 2)[key];
      return { what: `opts.${key} is missing`, args: a, expected: 'TypeError', mentions: `opts.${key}` };
    },
  ],
};

const reformerLocal: Surface = {
  fn: 'reformerLocalAttention', async: true,
  valid(r) {
    const dtype = r.pick(FLOATS);
    const [B, H, L, D] = [r.int(1, 2), r.int(1, 2), r.int(1, 20), r.int(1, 6)];
    const opts: Record<string, unknown> = { chunkLength: r.int(1, 8) };
    if (r.chance(0.3)) opts.chunksBefore = r.int(0, 2);
    if (r.chance(0.3)) opts.chunksAfter = r.int(0, 2);
    if (r.chance(0.3)) opts.causal = r.chance(0.5);
    if (r.chance(0.3)) opts.paddingMask = tensor([B, L], 'int32', () => (r.chance(0.8) ? 1 : 0));
    return [tensor([B, H, L, D], dtype), tensor([B, H, L, D], dtype), tensor([B, H, L, D], dtype), opts];
  },
  invoke: (a) => reformerLocalAttention(...(a as Parameters<typeof reformerLocalAttention>)),
  slots: [slotAt('q', 0, 4, FLOATS), slotAt('k', 1, 4, FLOATS), slotAt('v', 2, 4, FLOATS), optionSlot('paddingMask', 3, 'paddingMask', 2, ['int32'])],
  options: {
    index: 3, required: true, tensors: ['paddingMask'], others: ['layout', 'heads'],
    kinds: {
      chunkLength: { kind: 'int', min: 1, max: (a) => 2 ** 31 - 1 - shapeOf(a[0])[2]! },
      chunksBefore: { kind: 'int', min: 0 }, chunksAfter: { kind: 'int', min: 0 }, causal: { kind: 'boolean' },
      signal: { kind: 'signal' },
    },
  },
  relations: [
    (r, args) => {
      const a = clone(args);
      const which = r.int(1, 2), shape = shapeOf(a[0]);
      shape[r.int(0, 3)]! += 1;
      a[which] = tensor(shape, dtypeOf(a[0]));
      return { what: `${'qkv'[which]} differs from q in shape`, args: a, expected: 'RangeError', mentions: `${'qkv'[which]}.shape` };
    },
    (r, args) => {
      const a = clone(args);
      const which = r.int(1, 2);
      a[which] = tensor(shapeOf(a[0]), r.pick(FLOATS.filter((d) => d !== dtypeOf(a[0]))));
      return { what: `${'qkv'[which]} has another float dtype`, args: a, expected: 'TypeError', mentions: `${'qkv'[which]}.dtype` };
    },
    (r, args) => {
      const a = clone(args);
      const [B, , L] = shapeOf(a[0]);
      const bad = r.pick([2, -1, 9]);
      optionsOf(a, 3).paddingMask = tensor([B!, L!], 'int32', (i) => (i === 0 ? bad : 1));
      return { what: `a padding mask value is ${bad}`, args: a, expected: 'RangeError', mentions: 'opts.paddingMask' };
    },
  ],
  extra: [
    (r, args) => {
      const a = clone(args);
      delete optionsOf(a, 3).chunkLength;
      return { what: 'opts.chunkLength is missing', args: a, expected: 'TypeError', mentions: 'opts.chunkLength' };
    },
    (r, args) => {
      const a = clone(args);
      const o = optionsOf(a, 3);
      o.layout = 'blhd';
      if (r.chance(0.5)) delete o.heads;
      else o.heads = r.pick([0, -1, 1.5, '2']);
      return { what: "layout 'blhd' without valid heads", args: a, expected: typeof o.heads === 'number' && Number.isInteger(o.heads) ? 'RangeError' : 'TypeError', mentions: 'opts.heads' };
    },
    (r, args) => {
      const a = clone(args);
      optionsOf(a, 3).layout = r.pick(['BHLD', 'bhdl', 1, null]);
      return { what: 'an unknown layout', args: a, expected: 'TypeError', mentions: 'opts.layout' };
    },
  ],
};

const linearSurface: Surface = {
  fn: 'linear', async: true, requiredArgs: 2,
  valid(r) {
    const dtype = r.pick(FLOATS);
    const lead = randomShape(r, r.int(1, 3)), inp = r.int(0, 6), out = r.int(1, 6);
    const args: Args = [tensor([...lead, inp], dtype), tensor([out, inp], dtype)];
    if (r.chance(0.6)) args.push(tensor([out], dtype));
    if (r.chance(0.3)) args[3] = {};
    return args;
  },
  invoke: (a) => linear(...(a as Parameters<typeof linear>)),
  slots: [slotAt('weight', 1, 2, FLOATS)],
  options: { index: 3, required: false, tensors: [], kinds: { signal: { kind: 'signal' } } },
  relations: [
    (r, args) => {
      const a = clone(args);
      const [out, inp] = shapeOf(a[1]);
      a[1] = tensor([out!, inp! + 1], dtypeOf(a[0]));
      if (a[2]) a[2] = tensor([out!], dtypeOf(a[0]));
      return { what: 'weight has another input width than x', args: a, expected: 'RangeError', mentions: 'weight.shape' };
    },
    (r, args) => {
      const a = clone(args);
      const [out] = shapeOf(a[1]);
      a[2] = tensor(r.chance(0.5) ? [out! + 1] : [out!, 1], dtypeOf(a[0]));
      return { what: 'bias does not match weight', args: a, expected: 'RangeError', mentions: 'bias.shape' };
    },
    (r, args) => {
      const a = clone(args);
      const which = r.int(1, 2);
      const shape = which === 1 ? shapeOf(a[1]) : [shapeOf(a[1])[0]!];
      a[which] = tensor(shape, r.pick(FLOATS.filter((d) => d !== dtypeOf(a[0]))));
      const name = which === 1 ? 'weight' : 'bias';
      return { what: `${name} has another float dtype`, args: a, expected: 'TypeError', mentions: `${name}.dtype` };
    },
  ],
  extra: [
    (r, args) => {
      const a = clone(args);
      const [what, make] = r.pick(NOT_TENSORS.filter(([w]) => w !== 'null'));
      a[r.pick([0, 2])] = make();
      return { what: `x or bias is ${what}`, args: a, expected: 'TypeError', mentions: 'must be a Tensor' };
    },
    (r, args) => {
      const a = clone(args);
      a[0] = tensor(shapeOf(a[0]), 'int32');
      return { what: 'x is int32', args: a, expected: 'TypeError', mentions: 'x.dtype' };
    },
  ],
};

const layerNormSurface: Surface = {
  fn: 'layerNorm', async: true,
  valid(r) {
    const dtype = r.pick(FLOATS);
    const shape = randomShape(r, r.int(1, 3));
    const width = shape[shape.length - 1]!;
    return [tensor(shape, dtype), tensor([width], dtype), tensor([width], dtype), r.chance(0.5) ? { eps: r.next() } : undefined];
  },
  invoke: (a) => layerNorm(...(a as Parameters<typeof layerNorm>)),
  slots: [slotAt('weight', 1, 1, FLOATS), slotAt('bias', 2, 1, FLOATS)],
  options: { index: 3, required: false, tensors: [], kinds: { eps: { kind: 'float32' }, signal: { kind: 'signal' } } },
  relations: [
    (r, args) => {
      const a = clone(args);
      const which = r.int(1, 2);
      a[which] = tensor([shapeOf(a[which])[0]! + 1], dtypeOf(a[0]));
      return { what: `${which === 1 ? 'weight' : 'bias'} is not as wide as x`, args: a, expected: 'RangeError', mentions: `${which === 1 ? 'weight' : 'bias'}.shape` };
    },
  ],
  extra: [
    (r, args) => {
      const a = clone(args);
      optionsOf(a, 3).eps = -r.next() - 1e-3;
      return { what: 'eps is negative', args: a, expected: 'RangeError', mentions: 'opts.eps' };
    },
  ],
};

const embeddingSurface: Surface = {
  fn: 'embedding', async: true,
  valid(r) {
    const rows = r.int(1, 6);
    const ids = tensor(randomShape(r, r.int(0, 3)), 'int32', () => r.int(0, rows - 1));
    return [ids, tensor([rows, r.int(1, 5)], r.pick(FLOATS)), r.chance(0.3) ? {} : undefined];
  },
  invoke: (a) => embedding(...(a as Parameters<typeof embedding>)),
  slots: [slotAt('table', 1, 2, FLOATS)],
  options: { index: 2, required: false, tensors: [], kinds: { signal: { kind: 'signal' } } },
  relations: [
    (r, args) => {
      const a = clone(args);
      const rows = shapeOf(a[1])[0]!;
      a[0] = tensor([r.int(1, 4)], 'int32', (i) => (i === 0 ? r.pick([rows, rows + 5, -1]) : 0));
      return { what: 'an id outside the table', args: a, expected: 'RangeError', mentions: 'ids[' };
    },
  ],
  extra: [
    (r, args) => {
      const a = clone(args);
      a[0] = tensor(shapeOf(a[0]), r.pick(FLOATS));
      return { what: 'ids are not int32', args: a, expected: 'TypeError', mentions: 'ids.dtype' };
    },
  ],
};

export const SURFACES: Surface[] = [
  tensorFrom, tensorTo, ...halfConversions, fromHalfSurface, dense, axial, local, lshHashSurface, sortSurface, lsh,
  reformerLocal, linearSurface, layerNormSurface, embeddingSurface,
];
