// float16 / bfloat16 as raw bits: round to nearest even, NaN and infinities kept.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toFloat16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7e00 | ((a >>> 13) & 0x3ff);
  if (a >= 0x477ff000) return sign | 0x7c00;
  if (a < 0x38800000) {
    const exp = a >>> 23;
    if (exp < 102) return sign;
    const man = (a & 0x7fffff) | 0x800000;
    const shift = 126 - exp;
    let q = man >>> shift;
    const rem = man & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (q & 1) !== 0)) q++;
    return sign | q;
  }
  const r = (a + 0xfff + ((a >>> 13) & 1) - 0x38000000) >>> 13;
  return sign | r;
}

function toBFloat16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

function float16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0x1f) return man ? NaN : sign * Infinity;
  if (exp === 0) return sign * man * 2 ** -24;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}

function requireFloat32Array(fn: string, x: unknown): void {
  if (!(x instanceof Float32Array)) throw new TypeError(`${fn}: x must be a Float32Array, got ${typeof x}`);
}

/** float32 values to float16 bits. */
export function toFloat16(x: Float32Array): Uint16Array {
  requireFloat32Array('toFloat16', x);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = toFloat16Bits(x[i]!);
  return out;
}

/** float32 values to bfloat16 bits. */
export function toBFloat16(x: Float32Array): Uint16Array {
  requireFloat32Array('toBFloat16', x);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = toBFloat16Bits(x[i]!);
  return out;
}

/** float16 or bfloat16 bits to float32 values (exact). */
export function fromHalf(bits: Uint16Array, dtype: 'float16' | 'bfloat16'): Float32Array {
  if (!(bits instanceof Uint16Array)) throw new TypeError(`fromHalf: bits must be a Uint16Array, got ${typeof bits}`);
  if (dtype !== 'float16' && dtype !== 'bfloat16')
    throw new TypeError(`fromHalf: dtype must be 'float16' or 'bfloat16', got ${String(dtype)}`);
  const out = new Float32Array(bits.length);
  if (dtype === 'bfloat16') {
    const outBits = new Uint32Array(out.buffer);
    for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  } else {
    for (let i = 0; i < bits.length; i++) out[i] = float16Value(bits[i]!);
  }
  return out;
}
