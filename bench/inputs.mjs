// Inputs of one configuration: generated once, written as raw files into a job folder, and
// read by every implementation, so that all of them compute on exactly the same numbers.
// Seeded values from the tests' generator: uniform on [-√3, √3] (mean 0, variance 1);
// LSH rotations standard normal, as Reformer draws them.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureModelCheckpoint } from './model_checkpoint.mjs';
import { randn, rng, uniformUnitVariance } from '../test/helpers/random.js';
import { writeRaw } from './rawio.mjs';

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
        rotations: { dtype: 'float32', shape: rotShape, make: () => randn(rotShape.reduce((a, b) => a * b, 1), 5) },
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
  const next = rng(seed);
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
