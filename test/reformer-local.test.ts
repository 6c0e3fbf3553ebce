import { describe, expect, it } from 'vitest';
import { fromHalf, reformerLocalAttention, Tensor, toBFloat16, toFloat16 } from '../lib/index.js';
import { expectClose } from './helpers/compare.js';
import { forEachDevice, tensorOn, valuesOf } from './helpers/devices.js';
import { randn, rng } from './helpers/random.js';
import { reformerLocalReference, toTokenMajor, type ReformerLocalCase } from './helpers/reference_reformer_local.js';

interface Case extends ReformerLocalCase {
  name: string;
}

function trailingPadding(B: number, L: number, padded: number[]): Int32Array {
  const mask = new Int32Array(B * L).fill(1);
  padded.forEach((n, b) => mask.fill(0, b * L + L - n, (b + 1) * L));
  return mask;
}

function scatteredPadding(B: number, L: number, count: number, seed: number): Int32Array {
  const next = rng(seed), mask = new Int32Array(B * L).fill(1);
  for (let i = 0; i < count; i++) mask[Math.floor(next() * B * L)] = 0;
  return mask;
}

const CASES: Case[] = [
  { name: 'L = 1', B: 1, H: 1, L: 1, D: 4, chunkLength: 8, chunksBefore: 1, chunksAfter: 0, causal: false },
  { name: 'L < chunkLength: full attention, causal', B: 2, H: 2, L: 7, D: 8, chunkLength: 8, chunksBefore: 1, chunksAfter: 0, causal: true },
  { name: 'L = chunkLength with padding: full attention', B: 2, H: 1, L: 16, D: 8, chunkLength: 16, chunksBefore: 1, chunksAfter: 1, causal: false, mask: trailingPadding(2, 16, [0, 5]) },
  { name: 'four chunks, one before (the first sees the last)', B: 1, H: 2, L: 64, D: 16, chunkLength: 16, chunksBefore: 1, chunksAfter: 0, causal: false },
  { name: 'four chunks, causal: wrapped keys are later, hence masked', B: 1, H: 2, L: 64, D: 16, chunkLength: 16, chunksBefore: 1, chunksAfter: 0, causal: true },
  { name: 'before and after, padding in one row', B: 2, H: 2, L: 48, D: 16, chunkLength: 8, chunksBefore: 1, chunksAfter: 1, causal: false, mask: trailingPadding(2, 48, [0, 7]) },
  { name: 'L not a multiple of chunkLength: padded at the end', B: 2, H: 3, L: 37, D: 5, chunkLength: 8, chunksBefore: 2, chunksAfter: 1, causal: false, mask: scatteredPadding(2, 37, 6, 3) },
  { name: 'fewer chunks than neighbours: repeated chunks counted', B: 1, H: 1, L: 24, D: 8, chunkLength: 8, chunksBefore: 3, chunksAfter: 2, causal: false },
  { name: 'no neighbours: attention inside each chunk only, causal', B: 1, H: 2, L: 40, D: 32, chunkLength: 8, chunksBefore: 0, chunksAfter: 0, causal: true },
  { name: 'long chunks of 128, D = 64', B: 1, H: 2, L: 300, D: 64, chunkLength: 128, chunksBefore: 1, chunksAfter: 1, causal: true, mask: scatteredPadding(1, 300, 20, 9) },
];

