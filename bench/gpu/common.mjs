// Shared helpers of the GPU check scripts (parity, sanitizer workload, benchmarks). Plain Node,
// no dev dependencies: the scripts load the built package from dist/ and the golden fixtures
// from test/fixtures/, so that a GPU machine needs only node, dist/ and the addon.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFixture } from '../../test/helpers/safetensors.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The package as built in dist/, and its native binding (for device timings). */
export async function loadPackage() {
  const api = await import(join(ROOT, 'dist/esm/index.js'));
  const { native } = await import(join(ROOT, 'dist/esm/native.js'));
  return { api, native };
}

/** Which of the package's attention ops this build has (ops land one by one). */
export function availableOps(api) {
  const names = ['denseAttention', 'axialPositionEncoding', 'localAttention', 'lshAttention', 'lshHash', 'sortByBucket'];
  return new Set(names.filter((n) => typeof api[n] === 'function'));
}

/** Parses `--name value` / `--flag` arguments into an object. */
export function parseArgs(argv, defaults) {
  const args = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) args[key] = true;
    else args[key] = next, i++;
  }
  return args;
}

/** Seeded standard normal values: the tests' generator. */
export { randn } from '../../test/helpers/random.js';

/** Relative L2 error ||a - b|| / ||b|| in float64; NaN anywhere gives NaN. */
export function relativeError(actual, expected) {
  if (actual.length !== expected.length) return NaN;
  let num = 0, den = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i] - expected[i];
    num += d * d;
    den += expected[i] * expected[i];
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Number of positions where two integer arrays differ (length mismatch counts as all). */
export function mismatches(actual, expected) {
  if (actual.length !== expected.length) return Math.max(actual.length, expected.length);
  let n = 0;
  for (let i = 0; i < expected.length; i++) if (actual[i] !== expected[i]) n++;
  return n;
}

/**
 * Float32 values rounded through `dtype` (what a half-precision tensor of them holds), and a
 * tensor of them on `device`.
 */
export function makeTensorFactory(api) {
  const round = (x, dtype) =>
    dtype === 'float32' ? x : api.fromHalf(dtype === 'float16' ? api.toFloat16(x) : api.toBFloat16(x), dtype);
  const tensor = async (x, shape, dtype, device) => {
    const t = x instanceof Int32Array ? api.Tensor.from(x, shape)
      : dtype === 'float32' ? api.Tensor.from(x, shape)
        : api.Tensor.from(dtype === 'float16' ? api.toFloat16(x) : api.toBFloat16(x), shape, { dtype });
    return device === 'cpu' ? t : t.to(device);
  };
  return { round, tensor };
}

/** Host values of a tensor, half precision widened to float32. */
export async function valuesOf(api, t) {
  const data = await t.data();
  return t.dtype === 'float16' || t.dtype === 'bfloat16' ? api.fromHalf(data, t.dtype) : data;
}

/**
 * Leaves a NaN-filled block of `bytes` in the device pool, so that the next allocation of that
 * size (an op's output) starts as NaN (0x7fff is NaN in float16, bfloat16 and float32, and an
 * impossible index in int32): an element a kernel fails to write cannot pass for a result.
 */
export async function poisonPool(api, device, bytes) {
  if (device === 'cpu' || bytes < 2) return;
  const n = Math.ceil(bytes / 2);
  const t = await api.Tensor.from(new Uint16Array(n).fill(0x7fff), [n], { dtype: 'float16' }).to(device);
  t.dispose();
}

/** The golden fixtures, read with the tests' reader. */
export function readFixtures(dir = join(ROOT, 'test/fixtures')) {
  return readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort().map((file) => readFixture(file, dir));
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
