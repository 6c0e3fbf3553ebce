// Seeded random values, so that failures reproduce and every benchmark implementation gets
// the same inputs: the one generator of the tests and the benchmarks (bench/inputs.mjs).
// Plain JavaScript, so that the benchmarks load it in Node without a TypeScript step.

/**
 * A deterministic stream of uniform values in [0, 1) (xorshift32).
 * @param {number} seed
 * @returns {() => number}
 */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/**
 * Standard normal values (Box-Muller), times `scale`.
 * @param {number} n
 * @param {number} seed
 * @returns {Float32Array}
 */
export function randn(n, seed, scale = 1) {
  const next = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(next(), 1e-12), v = next();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/**
 * Values with mean 0 and variance 1, uniform on [-√3, √3]: several times faster than
 * randn for the benchmarks' 150 M-value inputs, whose cost does not depend on the distribution.
 * @param {number} n
 * @param {number} seed
 * @returns {Float32Array}
 */
export function uniformUnitVariance(n, seed) {
  const next = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * next() - 1) * Math.sqrt(3);
  return out;
}
