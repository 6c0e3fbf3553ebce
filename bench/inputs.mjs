// Inputs of one configuration: generated once, written as raw files into a job folder, and
// read by every implementation, so that all of them compute on exactly the same numbers.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureModelCheckpoint } from './model_checkpoint.mjs';
import { writeRaw } from './rawio.mjs';

/** A deterministic stream of uniform values in [0, 1) (xorshift32): fast and seedable. */
function xorshift32(seed) {
  let s = Math.imul(seed, 0x9e3779b1) | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * Values with mean 0 and variance 1, uniform on [-√3, √3]. Uniform rather than Gaussian
 * because a 64k-token input is 150 M values and this is several times faster than
 * Box–Muller; the cost of attention does not depend on the distribution.
 */
export function uniformUnitVariance(count, seed) {
  const next = xorshift32(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * next() - 1) * Math.sqrt(3);
  return out;
}

/** Standard normal values (Box–Muller): LSH rotations are Gaussian, as Reformer draws them. */
export function normal(count, seed) {
  const next = xorshift32(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const theta = 2 * Math.PI * next();
    out[i] = r * Math.cos(theta);
    if (i + 1 < count) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

/** The tensors a configuration's job needs: { name: { dtype, shape, make(): TypedArray } }. */
export function inputSpecs(cfg) {
  const { B, H, L, D } = cfg;
  const bhld = [B, H, L, D];
  const randomFloats = (shape, seed) => ({
    dtype: 'float32', shape, make: () => uniformUnitVariance(shape.reduce((a, b) => a * b, 1), seed),
  });
  switch (cfg.op) {
    case 'dense':
      return { q: randomFloats(bhld, 1), k: randomFloats(bhld, 2), v: randomFloats(bhld, 3) };
    case 'local':
      return {
        q: randomFloats(bhld, 1), k: randomFloats(bhld, 2), v: randomFloats(bhld, 3),
        attentionMask: { dtype: 'int32', shape: [B, L], make: () => globalTokenMask(B, L, cfg.nGlobal) },
      };
    case 'lsh': {
      const rotShape = [H, D, cfg.config.nHashes, cfg.config.nBuckets / 2];
      return {
        qk: randomFloats(bhld, 4), v: randomFloats(bhld, 3),
        rotations: { dtype: 'float32', shape: rotShape, make: () => normal(rotShape.reduce((a, b) => a * b, 1), 5) },
      };
    }
    case 'axial':
      return { w0: randomFloats(cfg.weights[0], 6), w1: randomFloats(cfg.weights[1], 7) };
    case 'linear':
      return {
        x: randomFloats([cfg.rows, cfg.in], 8),
        weight: { dtype: 'float32', shape: [cfg.out, cfg.in], make: () => uniformUnitVariance(cfg.out * cfg.in, 9).map((v) => v / Math.sqrt(cfg.in)) },
        bias: randomFloats([cfg.out], 10),
      };
    case 'model':
      return {
        inputIds: { dtype: 'int32', shape: [B, L], make: () => tokenIds(B * L, cfg.config.vocab, 11) },
        globalAttentionMask: { dtype: 'int32', shape: [B, L], make: () => globalTokenMask(B, L, cfg.nGlobal) },
      };
    default:
      throw new Error(`no inputs for op ${cfg.op}`);
  }
}

/** Token ids: <s> (0), ids in [3, vocab), </s> (2) last; no padding (id 1). */
function tokenIds(count, vocab, seed) {
  const next = xorshift32(seed);
  const ids = Int32Array.from({ length: count }, () => 3 + Math.floor(next() * (vocab - 3)));
  ids[0] = 0;
  ids[count - 1] = 2;
  return ids;
}

/** Longformer's attention mask with tokens 0..n-1 global (1) and the rest local (0). */
function globalTokenMask(B, L, nGlobal) {
  const mask = new Int32Array(B * L);
  for (let b = 0; b < B; b++) mask.fill(1, b * L, b * L + Math.min(nGlobal, L));
  return mask;
}

/** Writes a configuration's inputs into `dir`; returns the job's "inputs" entry and their bytes. */
export function writeInputs(dir, cfg) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The end-to-end rows share one checkpoint next to their job folders.
  if (cfg.op === 'model') ensureModelCheckpoint(path.resolve(dir, cfg.config.checkpoint), cfg.config, (line) => console.log(`  ${line}`));
  const inputs = {};
  let bytes = 0;
  for (const [name, spec] of Object.entries(inputSpecs(cfg))) {
    const data = spec.make();
    const file = `${name}.${spec.dtype === 'int32' ? 'i32' : 'f32'}`;
    writeRaw(`${dir}/${file}`, data);
    inputs[name] = { file, dtype: spec.dtype, shape: spec.shape };
    bytes += data.byteLength;
  }
  return { inputs, bytes };
}
