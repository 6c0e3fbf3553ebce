// The native layer trusts lib/ for validation but re-checks what memory safety depends on: a
// caller that reaches the raw binding with malformed descriptors gets an exception, never a
// crash, and never an op that reads or writes outside its buffers.
import { describe, expect, it } from 'vitest';
import type { NativeTensor } from '../binding.js';
import { native } from '../lib/native.js';
import { rng } from './helpers/random.js';

type Descriptor = Record<string, unknown>;

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function f32(shape: number[]): Descriptor {
  return { dtype: 0, shape, device: -1, host: new Float32Array(numel(shape)).fill(0.5) };
}

function i32(shape: number[], values?: number[]): Descriptor {
  return { dtype: 3, shape, device: -1, host: values ? Int32Array.from(values) : new Int32Array(numel(shape)) };
}

const as = (d: Descriptor) => d as unknown as NativeTensor;

/** A valid call of each op, as lib/ would make it, with fresh descriptors each time. */
const VALID = {
  denseAttention: (): Descriptor[] => [f32([1, 2, 3, 4]), f32([1, 2, 5, 4]), f32([1, 2, 5, 4]), f32([1, 2, 3, 4])],
  axialPositionEncoding: (): Descriptor[] => [f32([2, 3]), f32([4, 1]), i32([1, 5], [0, 1, 2, 3, 7]), f32([1, 5, 4])],
  copyTensor: (): Descriptor[] => [f32([2, 3]), f32([2, 3])],
  // qk, rotations [H, D, nHashes, rot/2], padding mask, out
  lshHash: (): Descriptor[] => [f32([1, 2, 8, 4]), f32([2, 4, 2, 2]), i32([1, 8], [1, 1, 1, 1, 1, 1, 0, 0]), i32([1, 2, 16])],
  // buckets, sortedIndex, undoIndex
  sortByBucket: (): Descriptor[] => [i32([1, 2, 8], [3, 1, 2, 3, 0, 0, 7, -5, 1, 1, 1, 1, 1, 1, 1, 1]), i32([1, 2, 8]), i32([1, 2, 8])],
  // qk, v, rotations, padding mask, out
  lshAttention: (): Descriptor[] => [f32([1, 2, 8, 4]), f32([1, 2, 8, 4]), f32([2, 4, 2, 2]), i32([1, 8], [1, 1, 1, 1, 1, 1, 1, 0]), f32([1, 2, 8, 4])],
  // q, k, v, global q, k, v, attention mask, out
  localAttention: (): Descriptor[] => [
    f32([1, 2, 6, 4]), f32([1, 2, 6, 4]), f32([1, 2, 6, 4]), f32([1, 2, 6, 4]), f32([1, 2, 6, 4]), f32([1, 2, 6, 4]),
    i32([1, 6], [0, 1, 0, -1, 0, 0]), f32([1, 2, 6, 4]),
  ],
  // q, k, v, padding mask, out: [B, L, H * D] with 2 heads
  reformerLocalAttention: (): Descriptor[] => [
    f32([2, 6, 8]), f32([2, 6, 8]), f32([2, 6, 8]), i32([2, 6], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]), f32([2, 6, 8]),
  ],
  // src, dst
  copyBlocks: (): Descriptor[] => [f32([2, 3]), f32([2, 3])],
  // x, weight, bias, out
  linear: (): Descriptor[] => [f32([2, 3]), f32([4, 3]), f32([4]), f32([2, 4])],
  // x, weight, bias, out
  layerNorm: (): Descriptor[] => [f32([2, 3]), f32([3]), f32([3]), f32([2, 3])],
  // x, out
  activation: (): Descriptor[] => [f32([2, 3]), f32([2, 3])],
  // a, b, out
  add: (): Descriptor[] => [f32([2, 3]), f32([2, 3]), f32([2, 3])],
  // ids, table, out
  embedding: (): Descriptor[] => [i32([2], [0, 2]), f32([3, 4]), f32([2, 4])],
} as const;
type Op = keyof typeof VALID;