describe('reformerLocalAttention', () => {
  forEachDevice((device) => {
    for (const c of CASES) {
      it(`matches the float64 reference: ${c.name}`, async () => {
        const shape = [c.B, c.H, c.L, c.D], n = c.B * c.H * c.L * c.D;
        const q = randn(n, c.L + 1), k = randn(n, c.L + 2), v = randn(n, c.L + 3);
        const out = await reformerLocalAttention(await tensorOn(device, q, shape), await tensorOn(device, k, shape), await tensorOn(device, v, shape), {
          chunkLength: c.chunkLength, chunksBefore: c.chunksBefore, chunksAfter: c.chunksAfter, causal: c.causal,
          paddingMask: c.mask && (await tensorOn(device, c.mask, [c.B, c.L])),
        });
        expect(out.shape).toEqual(shape);
        expectClose(await valuesOf(out), reformerLocalReference(q, k, v, c), 1e-5);
      });

      it(`reads and writes [B, L, H·D] in place: ${c.name}`, async () => {
        const shape = [c.B, c.H, c.L, c.D], n = c.B * c.H * c.L * c.D, merged = [c.B, c.L, c.H * c.D];
        const q = randn(n, c.L + 1), k = randn(n, c.L + 2), v = randn(n, c.L + 3);
        const opts = { chunkLength: c.chunkLength, chunksBefore: c.chunksBefore, chunksAfter: c.chunksAfter, causal: c.causal };
        const mask = c.mask && (await tensorOn(device, c.mask, [c.B, c.L]));
        const bhld = await reformerLocalAttention(await tensorOn(device, q, shape), await tensorOn(device, k, shape), await tensorOn(device, v, shape), { ...opts, paddingMask: mask });
        const t = (x: Float32Array) => tensorOn(device, toTokenMajor(x, shape), merged);
        const blhd = await reformerLocalAttention(await t(q), await t(k), await t(v), { ...opts, paddingMask: mask, layout: 'blhd', heads: c.H });
        expect(blhd.shape).toEqual(merged);
        expect(Array.from(await valuesOf(blhd))).toEqual(Array.from(toTokenMajor(await valuesOf(bhld), shape)));
      });
    }

    for (const dtype of ['float16', 'bfloat16'] as const) {
      it(`takes ${dtype} and returns ${dtype} within 1e-2 of the reference`, async () => {
        const c = CASES[5]!, shape = [c.B, c.H, c.L, c.D], n = c.B * c.H * c.L * c.D;
        const convert = dtype === 'float16' ? toFloat16 : toBFloat16;
        const [q, k, v] = [randn(n, 1), randn(n, 2), randn(n, 3)].map((x) => fromHalf(convert(x), dtype)) as [Float32Array, Float32Array, Float32Array];
        const half = async (x: Float32Array) => {
          const t = Tensor.from(convert(x), shape, { dtype });
          return device === 'cpu' ? t : t.to(device);
        };
        const out = await reformerLocalAttention(await half(q), await half(k), await half(v), {
          chunkLength: c.chunkLength, chunksBefore: 1, chunksAfter: 1, paddingMask: await tensorOn(device, c.mask!, [c.B, c.L]),
        });
        expect(out.dtype).toBe(dtype);
        expectClose(await valuesOf(out), reformerLocalReference(q, k, v, { ...c, causal: false }), 1e-2);
      });
    }
  });

  describe('arguments', () => {
    const x = Tensor.from(new Float32Array(2 * 3 * 8), [1, 2, 3, 8]);
    it('requires chunkLength and checks the chunk options', async () => {
      await expect(reformerLocalAttention(x, x, x, {} as never)).rejects.toThrow('reformerLocalAttention: opts.chunkLength is required');
      await expect(reformerLocalAttention(x, x, x, { chunkLength: 0 })).rejects.toThrow('reformerLocalAttention: opts.chunkLength must be in [1,');
      await expect(reformerLocalAttention(x, x, x, { chunkLength: 2, chunksBefore: -1 })).rejects.toThrow(RangeError);
      await expect(reformerLocalAttention(x, x, x, { chunkLength: 2, causal: 1 as never })).rejects.toThrow(TypeError);
    });
    it('checks the padding mask', async () => {
      const bad = Tensor.from(Int32Array.from([1, 2, 1]), [1, 3]);
      await expect(reformerLocalAttention(x, x, x, { chunkLength: 2, paddingMask: bad })).rejects.toThrow('reformerLocalAttention: opts.paddingMask[0,1] = 2 must be 0 or 1');
    });
    it('checks the layout and heads', async () => {
      const merged = Tensor.from(new Float32Array(3 * 16), [1, 3, 16]);
      await expect(reformerLocalAttention(merged, merged, merged, { chunkLength: 2, layout: 'blhd' })).rejects.toThrow("reformerLocalAttention: opts.heads is required with layout 'blhd'");
      await expect(reformerLocalAttention(merged, merged, merged, { chunkLength: 2, layout: 'blhd', heads: 3 })).rejects.toThrow('reformerLocalAttention: q.shape [1,3,16] must be [B, L, H·D] with H = opts.heads = 3');
      await expect(reformerLocalAttention(x, x, x, { chunkLength: 2, heads: 2 })).rejects.toThrow("reformerLocalAttention: opts.heads applies only to layout 'blhd'");
      await expect(reformerLocalAttention(x, x, x, { chunkLength: 2, layout: 'bhdl' as never })).rejects.toThrow(TypeError);
    });
  });
});
