// Argument validation of the public API, case by case (the fuzz tests sweep the same rules at
// random): every argument is checked before any native call, and the error names the
// function, the argument, the expected and the actual value.
import { describe, expect, it } from 'vitest';
import { axialPositionEncoding, denseAttention, localAttention, Tensor } from '../lib/index.js';
import { hasCuda } from './helpers/devices.js';

const f32 = (shape: number[]) => Tensor.from(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);

describe('arguments', () => {
  describe('null is not the same as an absent option', () => {
    it('rejects opts.layout null', async () => {
      await expect(axialPositionEncoding([f32([2, 2]), f32([2, 2])], { layout: null as never })).rejects.toThrow(
        "axialPositionEncoding: opts.layout must be 'reformer' or 'seed', got null",
      );
    });
    it('rejects opts.dtype null', () => {
      expect(() => Tensor.from(new Float32Array(1), [1], { dtype: null as never })).toThrow(/opts.dtype must be one of/);
    });
  });

  describe('options objects', () => {
    it('must be plain objects', async () => {
      const q = f32([1, 1, 2, 2]);
      for (const opts of [new Map(), [], new Date(), Object(true)])
        await expect(denseAttention(q, q, q, opts as never)).rejects.toThrow(/denseAttention: opts must be an object \(a plain/);
      await expect(denseAttention(q, q, q, Object.create(null))).resolves.toBeInstanceOf(Tensor);
    });
  });

  describe('tensors', () => {
    it('rejects an object that only pretends to be a Tensor', async () => {
      const forged = Object.create(Tensor.prototype);
      await expect(denseAttention(forged, forged, forged)).rejects.toThrow('denseAttention: q must be a Tensor, got a Tensor');
    });
    it('rejects data on a resizable ArrayBuffer, which could shrink under a running kernel', () => {
      const buffer = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(16, { maxByteLength: 64 });
      expect(() => Tensor.from(new Float32Array(buffer), [4])).toThrow(/resizable/);
    });
    it('keeps the shape it validated, whatever the caller does to its array afterwards', () => {
      const shape = [2, 3];
      const t = Tensor.from(new Float32Array(6), shape);
      shape[0] = 1000;
      expect(t.shape).toEqual([2, 3]);
      let reads = 0;
      const tricky = [2, 3];
      Object.defineProperty(tricky, 0, { get: () => (reads++ === 0 ? 2 : 1000) });
      expect(Tensor.from(new Float32Array(6), tricky).shape).toEqual([2, 3]);
    });
    it('rejects more than 8 dimensions and non-numeric dimensions', () => {
      expect(() => Tensor.from(new Float32Array(1), [1, 1, 1, 1, 1, 1, 1, 1, 1])).toThrow(RangeError);
      expect(() => Tensor.from(new Float32Array(1), ['1' as never])).toThrow(TypeError);
    });
  });

  describe.skipIf(!hasCuda)(hasCuda ? 'devices' : 'devices (skipped: no CUDA device on this machine)', () => {
    it('rejects inputs on different devices, naming both', async () => {
      const cpu = f32([1, 1, 4, 4]), gpu = await cpu.to('cuda');
      await expect(denseAttention(cpu, gpu, gpu)).rejects.toThrow('denseAttention: k is on cuda:0 but q is on cpu; move them to one device');
      await expect(localAttention(gpu, gpu, cpu, { window: 1 })).rejects.toThrow(/localAttention: v is on cpu but q is on cuda:0/);
      const ids = Tensor.from(new Int32Array([0, 1]), [1, 2]);
      await expect(axialPositionEncoding([await f32([2, 2]).to('cuda'), await f32([2, 2]).to('cuda')], { positionIds: ids }))
        .rejects.toThrow(/opts.positionIds is on cpu but weights\[0\] is on cuda:0/);
    });
  });

  describe('sizes', () => {
    it('rejects an output whose element count exceeds 32-bit indexing, before allocating it', async () => {
      const w0 = f32([65536, 1]), w1 = f32([65536, 1]);
      await expect(axialPositionEncoding([w0, w1], { length: 2 ** 30 })).rejects.toThrow(
        /axialPositionEncoding: .*more than 32-bit indexing allows/,
      );
    });
    it('rejects a scale that does not fit a float32', async () => {
      const q = f32([1, 1, 2, 2]);
      await expect(denseAttention(q, q, q, { scale: 1e39 })).rejects.toThrow('denseAttention: opts.scale must fit a float32 (|x| <= 3.4e38), got 1e+39');
    });
  });

  describe('empty tensors', () => {
    it('denseAttention returns empty outputs for empty batches, heads, queries and head dimensions', async () => {
      for (const [q, k] of [[[0, 2, 3, 4], [0, 2, 5, 4]], [[1, 0, 3, 4], [1, 0, 5, 4]], [[1, 2, 0, 4], [1, 2, 0, 4]], [[1, 2, 3, 0], [1, 2, 5, 0]]]) {
        const out = await denseAttention(f32(q!), f32(k!), f32(k!));
        expect(out.shape).toEqual(q);
      }
    });
    it('axialPositionEncoding accepts empty position ids and zero-width weights', async () => {
      const ids = Tensor.from(new Int32Array(0), [0, 5]);
      expect((await axialPositionEncoding([f32([2, 3]), f32([4, 1])], { positionIds: ids })).shape).toEqual([0, 5, 4]);
      expect((await axialPositionEncoding([f32([2, 0]), f32([4, 0])])).shape).toEqual([1, 8, 0]);
    });
  });
});
