// Every test that runs on the CPU also runs on CUDA when a device is present; without one the
// CUDA cases are reported as skipped, with the reason in their name.
import { describe } from 'vitest';
import { backendInfo, Tensor, type Device } from '../../lib/index.js';

export const hasCuda = backendInfo().devices.length > 0;

/** The CUDA device is the emulated one of `npm run test:cuda-emu` (every launch runs on the CPU, twice). */
export const emulatedCuda = hasCuda && /emulated/i.test(backendInfo().devices[0]!.name);

/** How many iterations a loop of a test makes on `device`: `emulated` on the emulated CUDA device, else `full`. */
export function iterationsOn(device: Device, full: number, emulated: number): number {
  return device !== 'cpu' && emulatedCuda ? emulated : full;
}

export function forEachDevice(fn: (device: Device) => void): void {
  describe('cpu', () => fn('cpu'));
  describe.skipIf(!hasCuda)(hasCuda ? 'cuda' : 'cuda (skipped: no CUDA device on this machine)', () => fn('cuda'));
}

/** A float32 tensor on `device` holding `data`. */
export async function tensorOn(device: Device, data: Float32Array | Int32Array, shape: number[]): Promise<Tensor> {
  const t = Tensor.from(data, shape);
  return device === 'cpu' ? t : t.to(device);
}

/** The host values of `t` as float32 (widening half precision). */
export async function valuesOf(t: Tensor): Promise<Float32Array | Int32Array> {
  const data = await t.data();
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    const { fromHalf } = await import('../../lib/index.js');
    return fromHalf(data as Uint16Array, t.dtype);
  }
  return data as Float32Array | Int32Array;
}
