// The dense building blocks of the models against float64 references, on odd sizes, in every
// float dtype.
import { describe, expect, it } from 'vitest';
import {
  add, concat, embedding, fromHalf, gelu, layerNorm, linear, narrow, relu, reshape, tanh, Tensor, toBFloat16, toFloat16,
  type Device, type FloatDType,
} from '../lib/index.js';
import { erf } from './helpers/erf.js';
import { expectClose } from './helpers/compare.js';
import { forEachDevice, valuesOf } from './helpers/devices.js';
import { randn } from './helpers/random.js';

const DTYPES: FloatDType[] = ['float32', 'float16', 'bfloat16'];

/** Relative L2 tolerance of each dtype: float32 accumulation, one rounding of the output. */
const TOLERANCE: Record<FloatDType, number> = { float32: 2e-6, float16: 1e-3, bfloat16: 8e-3 };

/** The values as `dtype` can hold them, and a tensor of them on `device`. */
async function input(device: Device, values: Float32Array, shape: number[], dtype: FloatDType): Promise<[Float32Array, Tensor]> {
  let t: Tensor, held: Float32Array;
  if (dtype === 'float32') {
    t = Tensor.from(values, shape);
    held = values;
  } else {
    const bits = dtype === 'float16' ? toFloat16(values) : toBFloat16(values);
    t = Tensor.from(bits, shape, { dtype });
    held = fromHalf(bits, dtype);
  }
  return [held, device === 'cpu' ? t : await t.to(device)];
}

function linearReference(x: Float32Array, w: Float32Array, b: Float32Array | undefined, rows: number, n: number, k: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < n; j++) {
      let sum = b ? b[j]! : 0;
      for (let c = 0; c < k; c++) sum += x[i * k + c]! * w[j * k + c]!;
      y[i * n + j] = sum;
    }
  return y;
}

function layerNormReference(x: Float32Array, w: Float32Array, b: Float32Array, width: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / width; r++) {
    let mean = 0, variance = 0;
    for (let i = 0; i < width; i++) mean += x[r * width + i]!;
    mean /= width;
    for (let i = 0; i < width; i++) variance += (x[r * width + i]! - mean) ** 2;
    variance /= width;
    for (let i = 0; i < width; i++) y[r * width + i] = ((x[r * width + i]! - mean) / Math.sqrt(variance + eps)) * w[i]! + b[i]!;
  }
  return y;
}

describe('linear', () => {
  forEachDevice((device) => {
    // On CUDA, half precision with in a multiple of 8 takes the tensor-core kernel: partial row,
    // column and depth tiles (in = 200 is 3 slices of 64 and a part).
    const SHAPES: Array<[lead: number[], k: number, n: number]> = [
      [[1], 1, 1], [[3, 5], 7, 9], [[2, 37], 64, 33], [[131], 97, 258], [[1, 1, 300], 768, 17], [[4], 0, 5],
      [[3, 70], 200, 130],
    ];
    for (const dtype of DTYPES)
      for (const [lead, k, n] of SHAPES)
        for (const withBias of [true, false]) {
          it(`${dtype} x [${[...lead, k]}] · W [${n},${k}]ᵀ${withBias ? ' + b' : ''} matches float64`, async () => {
            const rows = lead.reduce((a, b) => a * b, 1);
            const [x, tx] = await input(device, randn(rows * k, rows + k), [...lead, k], dtype);
            const [w, tw] = await input(device, randn(n * k, n + 7, 0.2), [n, k], dtype);
            const [b, tb] = await input(device, randn(n, n + 9), [n], dtype);
            const out = await linear(tx, tw, withBias ? tb : undefined);
            expect(out.shape).toEqual([...lead, n]);
            expect(out.dtype).toBe(dtype);
            expectClose(await valuesOf(out), linearReference(x, w, withBias ? b : undefined, rows, n, k), k === 0 && !withBias ? 0 : TOLERANCE[dtype]);
          });
        }

    it('gives exact zeros for a zero input width and no bias, and the bias with one', async () => {
      const x = Tensor.from(new Float32Array(0), [3, 0]), w = Tensor.from(new Float32Array(0), [2, 0]);
      const xd = device === 'cpu' ? x : await x.to(device), wd = device === 'cpu' ? w : await w.to(device);
      expect(Array.from(await valuesOf(await linear(xd, wd)))).toEqual([0, 0, 0, 0, 0, 0]);
      const b = Tensor.from(Float32Array.from([1, -2]), [2]);
      expect(Array.from(await valuesOf(await linear(xd, wd, device === 'cpu' ? b : await b.to(device))))).toEqual([1, -2, 1, -2, 1, -2]);
    });
  });

  it('names the argument and the shapes in its errors', async () => {
    const x = Tensor.from(new Float32Array(12), [3, 4]);
    await expect(linear(x, Tensor.from(new Float32Array(10), [2, 5]))).rejects.toThrow('linear: weight.shape [2,5] must be [out, 4] for x.shape [3,4]');
    await expect(linear(x, Tensor.from(new Float32Array(8), [2, 4]), Tensor.from(new Float32Array(3), [3]))).rejects.toThrow('linear: bias.shape [3] must equal [2] (weight.shape[0])');
    await expect(linear(x, Tensor.from(toFloat16(new Float32Array(8)), [2, 4], { dtype: 'float16' }))).rejects.toThrow(TypeError);
    await expect(linear(Tensor.from(new Float32Array(1), []), x)).rejects.toThrow(RangeError);
  });
});

