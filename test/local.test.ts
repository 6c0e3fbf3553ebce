import { describe, expect, it } from 'vitest';
import {
  AttentionError, denseAttention, fromHalf, localAttention, Tensor, toBFloat16, toFloat16, type Device,
} from '../lib/index.js';
import { expectClose } from './helpers/compare.js';
import { forEachDevice, tensorOn, valuesOf } from './helpers/devices.js';
import { randn } from './helpers/random.js';
import { localReference, type LocalCase } from './helpers/reference_local.js';
import { fixturesOfKind } from './helpers/safetensors.js';

const PADDING = -1, GLOBAL = 1;

/** The mask of one batch row: the listed tokens are global or padding, the rest local. */
interface RowRoles {
  globals?: number[];
  padding?: number[];
}

interface RandomCase {
  name: string;
  shape: [B: number, H: number, L: number, D: number];
  window: number | [number, number];
  rows?: RowRoles[];  // one per batch row; absent: no attention mask
  scale?: number;
}

const range = (from: number, to: number, step = 1) =>
  Array.from({ length: Math.ceil((to - from) / step) }, (_, i) => from + i * step);

function maskOf(rows: RowRoles[], L: number): Int32Array {
  const mask = new Int32Array(rows.length * L);
  rows.forEach((r, b) => {
    for (const t of r.globals ?? []) mask[b * L + t] = GLOBAL;
    for (const t of r.padding ?? []) mask[b * L + t] = PADDING;
  });
  return mask;
}

function randomInputs(c: RandomCase, seed: number): LocalCase {
  const [B, H, L, D] = c.shape;
  const n = B * H * L * D;
  const [left, right] = typeof c.window === 'number' ? [c.window, c.window] : c.window;
  return {
    shape: c.shape,
    q: randn(n, seed), k: randn(n, seed + 1), v: randn(n, seed + 2),
    qGlobal: randn(n, seed + 3), kGlobal: randn(n, seed + 4), vGlobal: randn(n, seed + 5),
    mask: c.rows ? maskOf(c.rows, L) : undefined,
    left, right,
    scale: c.scale ?? 1 / Math.sqrt(D),
  };
}

async function runOn(device: Device, x: LocalCase, window: number | [number, number], scale?: number): Promise<Tensor> {
  const t = (data: Float32Array) => tensorOn(device, data, x.shape);
  const [B, , L] = x.shape;
  return localAttention(await t(x.q), await t(x.k), await t(x.v), {
    window,
    attentionMask: x.mask ? await tensorOn(device, x.mask, [B, L]) : undefined,
    global: { q: await t(x.qGlobal), k: await t(x.kGlobal), v: await t(x.vGlobal) },
    ...(scale === undefined ? {} : { scale }),
  });
}