const DEFAULT_OPTIONS = {
  denseAttention: { scale: 0.5, causal: false, layout: 'bhld' }, axialPositionEncoding: { layout: 'reformer' }, copyTensor: {},
  localAttention: { left: 1, right: 2, scale: 0.5, layout: 'bhld' },
  lshHash: { bucketFactors: [4] },
  sortByBucket: {},
  lshAttention: { bucketFactors: [4], nHashes: 2, chunkLength: 4, chunksBefore: 1, chunksAfter: 0, causal: false, layout: 'bhld' },
  reformerLocalAttention: { chunkLength: 4, chunksBefore: 1, chunksAfter: 1, causal: true, layout: 'blhd', heads: 2 },
  copyBlocks: { blocks: 2, length: 2, srcOffset: 1, srcStride: 3, dstOffset: 0, dstStride: 3 },
  linear: {}, layerNorm: { eps: 1e-5 }, activation: { fn: 'gelu' }, add: {}, embedding: {},
};

function call(op: Op, args: unknown[], opts: unknown = DEFAULT_OPTIONS[op], cancel?: unknown): Promise<void> {
  const [a, b, c, d, e, f, g, h] = args.map((x) => as(x as Descriptor));
  switch (op) {
    case 'denseAttention':
      return native.denseAttention(a!, b!, c!, d!, opts as never, cancel as never);
    case 'axialPositionEncoding':
      return native.axialPositionEncoding(a!, b!, c ?? null, d!, opts as never, cancel as never);
    case 'copyTensor':
      return native.copyTensor(a!, b!, cancel as never);
    case 'localAttention':
      return native.localAttention(a!, b!, c!, { q: d!, k: e!, v: f! }, g ?? null, h!, opts as never, cancel as never);
    case 'lshHash':
      return native.lshHash(a!, b!, c ?? null, d!, opts as never, cancel as never);
    case 'sortByBucket':
      return native.sortByBucket(a!, b!, c!, cancel as never);
    case 'lshAttention':
      return native.lshAttention(a!, b!, c ?? null, d ?? null, e!, opts as never, cancel as never);
    case 'reformerLocalAttention':
      return native.reformerLocalAttention(a!, b!, c!, d ?? null, e!, opts as never, cancel as never);
    case 'copyBlocks':
      return native.copyBlocks(a!, b!, opts as never, cancel as never);
    case 'linear':
      return native.linear(a!, b!, c ?? null, d!, cancel as never);
    case 'layerNorm':
      return native.layerNorm(a!, b!, c!, d!, opts as never, cancel as never);
    case 'activation':
      return native.activation(a!, b!, opts as never, cancel as never);
    case 'add':
      return native.add(a!, b!, c!, cancel as never);
    case 'embedding':
      return native.embedding(a!, b!, c!, cancel as never);
  }
}

/** Tensor arguments that may be absent: null there is valid. */
const OPTIONAL: Partial<Record<Op, number>> = { axialPositionEncoding: 2, localAttention: 6, lshHash: 2, lshAttention: 3, linear: 2, reformerLocalAttention: 3 };