describe('layerNorm', () => {
  forEachDevice((device) => {
    for (const dtype of DTYPES)
      for (const [rows, width, eps] of [[1, 1, 1e-5], [7, 33, 1e-12], [130, 768, 1e-5], [3, 1000, 0.1]] as const) {
        it(`${dtype} [${rows},${width}] eps ${eps} matches float64`, async () => {
          const [x, tx] = await input(device, randn(rows * width, width, 3).map((v) => v + 5), [rows, width], dtype);
          const [w, tw] = await input(device, randn(width, 2).map((v) => 1 + 0.1 * v), [width], dtype);
          const [b, tb] = await input(device, randn(width, 3, 0.1), [width], dtype);
          const out = await layerNorm(tx, tw, tb, { eps });
          expect(out.dtype).toBe(dtype);
          // A single-element row normalises to exactly 0: the expected value is the bias.
          expectClose(await valuesOf(out), layerNormReference(x, w, b, width, eps), dtype === 'float32' ? 1e-5 : TOLERANCE[dtype]);
        });
      }
  });

  it('checks weight, bias and eps', async () => {
    const x = Tensor.from(new Float32Array(6), [2, 3]), ok = Tensor.from(new Float32Array(3), [3]);
    await expect(layerNorm(x, Tensor.from(new Float32Array(2), [2]), ok)).rejects.toThrow('layerNorm: weight.shape [2] must equal [3] (x.shape[-1])');
    await expect(layerNorm(x, ok, ok, { eps: -1 })).rejects.toThrow('layerNorm: opts.eps must be >= 0, got -1');
    await expect(layerNorm(x, ok, ok, { eps: Infinity })).rejects.toThrow(RangeError);
  });
});

