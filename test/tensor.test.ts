import { describe, expect, it } from 'vitest';
import { AttentionError, backendInfo, fromHalf, memoryStats, Tensor, toBFloat16, toFloat16 } from '../lib/index.js';
import { hasCuda } from './helpers/devices.js';

describe('Tensor', () => {
  it('wraps CPU data without copying', async () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = Tensor.from(data, [2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([2, 3]);
    expect(t.device).toBe('cpu');
    expect(await t.data()).toBe(data);
    expect(await t.to('cpu')).toBe(t);
    expect(String(t)).toBe('Tensor(float32, [2,3], cpu)');
  });

  it('infers int32 and needs a dtype for half-precision bits', () => {
    expect(Tensor.from(new Int32Array(2), [2]).dtype).toBe('int32');
    expect(() => Tensor.from(new Uint16Array(2), [2])).toThrow(/needs opts.dtype/);
    expect(Tensor.from(new Uint16Array(2), [1, 2], { dtype: 'bfloat16' }).dtype).toBe('bfloat16');
    expect(() => Tensor.from(new Float32Array(2), [2], { dtype: 'float16' })).toThrow(/needs a Uint16Array, got a Float32Array/);
  });

  it('rejects shapes that do not fit the data or 32-bit indexing', () => {
    expect(() => Tensor.from(new Float32Array(6), [4, 2])).toThrow('Tensor.from: shape [4,2] holds 8 elements, data has 6');
    expect(() => Tensor.from(new Float32Array(6), [2, -3])).toThrow(RangeError);
    expect(() => Tensor.from(new Float32Array(6), [2, 3.5])).toThrow(RangeError);
    expect(() => Tensor.from(new Float32Array(1), [2 ** 16, 2 ** 16])).toThrow(/32-bit indexing/);
    expect(() => Tensor.from([1, 2] as never, [2])).toThrow(TypeError);
    expect(() => Tensor.from(new Float32Array(2), [2], { device: 'cpu' } as never)).toThrow(/unknown option 'device'/);
  });

  it('disposes idempotently and rejects use afterwards', async () => {
    const before = memoryStats().cpuBytes;
    const t = Tensor.from(new Float32Array(1024), [1024]);
    expect(memoryStats().cpuBytes).toBe(before + 4096);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(memoryStats().cpuBytes).toBe(before);
    await expect(t.data()).rejects.toMatchObject({ code: 'DISPOSED' });
    await expect(t.to('cpu')).rejects.toBeInstanceOf(AttentionError);
  });

  it('supports `using` through Symbol.dispose', () => {
    const t = Tensor.from(new Float32Array(4), [4]);
    t[Symbol.dispose]();
    expect(t.disposed).toBe(true);
  });

  it('rejects malformed device names', async () => {
    const t = Tensor.from(new Float32Array(4), [4]);
    await expect(t.to('gpu' as never)).rejects.toThrow(TypeError);
  });

  it.skipIf(hasCuda)('to("cuda") without a GPU rejects with NO_DEVICE', async () => {
    const t = Tensor.from(new Float32Array(4), [4]);
    await expect(t.to('cuda')).rejects.toMatchObject({ name: 'AttentionError', code: 'NO_DEVICE' });
    expect(backendInfo().devices).toEqual([]);
  });

  it.skipIf(!hasCuda)('round-trips every dtype through the GPU', async () => {
    for (const [data, dtype] of [
      [new Float32Array([1, -2, 3.5]), 'float32'], [new Int32Array([7, -8, 9]), 'int32'],
      [toFloat16(new Float32Array([1, 2, 3])), 'float16'], [toBFloat16(new Float32Array([1, 2, 3])), 'bfloat16'],
    ] as const) {
      const gpu = await Tensor.from(data, [3], { dtype }).to('cuda');
      expect(gpu.device).toBe('cuda:0');
      expect(Array.from(await gpu.data())).toEqual(Array.from(data));
      const back = await gpu.to('cpu');
      expect(Array.from(await back.data())).toEqual(Array.from(data));
      gpu.dispose();
    }
  });
});

describe('half precision', () => {
  it('rounds to nearest even and keeps NaN and infinities', () => {
    const x = new Float32Array([0, -0, 1, 65504, 65520, 1e-8, 2 ** -24, 3 * 2 ** -25, Infinity, -Infinity, NaN, 1 + 2 ** -11, 1 + 3 * 2 ** -11]);
    const h = fromHalf(toFloat16(x), 'float16');
    expect(Array.from(h)).toEqual([0, -0, 1, 65504, Infinity, 0, 2 ** -24, 2 ** -23, Infinity, -Infinity, NaN, 1, 1 + 2 ** -9]);
    const b = fromHalf(toBFloat16(new Float32Array([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -Infinity, NaN, 3.4e38])), 'bfloat16');
    expect(Array.from(b)).toEqual([1, 1, 1 + 2 ** -6, -Infinity, NaN, Infinity]);
  });

  it('rejects the wrong input types', () => {
    expect(() => toFloat16([1] as never)).toThrow(TypeError);
    expect(() => fromHalf(new Uint16Array(1), 'float32' as never)).toThrow(TypeError);
  });
});
