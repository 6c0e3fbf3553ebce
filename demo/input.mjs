// The demo's input: a random sequence of model vectors plus axial position encodings,
// split into attention heads. No learned projections: the encoded input itself serves as
// queries, keys and values, which is enough to exercise every kernel at full size.
import { Tensor, fromHalf, toBFloat16, toFloat16 } from '../dist/esm/index.js';

/** Uniform values in [-1, 1) from a seeded xorshift32 stream: fast and reproducible. */
export function randomValues(count, seed) {
  let s = Math.imul(seed, 0x9e3779b1) | 0 || 1;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2147483648 - 1;
  }
  return out;
}

/** float32 values as a tensor of `dtype` (half types hold raw bits). */
export function tensorOf(values, shape, dtype) {
  if (dtype === 'float32') return Tensor.from(values, shape);
  return Tensor.from(dtype === 'float16' ? toFloat16(values) : toBFloat16(values), shape, { dtype });
}

/** A tensor's values as float32, whatever its dtype. */
export async function float32Values(tensor) {
  const data = await tensor.data();
  return tensor.dtype === 'float32' ? data : fromHalf(data, tensor.dtype);
}

/**
 * Axial weights [n0, d0] and [n1, d1] covering at least L positions (n0·n1 >= L, n1 the
 * power of two nearest √L) with d0 + d1 = model width, split 1:2 as Reformer splits it.
 */
export function axialShapes(L, width) {
  const n1 = 2 ** Math.round(Math.log2(Math.sqrt(L)));
  const n0 = Math.ceil(L / n1);
  const d0 = width / 4;
  return [[n0, d0], [n1, width - d0]];
}

/** Model vectors [L, H·D] as heads [1, H, L, D] (the layout attention takes). */
export function splitHeads(x, L, H, D) {
  const out = new Float32Array(H * L * D);
  for (let t = 0; t < L; t++)
    for (let h = 0; h < H; h++) out.set(x.subarray(t * H * D + h * D, t * H * D + (h + 1) * D), (h * L + t) * D);
  return out;
}

/** The first `length` tokens of every head of x [1, H, L, D]. */
export function prefix(x, L, H, D, length) {
  const out = new Float32Array(H * length * D);
  for (let h = 0; h < H; h++) out.set(x.subarray(h * L * D, (h * L + length) * D), h * length * D);
  return out;
}

/** Random axial weights of `shapes` in `dtype` on `device`. */
export async function axialWeights(shapes, dtype, device) {
  const weights = [];
  for (const [i, [n, d]] of shapes.entries()) weights.push(await tensorOf(randomValues(n * d, 10 + i), [n, d], dtype).to(device));
  return weights;
}