const RANDOM_CASES: RandomCase[] = [
  { name: 'L = 1 with window 0 attends to itself', shape: [1, 1, 1, 4], window: 0 },
  { name: 'L = 1 with its only token global', shape: [1, 2, 1, 4], window: 3, rows: [{ globals: [0] }] },
  { name: 'L = 2, window 1, trailing padding', shape: [1, 1, 2, 5], window: 1, rows: [{ padding: [1] }] },
  { name: 'L = 5, window 0 sees itself and the global columns', shape: [1, 2, 5, 8], window: 0, rows: [{ globals: [2] }] },
  { name: 'L = 5, causal [2, 0], head dim 1', shape: [1, 2, 5, 1], window: [2, 0] },
  { name: 'L = 5, every token global', shape: [1, 2, 5, 8], window: 1, rows: [{ globals: range(0, 5) }] },
  { name: 'L = window - 1', shape: [1, 2, 7, 16], window: 8, rows: [{ globals: [3], padding: [6] }] },
  { name: 'L = window + 1', shape: [1, 2, 9, 16], window: 8, rows: [{ padding: [0, 4] }] },
  {
    name: 'L = full window width - 1, scattered padding',
    shape: [1, 2, 16, 16], window: 8, rows: [{ globals: [15], padding: [2, 9] }],
  },
  {
    name: 'L = full window width + 1, scattered padding',
    shape: [1, 2, 18, 16], window: 8, rows: [{ globals: [0], padding: [5, 17] }],
  },
  {
    name: 'window 1, batch rows with different masks: many globals and none',
    shape: [2, 2, 33, 8], window: 1, rows: [{ globals: [0, 5, 6, 20, 32], padding: [3, 4] }, {}],
  },
  {
    name: 'window 3, scattered padding and globals, a custom scale',
    shape: [2, 3, 40, 12], window: 3, scale: 0.3,
    rows: [{ globals: [1, 17], padding: [0, 8, 9, 30] }, { globals: [39], padding: range(33, 39) }],
  },
  {
    name: 'window 256, L = 1000, one global, trailing padding',
    shape: [1, 2, 1000, 16], window: 256, rows: [{ globals: [0], padding: range(950, 1000) }],
  },
  {
    name: 'window >= L is full attention over the non-padding keys',
    shape: [2, 2, 30, 16], window: 50, rows: [{ globals: [4, 11], padding: [0, 7, 29] }, { padding: range(20, 30) }],
  },
  { name: 'a window of 2^31 - 1 clamps to the sequence', shape: [1, 1, 20, 8], window: 2 ** 31 - 1, rows: [{ globals: [19] }] },
  {
    name: 'asymmetric window [5, 2]',
    shape: [2, 2, 64, 32], window: [5, 2], rows: [{ globals: [3, 40] }, { globals: [0], padding: range(54, 64) }],
  },
  { name: 'asymmetric window [0, 3] looks ahead only', shape: [1, 2, 50, 8], window: [0, 3], rows: [{ padding: [10, 11] }] },
  { name: 'causal [16, 0] with a global token', shape: [1, 2, 100, 64], window: [16, 0], rows: [{ globals: [50] }] },
  { name: 'batch rows with all tokens global and none', shape: [2, 2, 12, 8], window: 2, rows: [{ globals: range(0, 12) }, {}] },
  {
    name: 'many globals (every third token), scattered padding, odd head dim',
    shape: [1, 2, 200, 33], window: 4, rows: [{ globals: range(0, 200, 3), padding: range(1, 200, 7) }],
  },
  {
    name: 'mostly padding: three real tokens, one of them global',
    shape: [1, 1, 70, 16], window: 6, rows: [{ globals: [10], padding: range(0, 70).filter((t) => ![10, 11, 40].includes(t)) }],
  },
  {
    name: 'a band wider than a key tile: window [400, 333], globals and padding inside it',
    shape: [1, 2, 1500, 16], window: [400, 333], rows: [{ globals: [0, 777], padding: [5, 640, 641, 1499] }],
  },
  {
    name: 'query tiles that hold only global and padding tokens',
    shape: [1, 2, 160, 16], window: 10, rows: [{ globals: range(0, 64), padding: range(64, 128) }],
  },
];