describe('gelu, relu, tanh', () => {
  const REFERENCE = {
    gelu: (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    relu: (x: number) => Math.max(x, 0),
    tanh: Math.tanh,
  };
  const FUNCTIONS = { gelu, relu, tanh };
  forEachDevice((device) => {
    for (const dtype of DTYPES)
      for (const name of ['gelu', 'relu', 'tanh'] as const) {
        it(`${name} in ${dtype} matches float64 over [-8, 8] element by element`, async () => {
          const n = 4097;
          const values = Float32Array.from({ length: n }, (_, i) => -8 + (16 * i) / (n - 1));
          const [x, tx] = await input(device, values, [n], dtype);
          const out = await valuesOf(await FUNCTIONS[name](tx));
          const expected = Array.from(x, REFERENCE[name]);
          // The output's rounding, plus float32 erf's absolute error (gelu's 1 + erf cancels for x << 0).
          const relative = dtype === 'float32' ? 2 ** -21 : dtype === 'float16' ? 2 ** -10 : 2 ** -7;
          for (let i = 0; i < n; i++) {
            const bound = relative * Math.abs(expected[i]!) + Math.abs(x[i]!) * 2 ** -22 + (dtype === 'float16' ? 1e-7 : 0);
            expect(Math.abs(out[i]! - expected[i]!), `${name}(${x[i]})`).toBeLessThanOrEqual(bound);
          }
        });
      }
  });

  it('gelu is the erf form, not the tanh approximation', async () => {
    const out = await (await gelu(Tensor.from(Float32Array.from([-3, -1, 0.5, 2]), [4]))).data();
    expect(Array.from(out).map((v) => v.toFixed(6))).toEqual(['-0.004050', '-0.158655', '0.345731', '1.954500']);
  });
});

describe('add', () => {
  forEachDevice((device) => {
    for (const dtype of DTYPES)
      it(`adds ${dtype} tensors of shape [3,17,5]`, async () => {
        const [a, ta] = await input(device, randn(255, 1), [3, 17, 5], dtype);
        const [b, tb] = await input(device, randn(255, 2), [3, 17, 5], dtype);
        expectClose(await valuesOf(await add(ta, tb)), Array.from(a, (v, i) => v + b[i]!), TOLERANCE[dtype]);
      });
  });

  it('requires one shape and dtype', async () => {
    await expect(add(Tensor.from(new Float32Array(2), [2]), Tensor.from(new Float32Array(2), [1, 2]))).rejects.toThrow('add: b.shape [1,2] must equal a.shape [2]');
  });
});

describe('embedding', () => {
  forEachDevice((device) => {
    for (const dtype of DTYPES)
      it(`gathers ${dtype} rows for ids of shape [2,3]`, async () => {
        const [table, tt] = await input(device, randn(5 * 7, 1), [5, 7], dtype);
        const ids = Tensor.from(Int32Array.from([4, 0, 2, 2, 1, 3]), [2, 3]);
        const out = await embedding(device === 'cpu' ? ids : await ids.to(device), tt);
        expect(out.shape).toEqual([2, 3, 7]);
        const expected = [4, 0, 2, 2, 1, 3].flatMap((id) => Array.from(table.subarray(id * 7, id * 7 + 7)));
        expect(Array.from(await valuesOf(out))).toEqual(expected);
      });
  });

  it('rejects ids outside the table, naming the index', async () => {
    const table = Tensor.from(new Float32Array(6), [3, 2]);
    await expect(embedding(Tensor.from(Int32Array.from([0, 1, 3]), [1, 3]), table)).rejects.toThrow('embedding: ids[0,2] = 3 must be in [0, 3) for table.shape [3,2]');
    await expect(embedding(Tensor.from(Int32Array.from([-1]), [1]), table)).rejects.toThrow(RangeError);
    await expect(embedding(Tensor.from(new Float32Array(1), [1]), table)).rejects.toThrow(TypeError);
  });
});

describe('narrow, concat, reshape', () => {
  forEachDevice((device) => {
    const on = async (t: Tensor) => (device === 'cpu' ? t : t.to(device));
    const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

    it('narrow takes a range of one dimension', async () => {
      const x = await on(Tensor.from(iota(24), [2, 3, 4]));
      const mid = await narrow(x, 1, 1, 2);
      expect(mid.shape).toEqual([2, 2, 4]);
      expect(Array.from(await valuesOf(mid))).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23]);
      expect(Array.from(await valuesOf(await narrow(x, -1, 3, 1)))).toEqual([3, 7, 11, 15, 19, 23]);
      expect((await narrow(x, 0, 2, 0)).shape).toEqual([0, 3, 4]);
    });

    it('concat joins along a dimension, in half precision too', async () => {
      const a = await on(Tensor.from(iota(6), [2, 3])), b = await on(Tensor.from(iota(4).map((v) => v + 100), [2, 2]));
      const ab = await concat([a, b], 1);
      expect(ab.shape).toEqual([2, 5]);
      expect(Array.from(await valuesOf(ab))).toEqual([0, 1, 2, 100, 101, 3, 4, 5, 102, 103]);
      const h = await on(Tensor.from(toBFloat16(iota(4)), [2, 2], { dtype: 'bfloat16' }));
      expect(Array.from(await valuesOf(await concat([h, h], 0)))).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    });

    it('reshape keeps the row-major order', async () => {
      const r = await reshape(await on(Tensor.from(iota(6), [2, 3])), [3, 1, 2]);
      expect(r.shape).toEqual([3, 1, 2]);
      expect(Array.from(await valuesOf(r))).toEqual([0, 1, 2, 3, 4, 5]);
    });
  });

  it('check their arguments', async () => {
    const x = Tensor.from(new Float32Array(6), [2, 3]);
    await expect(narrow(x, 2, 0, 1)).rejects.toThrow('narrow: dim must be in [-2, 1], got 2');
    await expect(narrow(x, 1, 2, 2)).rejects.toThrow('narrow: length must be in [0, 1], got 2');
    await expect(concat([x, Tensor.from(new Float32Array(4), [4, 1])], 0)).rejects.toThrow('concat: tensors[1].shape [4,1] must equal tensors[0].shape [2,3] except in dimension 0');
    await expect(reshape(x, [4, 2])).rejects.toThrow('reshape: shape [4,2] holds 8 elements, x.shape [2,3] 6');
  });
});