/** Every way a single descriptor can be malformed; each must make any op throw. */
const DESCRIPTOR_MUTATIONS: Record<string, (d: Descriptor) => unknown> = {
  'not an object': () => 42,
  'null': () => null,
  'a string': () => 'tensor',
  'missing dtype': ({ dtype: _, ...rest }) => rest,
  'dtype code -1': (d) => ({ ...d, dtype: -1 }),
  'dtype code 4': (d) => ({ ...d, dtype: 4 }),
  'fractional dtype code': (d) => ({ ...d, dtype: 0.5 }),
  'NaN dtype code': (d) => ({ ...d, dtype: NaN }),
  'dtype as a string': (d) => ({ ...d, dtype: 'float32' }),
  'device -2': (d) => ({ ...d, device: -2 }),
  'fractional device': (d) => ({ ...d, device: -0.5 }),
  'NaN device': (d) => ({ ...d, device: NaN }),
  'device 2^40': (d) => ({ ...d, device: 2 ** 40 }),
  'shape not an array': (d) => ({ ...d, shape: 6 }),
  'negative dimension': (d) => ({ ...d, shape: [-1, ...(d.shape as number[]).slice(1)] }),
  'fractional dimension': (d) => ({ ...d, shape: [1.5, ...(d.shape as number[]).slice(1)] }),
  'NaN dimension': (d) => ({ ...d, shape: [NaN, ...(d.shape as number[]).slice(1)] }),
  'dimension 2^31': (d) => ({ ...d, shape: [2 ** 31, ...(d.shape as number[]).slice(1)] }),
  'element count beyond 32 bits': (d) => ({ ...d, shape: [65536, 65536, ...(d.shape as number[]).slice(2)] }),
  'nine dimensions': (d) => ({ ...d, shape: [1, 1, 1, 1, 1, 1, 1, 1, ...(d.shape as number[])] }),
  'dimension as a string': (d) => ({ ...d, shape: ['2', ...(d.shape as number[]).slice(1)] }),
  'one element more than the data': (d) => ({ ...d, shape: [(d.shape as number[])[0]! + 1, ...(d.shape as number[]).slice(1)] }),
  'host data one element short': (d) => ({ ...d, host: (d.host as Float32Array).subarray(1) }),
  'host data one element long': (d) => {
    const host = d.host as Float32Array;
    return { ...d, host: new (host.constructor as Float32ArrayConstructor)(host.length + 1) };
  },
  'missing host data': ({ host: _, ...rest }) => rest,
  'host data as a plain array': (d) => ({ ...d, host: Array.from(d.host as Float32Array) }),
  'host data of another array type': (d) => ({ ...d, host: new Uint8Array((d.host as Float32Array).byteLength) }),
  'misaligned bytes': (d) => ({ ...d, host: new Uint8Array((d.host as Float32Array).byteLength + 1).subarray(1) }),
  'host data as a DataView': (d) => ({ ...d, host: new DataView((d.host as Float32Array).buffer) }),
  'a device tensor without a buffer': (d) => ({ ...d, device: 0 }),
  'a CancelToken as device buffer': (d) => ({ ...d, device: 0, buffer: new native.CancelToken() }),
  'a plain object as device buffer': (d) => ({ ...d, device: 0, buffer: { bytes: 1 << 20 } }),
  'an empty DeviceBuffer': (d) => ({ ...d, device: 0, buffer: new (native.DeviceBuffer as unknown as new () => object)() }),
};

function expectThrowsCleanly(run: () => unknown): void {
  let thrown: unknown;
  try {
    const result = run();
    if (result instanceof Promise) result.catch(() => {});
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'the call must throw synchronously').toBeInstanceOf(Error);
  const e = thrown as Error & { code?: string };
  expect(e instanceof TypeError || e instanceof RangeError || typeof e.code === 'string', `${e.constructor.name}: ${e.message}`).toBe(true);
}