describe('localAttention', () => {
  it('the float64 reference reproduces every local fixture', () => {
    for (const fx of fixturesOfKind('local')) {
      const t = fx.tensors, w = fx.config.one_sided as number;
      const ref = localReference({
        shape: t.q!.shape as LocalCase['shape'],
        q: t.q!.data as Float32Array, k: t.k!.data as Float32Array, v: t.v!.data as Float32Array,
        qGlobal: t.q_global!.data as Float32Array,
        kGlobal: t.k_global!.data as Float32Array,
        vGlobal: t.v_global!.data as Float32Array,
        mask: t.attention_mask!.data as Int32Array, left: w, right: w, scale: 1 / Math.sqrt(t.q!.shape[3]!),
      });
      expectClose(ref, t.out!.data, 1e-6);
    }
  });

  forEachDevice((device) => {
    const tolerance = device === 'cpu' ? 1e-5 : 1e-4;

    for (const fx of fixturesOfKind('local')) {
      it(`matches fixture ${fx.name}`, async () => {
        const t = fx.tensors;
        const on = (name: string) => tensorOn(device, t[name]!.data, t[name]!.shape);
        const result = await localAttention(await on('q'), await on('k'), await on('v'), {
          window: fx.config.one_sided,
          attentionMask: await on('attention_mask'),
          global: { q: await on('q_global'), k: await on('k_global'), v: await on('v_global') },
        });
        expect(result.shape).toEqual(t.out!.shape);
        expect(result.device).toBe(device === 'cpu' ? 'cpu' : 'cuda:0');
        expectClose(await valuesOf(result), t.out!.data, tolerance);
      });
    }

    RANDOM_CASES.forEach((c, i) => {
      it(`matches the float64 reference: ${c.name}`, async () => {
        const x = randomInputs(c, 100 + 10 * i);
        const result = await runOn(device, x, c.window, c.scale);
        expectClose(await valuesOf(result), localReference(x), tolerance);
      });
    });

    it('uses q, k, v for global attention when opts.global is absent', async () => {
      const x = randomInputs({ name: '', shape: [1, 2, 40, 16], window: 4, rows: [{ globals: [0, 21], padding: [39] }] }, 7);
      x.qGlobal = x.q;
      x.kGlobal = x.k;
      x.vGlobal = x.v;
      const t = (data: Float32Array) => tensorOn(device, data, x.shape);
      const result = await localAttention(await t(x.q), await t(x.k), await t(x.v), {
        window: 4, attentionMask: await tensorOn(device, x.mask!, [1, 40]),
      });
      expectClose(await valuesOf(result), localReference(x), tolerance);
    });

    it('equals denseAttention when the window covers the sequence and there is no mask', async () => {
      const x = randomInputs({ name: '', shape: [1, 2, 70, 32], window: 69 }, 8);
      const t = (data: Float32Array) => tensorOn(device, data, x.shape);
      const [q, k, v] = [await t(x.q), await t(x.k), await t(x.v)];
      const local = await localAttention(q, k, v, { window: 69 });
      expectClose(await valuesOf(local), await valuesOf(await denseAttention(q, k, v)), tolerance);
    });

    for (const dtype of ['float16', 'bfloat16'] as const) {
      it(`computes ${dtype} inputs with float32 accumulation (1e-2 of the reference)`, async () => {
        const c: RandomCase = {
          name: '', shape: [2, 2, 300, 64], window: 32,
          rows: [{ globals: [0, 150], padding: range(290, 300) }, { padding: [7, 8] }],
        };
        const x = randomInputs(c, 9);
        const convert = dtype === 'float16' ? toFloat16 : toBFloat16;
        const half = (data: Float32Array) => convert(data);
        const widened = (data: Float32Array) => fromHalf(half(data), dtype);
        const onDevice = async (data: Float32Array) => {
          const h = Tensor.from(half(data), x.shape, { dtype });
          return device === 'cpu' ? h : h.to(device);
        };
        const result = await localAttention(await onDevice(x.q), await onDevice(x.k), await onDevice(x.v), {
          window: 32,
          attentionMask: await tensorOn(device, x.mask!, [2, 300]),
          global: { q: await onDevice(x.qGlobal), k: await onDevice(x.kGlobal), v: await onDevice(x.vGlobal) },
        });
        expect(result.dtype).toBe(dtype);
        const reference = localReference({
          ...x, q: widened(x.q), k: widened(x.k), v: widened(x.v),
          qGlobal: widened(x.qGlobal), kGlobal: widened(x.kGlobal), vGlobal: widened(x.vGlobal),
        });
        expectClose(await valuesOf(result), reference, 1e-2);
      });
    }

    // Half precision at D = 64 and 128 takes the tensor-core band kernel on CUDA: more global
    // columns than one key tile, causal and one-sided windows, no mask, a negative scale.
    const MMA_CASES: RandomCase[] = [
      { name: '70 globals, window 100', shape: [1, 2, 700, 64], window: 100, rows: [{ globals: range(0, 700, 10), padding: range(690, 700) }] },
      { name: 'D=128, causal [64, 0], two batch rows', shape: [2, 1, 333, 128], window: [64, 0],
        rows: [{ globals: [5, 300] }, { padding: range(200, 333) }] },
      { name: 'window [3, 40] without a mask', shape: [1, 2, 257, 64], window: [3, 40] },
      { name: 'D=128, window 256 over 1000 tokens, a negative scale', shape: [1, 1, 1000, 128], window: 256,
        rows: [{ globals: [0] }], scale: -0.1 },
    ];
    for (const dtype of ['float16', 'bfloat16'] as const) {
      for (const c of MMA_CASES) {
        it(`${dtype}: ${c.name} is within 1e-2 of the float64 reference`, async () => {
          const x = randomInputs(c, 12);
          const convert = dtype === 'float16' ? toFloat16 : toBFloat16;
          const widened = (data: Float32Array) => fromHalf(convert(data), dtype);
          const onDevice = async (data: Float32Array) => {
            const h = Tensor.from(convert(data), x.shape, { dtype });
            return device === 'cpu' ? h : h.to(device);
          };
          const [B, , L] = x.shape;
          const result = await localAttention(await onDevice(x.q), await onDevice(x.k), await onDevice(x.v), {
            window: c.window,
            attentionMask: x.mask ? await tensorOn(device, x.mask, [B, L]) : undefined,
            global: { q: await onDevice(x.qGlobal), k: await onDevice(x.kGlobal), v: await onDevice(x.vGlobal) },
            ...(c.scale === undefined ? {} : { scale: c.scale }),
          });
          const reference = localReference({
            ...x, q: widened(x.q), k: widened(x.k), v: widened(x.v),
            qGlobal: widened(x.qGlobal), kGlobal: widened(x.kGlobal), vGlobal: widened(x.vGlobal),
          });
          expectClose(await valuesOf(result), reference, 1e-2);
        });
      }
    }

    it('rejects attention mask values other than -1, 0 and 1', async () => {
      const x = randomInputs({ name: '', shape: [1, 1, 6, 4], window: 1 }, 10);
      const t = (data: Float32Array) => tensorOn(device, data, x.shape);
      const mask = await tensorOn(device, Int32Array.from([0, 0, 0, 2, 0, 0]), [1, 6]);
      await expect(localAttention(await t(x.q), await t(x.k), await t(x.v), { window: 1, attentionMask: mask })).rejects.toThrow(
        RangeError,
      );
    });
  });

  describe('argument errors', () => {
    const shape = [1, 2, 8, 4];
    const f = (s = shape) => Tensor.from(new Float32Array(s.reduce((a, b) => a * b, 1)), s);
    const qkv = () => [f(), f(), f()] as const;
    const call = (opts: unknown) => localAttention(...qkv(), opts as never);

    it('needs a window that is a non-negative integer or a pair of them', async () => {
      await expect(call(undefined)).rejects.toThrow(/opts must be an object/);
      await expect(call({})).rejects.toThrow(/opts.window is required/);
      await expect(call({ window: -1 })).rejects.toThrow(RangeError);
      await expect(call({ window: -1 })).rejects.toThrow(/opts.window must be in \[0, 2147483647\], got -1/);
      await expect(call({ window: 1.5 })).rejects.toThrow(/opts.window must be an integer, got 1.5/);
      await expect(call({ window: NaN })).rejects.toThrow(TypeError);
      await expect(call({ window: '2' })).rejects.toThrow(/opts.window must be a non-negative integer or a pair/);
      await expect(call({ window: [1] })).rejects.toThrow(TypeError);
      await expect(call({ window: [1, 2, 3] })).rejects.toThrow(TypeError);
      await expect(call({ window: [-1, 2] })).rejects.toThrow(/opts.window\[0\] must be in \[0/);
      await expect(call({ window: [2, 0.5] })).rejects.toThrow(/opts.window\[1\] must be an integer, got 0.5/);
    });

    it('checks the attention mask: int32 [B, L] with values -1, 0, 1', async () => {
      const mask = (data: number[], s = [1, 8]) => Tensor.from(Int32Array.from(data), s);
      await expect(call({ window: 1, attentionMask: mask([0, 0, 0, 2, 0, 0, 0, 0]) })).rejects.toThrow(
        /opts.attentionMask\[0,3\] = 2 must be -1 \(padding\), 0 \(local\) or 1 \(global\)/,
      );
      await expect(call({ window: 1, attentionMask: mask([0, 0, 0, 0, 0, 0, 0, -5]) })).rejects.toThrow(RangeError);
      await expect(call({ window: 1, attentionMask: mask(new Array(9).fill(0), [1, 9]) })).rejects.toThrow(
        /opts.attentionMask.shape \[1,9\] must equal \[B,L\] of q \[1,8\]/,
      );
      await expect(call({ window: 1, attentionMask: mask(new Array(8).fill(0), [8]) })).rejects.toThrow(/must have 2 dimensions/);
      await expect(call({ window: 1, attentionMask: Tensor.from(new Float32Array(8), [1, 8]) })).rejects.toThrow(
        /opts.attentionMask.dtype must be int32, got 'float32'/,
      );
    });

    it('checks the global projections: { q, k, v }, each shaped and typed like q', async () => {
      await expect(call({ window: 1, global: f() })).rejects.toThrow(/unknown key|must be a Tensor/);
      await expect(call({ window: 1, global: [f(), f(), f()] })).rejects.toThrow(/opts.global must be an object/);
      await expect(call({ window: 1, global: { q: f(), k: f() } })).rejects.toThrow(
        /opts.global.v must be a Tensor, got undefined/,
      );
      await expect(call({ window: 1, global: { q: f(), k: f(), v: f(), w: f() } })).rejects.toThrow(
        /unknown key 'w' in opts.global/,
      );
      await expect(call({ window: 1, global: { q: f(), k: f([1, 2, 9, 4]), v: f() } })).rejects.toThrow(
        /opts.global.k.shape \[1,2,9,4\] must equal q.shape \[1,2,8,4\]/,
      );
      const half = Tensor.from(new Uint16Array(64), shape, { dtype: 'float16' });
      await expect(call({ window: 1, global: { q: f(), k: f(), v: half } })).rejects.toThrow(
        /opts.global.v.dtype 'float16' must equal q.dtype 'float32'/,
      );
    });

    it('checks q, k, v, scale, signal and unknown options', async () => {
      await expect(localAttention(f(), f([1, 2, 9, 4]), f(), { window: 1 })).rejects.toThrow(
        /k.shape \[1,2,9,4\] must equal q.shape/,
      );
      await expect(localAttention(f([2, 8, 4]), f(), f(), { window: 1 })).rejects.toThrow(
        /q.shape \[2,8,4\] must have 4 dimensions/,
      );
      const bf16 = Tensor.from(new Uint16Array(64), shape, { dtype: 'bfloat16' });
      await expect(localAttention(f(), f(), bf16, { window: 1 })).rejects.toThrow(/v.dtype 'bfloat16' must equal q.dtype/);
      await expect(call({ window: 1, scale: Infinity })).rejects.toThrow(/opts.scale must be finite/);
      await expect(call({ window: 1, scale: '1' })).rejects.toThrow(/opts.scale must be a number/);
      await expect(call({ window: 1, signal: {} })).rejects.toThrow(/signal must be an AbortSignal/);
      await expect(call({ window: 1, causal: true })).rejects.toThrow(/unknown option 'causal'/);
    });

    it('rejects with ABORTED when the signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      const error = await call({ window: 1, signal: controller.signal }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AttentionError);
      expect((error as AttentionError).code).toBe('ABORTED');
    });
  });
});
