import { describe, expect, it } from 'vitest';
import { axialPositionEncoding, fromHalf, Tensor, toBFloat16, toFloat16 } from '../lib/index.js';
import { forEachDevice, tensorOn } from './helpers/devices.js';
import { expectEqualArrays } from './helpers/compare.js';
import { randn } from './helpers/random.js';
import { axialReference } from './helpers/reference.js';
import { fixturesOfKind } from './helpers/safetensors.js';

describe('axialPositionEncoding', () => {
  forEachDevice((device) => {
    for (const fx of fixturesOfKind('axial')) {
      it(`matches fixture ${fx.name} exactly`, async () => {
        const { w0, w1, position_ids: ids, out } = fx.tensors;
        const result = await axialPositionEncoding(
          [await tensorOn(device, w0!.data, w0!.shape), await tensorOn(device, w1!.data, w1!.shape)],
          { positionIds: await tensorOn(device, ids!.data, ids!.shape) },
        );
        expect(result.shape).toEqual(out!.shape);
        expect(result.device).toBe(device === 'cpu' ? 'cpu' : 'cuda:0');
        expectEqualArrays(await result.data(), out!.data);
      });
    }

    it('defaults to positions 0..n0*n1-1 and honours length', async () => {
      const w0 = randn(3 * 4, 1), w1 = randn(5 * 2, 2);
      const tw = [await tensorOn(device, w0, [3, 4]), await tensorOn(device, w1, [5, 2])];
      const all = await axialPositionEncoding(tw);
      expect(all.shape).toEqual([1, 15, 6]);
      const ids = Int32Array.from({ length: 15 }, (_, i) => i);
      expectEqualArrays(await all.data(), axialReference(w0, [3, 4], w1, [5, 2], ids, 'reformer'));
      const some = await axialPositionEncoding(tw, { length: 7 });
      expectEqualArrays(await some.data(), axialReference(w0, [3, 4], w1, [5, 2], ids.subarray(0, 7), 'reformer'));
    });

    it('seed layout indexes the first weight by p mod n0', async () => {
      const w0 = randn(4 * 3, 3), w1 = randn(6 * 5, 4);
      const ids = Int32Array.from([0, 1, 4, 23, 5, 5, 17, 2]);
      const result = await axialPositionEncoding(
        [await tensorOn(device, w0, [4, 3]), await tensorOn(device, w1, [6, 5])],
        { positionIds: await tensorOn(device, ids, [2, 4]), layout: 'seed' },
      );
      expectEqualArrays(await result.data(), axialReference(w0, [4, 3], w1, [6, 5], ids, 'seed'));
    });

    for (const dtype of ['float16', 'bfloat16'] as const) {
      it(`gathers ${dtype} weights bit-exactly`, async () => {
        const w0 = randn(8 * 4, 5), w1 = randn(8 * 6, 6);
        const convert = dtype === 'float16' ? toFloat16 : toBFloat16;
        const h0 = Tensor.from(convert(w0), [8, 4], { dtype }), h1 = Tensor.from(convert(w1), [8, 6], { dtype });
        const ids = Int32Array.from([63, 0, 9, 9, 40]);
        const idsT = Tensor.from(ids, [1, 5]);
        const result = await axialPositionEncoding(
          device === 'cpu' ? [h0, h1] : [await h0.to(device), await h1.to(device)],
          { positionIds: device === 'cpu' ? idsT : await idsT.to(device) },
        );
        expect(result.dtype).toBe(dtype);
        const expected = axialReference(fromHalf(convert(w0), dtype), [8, 4], fromHalf(convert(w1), dtype), [8, 6], ids, 'reformer');
        expectEqualArrays(fromHalf((await result.data()) as Uint16Array, dtype), expected);
      });
    }

    it('rejects position ids outside the table', async () => {
      const tw = [await tensorOn(device, randn(4, 7), [2, 2]), await tensorOn(device, randn(6, 8), [3, 2])];
      const ids = await tensorOn(device, Int32Array.from([0, 6]), [1, 2]);
      await expect(axialPositionEncoding(tw, { positionIds: ids })).rejects.toThrow(RangeError);
      await expect(axialPositionEncoding(tw, { positionIds: ids })).rejects.toThrow(/positionIds/);
    });
  });

  describe('argument errors', () => {
    const w = () => [Tensor.from(new Float32Array(4), [2, 2]), Tensor.from(new Float32Array(6), [3, 2])];
    it('needs exactly two weights', async () => {
      await expect(axialPositionEncoding([w()[0]!])).rejects.toThrow(/exactly two tensors/);
      await expect(axialPositionEncoding('x' as never)).rejects.toThrow(TypeError);
    });
    it('rejects weights that are not 2-d float tensors', async () => {
      await expect(axialPositionEncoding([Tensor.from(new Float32Array(4), [4]), w()[1]!])).rejects.toThrow(
        /weights\[0\]\.shape \[4\] must have 2 dimensions/,
      );
      await expect(axialPositionEncoding([Tensor.from(new Int32Array(4), [2, 2]), w()[1]!])).rejects.toThrow(TypeError);
    });
    it('rejects bad options', async () => {
      await expect(axialPositionEncoding(w(), { layout: 'other' as never })).rejects.toThrow(/layout/);
      await expect(axialPositionEncoding(w(), { length: 7 })).rejects.toThrow(RangeError);
      await expect(axialPositionEncoding(w(), { length: 1.5 })).rejects.toThrow(TypeError);
      await expect(axialPositionEncoding(w(), { bogus: 1 } as never)).rejects.toThrow(/unknown option 'bogus'/);
      await expect(
        axialPositionEncoding(w(), { positionIds: Tensor.from(new Float32Array(2), [1, 2]) }),
      ).rejects.toThrow(/positionIds.dtype must be int32/);
      await expect(
        axialPositionEncoding(w(), { positionIds: Tensor.from(new Int32Array([-1]), [1, 1]) }),
      ).rejects.toThrow(/must be in \[0, 6\)/);
    });
  });
});
