// Every attention op reads and writes [B, L, H·D] ('blhd') in place: the same results as on
// [B, H, L, D], transposed.
import { describe, expect, it } from 'vitest';
import { denseAttention, localAttention, lshAttention, Tensor, toFloat16, type Device } from '../lib/index.js';
import { expectClose } from './helpers/compare.js';
import { forEachDevice, tensorOn, valuesOf } from './helpers/devices.js';
import { randn } from './helpers/random.js';
import { toTokenMajor } from './helpers/reference_reformer_local.js';

const [B, H, L, D] = [2, 3, 37, 16];
const SHAPE = [B, H, L, D], MERGED = [B, L, H * D], N = B * H * L * D;

async function expectSameAsTransposed(device: Device, bhld: Tensor, blhd: Tensor): Promise<void> {
  expect(blhd.shape).toEqual(MERGED);
  const expected = toTokenMajor(await valuesOf(bhld), SHAPE);
  const actual = await valuesOf(blhd);
  // The CPU kernels do the same arithmetic in both layouts; a GPU may order its sums otherwise.
  if (device === 'cpu') expect(Array.from(actual)).toEqual(Array.from(expected));
  else expectClose(actual, expected, 1e-6);
}

describe('layout blhd', () => {
  forEachDevice((device) => {
    const inputs = async (seed: number) => {
      const x = randn(N, seed);
      return { bhld: await tensorOn(device, x, SHAPE), blhd: await tensorOn(device, toTokenMajor(x, SHAPE), MERGED) };
    };

    it('denseAttention, causal, with fewer keys than queries', async () => {
      const q = await inputs(1);
      const Lk = 20, kv = randn(B * H * Lk * D, 2), kShape = [B, H, Lk, D];
      const k = await tensorOn(device, kv, kShape), kT = await tensorOn(device, toTokenMajor(kv, kShape), [B, Lk, H * D]);
      const vv = randn(B * H * Lk * D, 4), vT = await tensorOn(device, toTokenMajor(vv, kShape), [B, Lk, H * D]);
      const a = await denseAttention(q.bhld, k, await tensorOn(device, vv, kShape), { causal: true });
      const b = await denseAttention(q.blhd, kT, vT, { causal: true, layout: 'blhd', heads: H });
      await expectSameAsTransposed(device, a, b);
    });

    it('localAttention with global projections and a mask', async () => {
      const [q, k, v, qg, kg, vg] = await Promise.all([1, 2, 3, 4, 5, 6].map(inputs));
      const mask = new Int32Array(B * L);
      mask[3] = 1, mask[20] = 1, mask[L + 5] = 1, mask[L + 36] = -1, mask[L + 35] = -1;
      const m = await tensorOn(device, mask, [B, L]);
      const a = await localAttention(q!.bhld, k!.bhld, v!.bhld, { window: [4, 2], attentionMask: m, global: { q: qg!.bhld, k: kg!.bhld, v: vg!.bhld } });
      const b = await localAttention(q!.blhd, k!.blhd, v!.blhd, {
        window: [4, 2], attentionMask: m, global: { q: qg!.blhd, k: kg!.blhd, v: vg!.blhd }, layout: 'blhd', heads: H,
      });
      await expectSameAsTransposed(device, a, b);
    });

    it('lshAttention over several rounds, padded to whole chunks, with a padding mask', async () => {
      const qk = await inputs(1), v = await inputs(2);
      const rotations = await tensorOn(device, randn(H * D * 3 * 4, 7), [H, D, 3, 4]);
      const mask = new Int32Array(B * L).fill(1).fill(0, L + 30);
      const opts = { nHashes: 3, nBuckets: 8, chunkLength: 8, chunksBefore: 1, chunksAfter: 1, causal: true, rotations, paddingMask: await tensorOn(device, mask, [B, L]) };
      await expectSameAsTransposed(device, await lshAttention(qk.bhld, v.bhld, opts), await lshAttention(qk.blhd, v.blhd, { ...opts, layout: 'blhd', heads: H }));
    });

    it('half precision in place too (denseAttention, float16)', async () => {
      const x = randn(N, 9);
      const half = (data: Float32Array, shape: number[]) => {
        const t = Tensor.from(toFloat16(data), shape, { dtype: 'float16' });
        return device === 'cpu' ? t : t.to(device);
      };
      const a = await denseAttention(await half(x, SHAPE), await half(x, SHAPE), await half(x, SHAPE));
      const t = toTokenMajor(x, SHAPE);
      const b = await denseAttention(await half(t, MERGED), await half(t, MERGED), await half(t, MERGED), { layout: 'blhd', heads: H });
      await expectSameAsTransposed(device, a, b);
    });
  });

  it('checks the layout options of every op', async () => {
    const x = Tensor.from(new Float32Array(2 * 12), [1, 2, 12]);
    await expect(denseAttention(x, x, x, { layout: 'blhd' })).rejects.toThrow("denseAttention: opts.heads is required with layout 'blhd'");
    await expect(localAttention(x, x, x, { window: 1, layout: 'blhd', heads: 5 })).rejects.toThrow('localAttention: q.shape [1,2,12] must be [B, L, H·D] with H = opts.heads = 5');
    await expect(lshAttention(x, x, { nHashes: 1, nBuckets: 2, chunkLength: 4, layout: 'blhd', heads: 0 })).rejects.toThrow('lshAttention: opts.heads must be in [1,');
    await expect(denseAttention(x, x, x)).rejects.toThrow('denseAttention: q.shape [1,2,12] must have 4 dimensions [B, H, L, D]');
  });
});