describe('native layer guard', () => {
  describe('malformed tensor descriptors', () => {
    for (const op of Object.keys(VALID) as Op[]) {
      const positions = VALID[op]().length;
      for (const [name, mutate] of Object.entries(DESCRIPTOR_MUTATIONS)) {
        it(`${op} throws for ${name} in any tensor argument`, () => {
          for (let i = 0; i < positions; i++) {
            if (OPTIONAL[op] === i && name === 'null') continue;
            const args = VALID[op]();
            args[i] = mutate(args[i]!) as Descriptor;
            expectThrowsCleanly(() => call(op, args));
          }
        });
      }
    }
  });

  describe('shapes inconsistent with each other', () => {
    const cases: Array<[string, Op, () => Descriptor[]]> = [
      ['dense k with another head dimension', 'denseAttention', () => [f32([1, 2, 3, 4]), f32([1, 2, 5, 8]), f32([1, 2, 5, 4]), f32([1, 2, 3, 4])]],
      ['dense v with more keys than k', 'denseAttention', () => [f32([1, 2, 3, 4]), f32([1, 2, 5, 4]), f32([1, 2, 6, 4]), f32([1, 2, 3, 4])]],
      ['dense out smaller than q', 'denseAttention', () => [f32([1, 2, 3, 4]), f32([1, 2, 5, 4]), f32([1, 2, 5, 4]), f32([1, 2, 2, 4])]],
      ['dense out of another rank', 'denseAttention', () => [f32([1, 2, 3, 4]), f32([1, 2, 5, 4]), f32([1, 2, 5, 4]), f32([2, 3, 4])]],
      ['dense k with more heads', 'denseAttention', () => [f32([1, 2, 3, 4]), f32([1, 3, 5, 4]), f32([1, 3, 5, 4]), f32([1, 2, 3, 4])]],
      ['dense q of rank 3', 'denseAttention', () => [f32([2, 3, 4]), f32([1, 2, 5, 4]), f32([1, 2, 5, 4]), f32([2, 3, 4])]],
      ['dense with an int32 q', 'denseAttention', () => [i32([1, 2, 3, 4]), f32([1, 2, 5, 4]), f32([1, 2, 5, 4]), f32([1, 2, 3, 4])]],
      ['dense with no keys for some queries', 'denseAttention', () => [f32([1, 2, 3, 4]), f32([1, 2, 0, 4]), f32([1, 2, 0, 4]), f32([1, 2, 3, 4])]],
      ['dense out aliasing q', 'denseAttention', () => { const q = f32([1, 2, 3, 4]); return [q, f32([1, 2, 5, 4]), f32([1, 2, 5, 4]), q]; }],
      ['dense out overlapping v', 'denseAttention', () => {
        const v = f32([1, 2, 5, 4]);
        return [f32([1, 2, 3, 4]), f32([1, 2, 5, 4]), v, { ...f32([1, 2, 3, 4]), host: (v.host as Float32Array).subarray(16, 40) }];
      }],
      ['axial out narrower than d0 + d1', 'axialPositionEncoding', () => [f32([2, 3]), f32([4, 1]), i32([1, 5]), f32([1, 5, 3])]],
      ['axial positionIds of another length', 'axialPositionEncoding', () => [f32([2, 3]), f32([4, 1]), i32([1, 4]), f32([1, 5, 4])]],
      ['axial positionIds as float32', 'axialPositionEncoding', () => [f32([2, 3]), f32([4, 1]), f32([1, 5]), f32([1, 5, 4])]],
      ['axial weights of different dtypes', 'axialPositionEncoding', () => [f32([2, 3]), i32([4, 1]), i32([1, 5]), f32([1, 5, 4])]],
      ['axial weight of rank 3', 'axialPositionEncoding', () => [f32([2, 3, 1]), f32([4, 1]), i32([1, 5]), f32([1, 5, 4])]],
      ['axial without ids and more positions than the table', 'axialPositionEncoding', () => [f32([2, 3]), f32([4, 1]), null as never, f32([1, 9, 4])]],
      ['axial without ids and B = 2', 'axialPositionEncoding', () => [f32([2, 3]), f32([4, 1]), null as never, f32([2, 4, 4])]],
      ['local k shorter than q', 'localAttention', () => { const a = VALID.localAttention(); a[1] = f32([1, 2, 5, 4]); return a; }],
      ['local global v of another head dimension', 'localAttention', () => { const a = VALID.localAttention(); a[5] = f32([1, 2, 6, 3]); return a; }],
      ['local out of another shape', 'localAttention', () => { const a = VALID.localAttention(); a[7] = f32([1, 2, 6, 5]); return a; }],
      ['local mask of another length', 'localAttention', () => { const a = VALID.localAttention(); a[6] = i32([1, 5]); return a; }],
      ['local mask as float32', 'localAttention', () => { const a = VALID.localAttention(); a[6] = f32([1, 6]); return a; }],
      ['local out aliasing the global k', 'localAttention', () => { const a = VALID.localAttention(); a[7] = a[4]!; return a; }],
      ['lshHash out of another length', 'lshHash', () => { const a = VALID.lshHash(); a[3] = i32([1, 2, 15]); return a; }],
      ['lshHash out as float32', 'lshHash', () => { const a = VALID.lshHash(); a[3] = f32([1, 2, 16]); return a; }],
      ['lshHash rotations of another head dimension', 'lshHash', () => { const a = VALID.lshHash(); a[1] = f32([2, 5, 2, 2]); return a; }],
      ['lshHash rotations of another bucket count', 'lshHash', () => { const a = VALID.lshHash(); a[1] = f32([2, 4, 2, 3]); return a; }],
      ['lshHash with no hash round', 'lshHash', () => { const a = VALID.lshHash(); a[1] = f32([2, 4, 0, 2]); a[3] = i32([1, 2, 0]); return a; }],
      ['lshHash mask of another length', 'lshHash', () => { const a = VALID.lshHash(); a[2] = i32([1, 7]); return a; }],
      ['lshHash out overlapping the mask', 'lshHash', () => {
        const a = VALID.lshHash();
        const shared = new Int32Array(48).fill(1);
        a[2] = { ...a[2]!, host: shared.subarray(16, 24) };
        a[3] = { ...a[3]!, host: shared.subarray(0, 32) };
        return a;
      }],
      ['sortByBucket buckets as float32', 'sortByBucket', () => { const a = VALID.sortByBucket(); a[0] = f32([1, 2, 8]); return a; }],
      ['sortByBucket sortedIndex of another shape', 'sortByBucket', () => { const a = VALID.sortByBucket(); a[1] = i32([1, 2, 7]); return a; }],
      ['sortByBucket undoIndex aliasing sortedIndex', 'sortByBucket', () => { const a = VALID.sortByBucket(); a[2] = a[1]!; return a; }],
      ['sortByBucket sortedIndex aliasing the buckets', 'sortByBucket', () => { const a = VALID.sortByBucket(); a[1] = a[0]!; return a; }],
      ['lshAttention v shorter than qk', 'lshAttention', () => { const a = VALID.lshAttention(); a[1] = f32([1, 2, 7, 4]); return a; }],
      ['lshAttention out as int32', 'lshAttention', () => { const a = VALID.lshAttention(); a[4] = i32([1, 2, 8, 4]); return a; }],
      ['lshAttention without rotations beyond one chunk', 'lshAttention', () => { const a = VALID.lshAttention(); a[2] = null as never; return a; }],
      ['lshAttention rotations of another round count', 'lshAttention', () => { const a = VALID.lshAttention(); a[2] = f32([2, 4, 3, 2]); return a; }],
      ['lshAttention out aliasing v', 'lshAttention', () => { const a = VALID.lshAttention(); a[4] = a[1]!; return a; }],
      ['copy between different sizes', 'copyTensor', () => [f32([2, 3]), f32([3, 3])]],
      ['copy between different dtypes', 'copyTensor', () => [f32([2, 3]), i32([2, 3])]],
      ['copy onto itself', 'copyTensor', () => { const t = f32([2, 3]); return [t, t]; }],
      ['reformerLocal q with heads not dividing its width', 'reformerLocalAttention', () => { const a = VALID.reformerLocalAttention(); for (const i of [0, 1, 2, 4]) a[i] = f32([2, 6, 9]); return a; }],
      ['reformerLocal k of another shape', 'reformerLocalAttention', () => { const a = VALID.reformerLocalAttention(); a[1] = f32([2, 5, 8]); return a; }],
      ['reformerLocal mask of another length', 'reformerLocalAttention', () => { const a = VALID.reformerLocalAttention(); a[3] = i32([2, 5]); return a; }],
      ['reformerLocal out aliasing v', 'reformerLocalAttention', () => { const a = VALID.reformerLocalAttention(); a[4] = a[2]!; return a; }],
      ['reformerLocal of rank 4 in the blhd layout', 'reformerLocalAttention', () => [f32([1, 2, 6, 4]), f32([1, 2, 6, 4]), f32([1, 2, 6, 4]), null as never, f32([1, 2, 6, 4])]],
      ['copyBlocks between dtypes', 'copyBlocks', () => [f32([2, 3]), i32([2, 3])]],
      ['copyBlocks onto its source', 'copyBlocks', () => { const t = f32([2, 3]); return [t, t]; }],
      ['linear weight of another width', 'linear', () => { const a = VALID.linear(); a[1] = f32([4, 2]); return a; }],
      ['linear bias of another length', 'linear', () => { const a = VALID.linear(); a[2] = f32([3]); return a; }],
      ['linear out of another width', 'linear', () => { const a = VALID.linear(); a[3] = f32([2, 3]); return a; }],
      ['linear with an int32 x', 'linear', () => { const a = VALID.linear(); a[0] = i32([2, 3]); return a; }],
      ['linear out aliasing x', 'linear', () => { const a = VALID.linear(); a[3] = { ...f32([2, 4]), host: new Float32Array(8) }; a[0] = { ...a[0]!, host: (a[3]!.host as Float32Array).subarray(0, 6) }; return a; }],
      ['layerNorm weight of another width', 'layerNorm', () => { const a = VALID.layerNorm(); a[1] = f32([4]); return a; }],
      ['layerNorm out of another shape', 'layerNorm', () => { const a = VALID.layerNorm(); a[3] = f32([3, 2]); return a; }],
      ['activation out of another shape', 'activation', () => [f32([2, 3]), f32([3, 2])]],
      ['activation of int32', 'activation', () => [i32([2, 3]), i32([2, 3])]],
      ['add b of another shape', 'add', () => [f32([2, 3]), f32([6]), f32([2, 3])]],
      ['add out aliasing a', 'add', () => { const a = f32([2, 3]); return [a, f32([2, 3]), a]; }],
      ['embedding ids as float32', 'embedding', () => [f32([2]), f32([3, 4]), f32([2, 4])]],
      ['embedding out of another width', 'embedding', () => [i32([2]), f32([3, 4]), f32([2, 3])]],
      ['embedding table of rank 1', 'embedding', () => [i32([2]), f32([12]), f32([2, 4])]],
    ];
    for (const [name, op, args] of cases) it(`${op} throws for ${name}`, () => expectThrowsCleanly(() => call(op, args())));
  });

  describe('options and cancel tokens', () => {
    // What no memory access depends on (the value of a scale or an eps) is lib/'s to check, once:
    // the binding only requires the option to be there with its type.
    it('denseAttention needs a numeric scale and a boolean causal', () => {
      for (const opts of [null, 7, {}, { scale: '1', causal: false }, { scale: 1 }, { scale: 1, causal: 1 },
        { scale: 1, causal: false }, { scale: 1, causal: false, layout: 'bhdl' },
      { scale: 1, causal: false, layout: 'blhd' }, { scale: 1, causal: false, layout: 'blhd', heads: 0 }])
        expectThrowsCleanly(() => call('denseAttention', VALID.denseAttention(), opts));
    });
    it('axialPositionEncoding needs a known layout', () => {
      for (const opts of [null, {}, { layout: 'other' }, { layout: 1 }])
        expectThrowsCleanly(() => call('axialPositionEncoding', VALID.axialPositionEncoding(), opts));
    });
    it('localAttention needs integer window sides within range and a numeric scale', () => {
      for (const opts of [null, {}, { left: 1, right: 2 }, { left: -1, right: 2, scale: 1 }, { left: 1.5, right: 2, scale: 1 },
        { left: 1e300, right: 2, scale: 1 }, { left: NaN, right: 2, scale: 1 }, { left: 1, right: '2', scale: 1 },
        { left: 1, right: 2, scale: '1', layout: 'bhld' }, { left: 1, right: 2, scale: 1 }])
        expectThrowsCleanly(() => call('localAttention', VALID.localAttention(), opts));
    });
    it('localAttention needs the global projections as an object of three tensors', () => {
      const a = VALID.localAttention().map(as);
      for (const global of [1, 'g', { q: a[3], k: a[4] }, { q: a[3], k: a[4], v: 7 }])
        expectThrowsCleanly(() => native.localAttention(a[0]!, a[1]!, a[2]!, global as never, null, a[7]!, DEFAULT_OPTIONS.localAttention));
    });
    it('the LSH ops need bucket factors that are even, within int32, and integer round and chunk options within range', () => {
      const base = DEFAULT_OPTIONS.lshAttention;
      for (const change of [{ bucketFactors: 4 }, { bucketFactors: [] }, { bucketFactors: [3] }, { bucketFactors: [0] },
        { bucketFactors: [65536, 65536] }, { bucketFactors: ['4'] }, { nHashes: 0 }, { nHashes: 1e300 }, { nHashes: NaN },
        { chunkLength: 0 }, { chunkLength: 2.5 }, { chunksBefore: -1 }, { chunksAfter: '1' }, { causal: 1 }, { causal: undefined },
        // 2 rounds of 2 chunks: at most 4 chunks on either side (2^31 - 1 overflowed the keys per query).
        { chunksBefore: 5 }, { chunksAfter: 5 }, { chunksBefore: 2 ** 31 - 1 }, { chunksAfter: 2 ** 31 - 1 }])
        expectThrowsCleanly(() => call('lshAttention', VALID.lshAttention(), { ...base, ...change }));
      for (const opts of [null, {}, { bucketFactors: [5] }])
        expectThrowsCleanly(() => call('lshHash', VALID.lshHash(), opts));
    });
    it('rejects anything but a CancelToken as the cancel argument', () => {
      for (const cancel of [{}, 1, 'x', new (native.DeviceBuffer as unknown as new () => object)(), Object.create(native.CancelToken.prototype)])
        for (const op of Object.keys(VALID) as Op[]) expectThrowsCleanly(() => call(op, VALID[op](), undefined, cancel));
    });
  });

  describe('out-of-range data', () => {
    it('rejects block copies that reach outside either tensor', () => {
      for (const change of [{ blocks: 3 }, { length: 3 }, { srcOffset: 2 }, { dstOffset: 2 }, { srcStride: 5 }, { blocks: -1 },
        { length: 1.5 }, { blocks: 2 ** 40 }, { dstStride: NaN }, { srcOffset: undefined }])
        expectThrowsCleanly(() => call('copyBlocks', VALID.copyBlocks(), { ...DEFAULT_OPTIONS.copyBlocks, ...change }));
    });
    it('rejects unknown activations and a missing or non-numeric eps', () => {
      for (const opts of [null, {}, { fn: 'swish' }, { fn: 1 }]) expectThrowsCleanly(() => call('activation', VALID.activation(), opts));
      for (const opts of [null, {}, { eps: '1e-5' }]) expectThrowsCleanly(() => call('layerNorm', VALID.layerNorm(), opts));
    });
    it('rejects embedding ids outside the table without reading outside it', async () => {
      for (const bad of [-1, 3, 2 ** 31 - 1, -(2 ** 31)]) {
        const args = VALID.embedding();
        args[0] = i32([2], [0, bad]);
        await expect(call('embedding', args)).rejects.toThrow(RangeError);
      }
    });
    it('rejects attention mask values other than -1, 0 and 1', async () => {
      for (const bad of [2, -2, 2 ** 31 - 1, -(2 ** 31)]) {
        const args = VALID.localAttention();
        args[6] = i32([1, 6], [0, 0, bad, 0, 0, 0]);
        await expect(call('localAttention', args)).rejects.toThrow(RangeError);
      }
    });
    it('rejects position ids outside the table without reading outside the weights', async () => {
      for (const bad of [-1, 8, 2 ** 31 - 1, -(2 ** 31)]) {
        const args = VALID.axialPositionEncoding();
        args[2] = i32([1, 5], [0, 1, bad, 3, 4]);
        await expect(call('axialPositionEncoding', args)).rejects.toThrow(RangeError);
      }
    });
  });

  describe('what an op keeps alive', () => {
    it('keeps the host memory it reads alive even when the descriptor hands out a fresh array per read', async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      const fresh = (shape: number[]): Descriptor => {
        const d: Descriptor = { dtype: 0, shape, device: -1 };
        Object.defineProperty(d, 'host', { get: () => new Float32Array(numel(shape)).fill(1), enumerable: true });
        return d;
      };
      const out = f32([1, 4, 64, 32]);
      const pending = native.denseAttention(as(fresh([1, 4, 64, 32])), as(fresh([1, 4, 256, 32])), as(fresh([1, 4, 256, 32])),
        as(out), { scale: 0.1, causal: false, layout: 'bhld' });
      for (let i = 0; i < 5; i++) gc?.();
      await pending;
      expect(Array.from((out.host as Float32Array).subarray(0, 4))).toEqual([1, 1, 1, 1]);
    });
  });

  describe('random malformed calls', () => {
    it('survives 3,000 calls with randomly malformed descriptors and options', async () => {
      const next = rng(0x5eed);
      const mutations = Object.entries(DESCRIPTOR_MUTATIONS);
      const ops = Object.keys(VALID) as Op[];
      for (let n = 0; n < 3000; n++) {
        const op = ops[Math.floor(next() * ops.length)]!;
        const args = VALID[op]();
        const i = Math.floor(next() * args.length);
        const [name, mutate] = mutations[Math.floor(next() * mutations.length)]!;
        if (OPTIONAL[op] === i && name === 'null') continue;
        args[i] = mutate(args[i]!) as Descriptor;
        expectThrowsCleanly(() => call(op, args));
      }
    });
  });
});
