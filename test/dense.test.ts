import { describe, expect, it } from 'vitest';
import { denseAttention, fromHalf, Tensor, toBFloat16, toFloat16 } from '../lib/index.js';
import { expectClose, expectEqualArrays } from './helpers/compare.js';
import { forEachDevice, tensorOn } from './helpers/devices.js';
import { randn } from './helpers/random.js';
import { denseReference } from './helpers/reference.js';

const CASES: Array<[B: number, H: number, L: number, D: number]> = [
  [1, 1, 1, 1], [1, 2, 7, 3], [2, 1, 129, 64], [1, 1, 1000, 128], [1, 3, 65, 1],
];

describe('denseAttention', () => {
  forEachDevice((device) => {
    for (const [B, H, L, D] of CASES) {
      for (const causal of [false, true]) {
        it(`matches the float64 reference at B=${B} H=${H} L=${L} D=${D}${causal ? ' causal' : ''}`, async () => {
          const n = B * H * L * D, seed = L * 31 + D;
          const q = randn(n, seed), k = randn(n, seed + 1), v = randn(n, seed + 2);
          const out = await denseAttention(
            await tensorOn(device, q, [B, H, L, D]), await tensorOn(device, k, [B, H, L, D]),
            await tensorOn(device, v, [B, H, L, D]), { causal },
          );
          expect(out.shape).toEqual([B, H, L, D]);
          expectClose((await out.data()) as Float32Array, denseReference(q, k, v, [B, H, L, L, D], 1 / Math.sqrt(D), causal),
            device === 'cpu' ? 1e-5 : 1e-4);
        });
      }
    }

    it('attends across different query and key lengths with a custom scale', async () => {
      const [B, H, Lq, Lk, D] = [2, 2, 33, 71, 16];
      const q = randn(B * H * Lq * D, 1), k = randn(B * H * Lk * D, 2), v = randn(B * H * Lk * D, 3);
      const out = await denseAttention(
        await tensorOn(device, q, [B, H, Lq, D]), await tensorOn(device, k, [B, H, Lk, D]),
        await tensorOn(device, v, [B, H, Lk, D]), { scale: 0.37 },
      );
      expectClose((await out.data()) as Float32Array, denseReference(q, k, v, [B, H, Lq, Lk, D], 0.37, false), 1e-5);
    });

    // Several query tiles and key tiles, the causal diagonal crossing key tiles at odd offsets,
    // with more queries than keys and more keys than queries.
    for (const [Lq, Lk] of [[300, 1100], [1100, 300]]) {
      it(`attends causally with Lq = ${Lq} and Lk = ${Lk}: query i sees keys 0..min(i, Lk - 1)`, async () => {
        const [B, H, D] = [1, 2, 24];
        const q = randn(B * H * Lq * D, 4), k = randn(B * H * Lk * D, 5), v = randn(B * H * Lk * D, 6);
        const out = await denseAttention(
          await tensorOn(device, q, [B, H, Lq, D]), await tensorOn(device, k, [B, H, Lk, D]),
          await tensorOn(device, v, [B, H, Lk, D]), { causal: true },
        );
        expectClose((await out.data()) as Float32Array, denseReference(q, k, v, [B, H, Lq, Lk, D], 1 / Math.sqrt(D), true),
          device === 'cpu' ? 1e-5 : 1e-4);
      });
    }

    // B·H = 65536 slices, one past what a grid's y dimension holds. L = D = 1 keeps the call
    // (65536 blocks of one query tile each on CUDA) as cheap as the proof allows; with one key
    // the output is v exactly.
    it('runs more than 65535 batch·head slices in one call (B·H = 65536)', async () => {
      const [B, H] = [1024, 64];
      const q = randn(B * H, 41), k = randn(B * H, 42), v = randn(B * H, 43);
      const out = await denseAttention(
        await tensorOn(device, q, [B, H, 1, 1]), await tensorOn(device, k, [B, H, 1, 1]),
        await tensorOn(device, v, [B, H, 1, 1]),
      );
      expectEqualArrays((await out.data()) as Float32Array, v);
    });

    for (const dtype of ['float16', 'bfloat16'] as const) {
      it(`takes ${dtype} inputs and returns ${dtype} within 1e-2 of float32`, async () => {
        const [B, H, L, D] = [1, 2, 100, 32];
        const n = B * H * L * D;
        const convert = dtype === 'float16' ? toFloat16 : toBFloat16;
        const [q, k, v] = [randn(n, 4), randn(n, 5), randn(n, 6)].map((x) => fromHalf(convert(x), dtype)) as [Float32Array, Float32Array, Float32Array];
        const half = async (x: Float32Array) => {
          const t = Tensor.from(convert(x), [B, H, L, D], { dtype });
          return device === 'cpu' ? t : t.to(device);
        };
        const out = await denseAttention(await half(q), await half(k), await half(v), { causal: true });
        expect(out.dtype).toBe(dtype);
        const values = fromHalf((await out.data()) as Uint16Array, dtype);
        expectClose(values, denseReference(q, k, v, [B, H, L, L, D], 1 / Math.sqrt(D), true), 1e-2);
      });
    }

    // D = 64 and 128 in half precision take the tensor-core kernel on CUDA: partial query and
    // key tiles, causal tiles across the diagonal, Lq != Lk, and a negative scale.
    const MMA_CASES: Array<[B: number, H: number, Lq: number, Lk: number, D: number, causal: boolean, scale?: number]> = [
      [1, 2, 128, 128, 64, false], [2, 1, 200, 200, 64, true], [1, 1, 77, 300, 64, false],
      [1, 2, 333, 333, 128, true], [1, 1, 300, 45, 128, true], [1, 1, 129, 257, 128, false, -0.05],
    ];
    for (const dtype of ['float16', 'bfloat16'] as const) {
      for (const [B, H, Lq, Lk, D, causal, scale] of MMA_CASES) {
        it(`${dtype} B=${B} H=${H} Lq=${Lq} Lk=${Lk} D=${D}${causal ? ' causal' : ''}${scale ? ` scale=${scale}` : ''} is within 1e-2 of float64`, async () => {
          const convert = dtype === 'float16' ? toFloat16 : toBFloat16;
          const seed = Lq * 7 + Lk + D;
          const [q, k, v] = [randn(B * H * Lq * D, seed), randn(B * H * Lk * D, seed + 1), randn(B * H * Lk * D, seed + 2)]
            .map((x) => fromHalf(convert(x), dtype)) as [Float32Array, Float32Array, Float32Array];
          const half = async (x: Float32Array, L: number) => {
            const t = Tensor.from(convert(x), [B, H, L, D], { dtype });
            return device === 'cpu' ? t : t.to(device);
          };
          const out = await denseAttention(await half(q, Lq), await half(k, Lk), await half(v, Lk), { causal, scale });
          const values = fromHalf((await out.data()) as Uint16Array, dtype);
          expectClose(values, denseReference(q, k, v, [B, H, Lq, Lk, D], scale ?? 1 / Math.sqrt(D), causal), 1e-2);
        });
      }
    }
  });

  describe('argument errors', () => {
    const t = (shape: number[]) => Tensor.from(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    it('names the argument, the expected and the actual shape', async () => {
      await expect(denseAttention(t([1, 2, 8, 4]), t([1, 2, 8, 3]), t([1, 2, 8, 3]))).rejects.toThrow(
        'denseAttention: k.shape [1,2,8,3] must equal [B,H,Lk,D] of q [1,2,8,4]',
      );
      await expect(denseAttention(t([1, 2, 8, 4]), t([1, 2, 8, 4]), t([1, 2, 9, 4]))).rejects.toThrow(
        'denseAttention: v.shape [1,2,9,4] must equal k.shape [1,2,8,4]',
      );
      await expect(denseAttention(t([2, 8, 4]), t([1, 2, 8, 4]), t([1, 2, 8, 4]))).rejects.toThrow(RangeError);
    });
    it('rejects non-tensors, int32 tensors, mixed dtypes and bad options', async () => {
      const q = t([1, 1, 4, 4]);
      await expect(denseAttention(q, {} as never, q)).rejects.toThrow(/k must be a Tensor/);
      const ints = Tensor.from(new Int32Array(16), [1, 1, 4, 4]);
      await expect(denseAttention(ints, ints, ints)).rejects.toThrow(TypeError);
      const half = Tensor.from(new Uint16Array(16), [1, 1, 4, 4], { dtype: 'float16' });
      await expect(denseAttention(q, half, half)).rejects.toThrow(/k.dtype 'float16' must equal q.dtype 'float32'/);
      await expect(denseAttention(q, q, q, { scale: NaN })).rejects.toThrow(RangeError);
      await expect(denseAttention(q, q, q, { causal: 1 as never })).rejects.toThrow(TypeError);
      await expect(denseAttention(q, q, q, { window: 3 } as never)).rejects.toThrow(/unknown option 'window'/);
      await expect(denseAttention(q, q, q, { signal: 'x' as never })).rejects.toThrow(/signal/);
    });
    it('rejects a disposed input with DISPOSED', async () => {
      const q = t([1, 1, 4, 4]);
      q.dispose();
      await expect(denseAttention(q, q, q)).rejects.toMatchObject({ name: 'AttentionError', code: 'DISPOSED' });
    });
    it('rejects an aborted signal with ABORTED before any work', async () => {
      const q = t([1, 1, 4, 4]);
      await expect(denseAttention(q, q, q, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    });
  });
});
