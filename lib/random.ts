// The package's seeded normal generator: LSH rotations drawn from a `seed` come from here, so
// that a seed gives the same rotations on every platform and in every version that keeps
// this file's algorithm.
//
// Algorithm, fixed: the seed (an unsigned 32-bit integer) initialises xoshiro128** through
// four SplitMix32 outputs; every pair of 32-bit outputs (a, b) gives two standard normal
// values by Box-Muller, r·cos(2πu₂) then r·sin(2πu₂) with r = sqrt(-2·ln u₁),
// u₁ = (a + 1) / 2³² in (0, 1], u₂ = b / 2³²; each value is rounded to float32. Values are
// produced in order, so the first n values of a longer draw equal a draw of n.

const TWO_POW_32 = 4294967296;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A SplitMix32 sequence: well-mixed state words from any seed, including 0. */
function splitMix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

/** xoshiro128**: unsigned 32-bit outputs. */
function xoshiro128(seed: number): () => number {
  const init = splitMix32(seed);
  let s0 = init(), s1 = init(), s2 = init(), s3 = init();
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
}

/** `count` standard normal float32 values, deterministic for `seed` (an integer in [0, 2³²)). */
export function normalFloat32(count: number, seed: number): Float32Array {
  const next = xoshiro128(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = (next() + 1) / TWO_POW_32, u2 = next() / TWO_POW_32;
    const r = Math.sqrt(-2 * Math.log(u1)), angle = 2 * Math.PI * u2;
    out[i] = r * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = r * Math.sin(angle);
  }
  return out;
}
