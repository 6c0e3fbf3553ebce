// npm run demo [-- --length 16384 --device cuda --dtype float16 --checkpoint DIR]
//
// First runs a Longformer model end to end (random longformer-base weights made at start-up,
// or a checkpoint directory) over a long document. Then builds a long random sequence, adds
// axial position encodings, and runs Longformer local attention and Reformer LSH attention
// over it on the best device available, then dense attention at the longest power-of-two
// length that runs within a few seconds. Prints one table: op, device, time, peak memory.
import os from 'node:os';
import {
  Tensor, axialPositionEncoding, backendInfo, denseAttention, localAttention, lshAttention,
} from '../dist/esm/index.js';
import { formatBytes, formatMs, textTable } from './format.mjs';
import { axialShapes, axialWeights, float32Values, prefix, randomValues, splitHeads, tensorOf } from './input.mjs';
import { measure, progress, progressDone } from './measure.mjs';
import { documentInputs, loadModel } from './model.mjs';
import { USAGE, parseOptions } from './options.mjs';

const H = 12;
const D = 64;
const WINDOW = 256; // Longformer-base: 512-token window, 256 keys on each side
const CHUNK = 64;
const HASHES = 4;
const DENSE_SECONDS = 5;

/** Reformer's rule of thumb, 2·L/chunk buckets, as a power of two; capped at 512, beyond
 * which hashing (D·nBuckets/2 multiply-adds per token and round) costs more than attending. */
function bucketCount(L) {
  return Math.min(512, Math.max(2, 2 ** Math.round(Math.log2((2 * L) / CHUNK))));
}

function bytesPerElement(dtype) {
  return dtype === 'float32' ? 4 : 2;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) return console.log(USAGE);
  const { length: L, dtype } = options;
  const gpus = backendInfo().devices;
  const device = options.device ?? (gpus.length ? gpus[0].device : 'cpu');
  const where = device === 'cpu' ? `CPU (${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} threads)`
    : gpus.find((g) => g.device === device || (device === 'cuda' && g.device === 'cuda:0'))?.name ?? device;
  const rows = [];
  const record = (op, { ms, peakBytes }) => rows.push([op, device, formatMs(ms), formatBytes(peakBytes)]);

  const modelL = options.modelLength;
  const { model, source } = await loadModel({ checkpoint: options.checkpoint, length: modelL, device, dtype, progress });
  progress(`LongformerModel over ${modelL} tokens`);
  const [inputIds, globalAttentionMask] = await documentInputs(modelL, model.config.vocab_size ?? 50265, device);
  const forward = await measure(device, async () => {
    const { lastHiddenState, poolerOutput } = await model.forward({ inputIds, globalAttentionMask });
    poolerOutput?.dispose();
    return lastHiddenState;
  });
  forward.result.dispose();
  model.dispose();
  const tokensPerSecond = Math.round(modelL / (forward.ms / 1000)).toLocaleString('en');
  record(`LongformerModel, ${modelL} tokens (${tokensPerSecond} tokens/s)`, forward);

  progress(`building a random input of ${L} tokens × ${H * D} features`);
  const shapes = axialShapes(L, H * D);
  const x = randomValues(L * H * D, 1);
  const weights = await axialWeights(shapes, dtype, device);
  progress(`axial position encodings, weights [${shapes[0]}] + [${shapes[1]}]`);
  const axial = await measure(device, () => axialPositionEncoding(weights, { length: L }));
  record(`axial position encodings [${shapes[0]}] + [${shapes[1]}]`, axial);
  const positions = await float32Values(axial.result);
  axial.result.dispose();
  for (const w of weights) w.dispose();
  for (let i = 0; i < x.length; i++) x[i] += positions[i];
  const heads = splitHeads(x, L, H, D);
  const input = await tensorOf(heads, [1, H, L, D], dtype).to(device);

  progress(`local attention, window ${WINDOW}+${WINDOW}, token 0 global`);
  const mask = new Int32Array(L);
  mask[0] = 1;
  const attentionMask = await Tensor.from(mask, [1, L]).to(device);
  const local = await measure(device, () => localAttention(input, input, input, { window: WINDOW, attentionMask }));
  local.result.dispose();
  record(`local attention (window ${WINDOW}+${WINDOW}, 1 global token)`, local);
  const nBuckets = bucketCount(L);
  progress(`LSH attention, ${HASHES} hashes, ${nBuckets} buckets, chunk ${CHUNK}`);
  const lsh = await measure(device, () => lshAttention(input, input, { nHashes: HASHES, nBuckets, chunkLength: CHUNK, seed: 1 }));
  lsh.result.dispose();
  record(`LSH attention (${HASHES} hashes, ${nBuckets} buckets, chunk ${CHUNK})`, lsh);
  input.dispose();

  // Dense attention is quadratic: double the length while the next step (4× the work) is
  // predicted to stay within DENSE_SECONDS.
  let dense;
  let denseL = 2 ** Math.floor(Math.log2(Math.min(L, 1024)));
  for (;;) {
    progress(`dense attention at L = ${denseL}`);
    const q = await tensorOf(prefix(heads, L, H, D, denseL), [1, H, denseL, D], dtype).to(device);
    dense = { L: denseL, ...(await measure(device, () => denseAttention(q, q, q))) };
    dense.result.dispose();
    q.dispose();
    if (denseL * 2 > L || dense.ms * 4 > DENSE_SECONDS * 1000) break;
    denseL *= 2;
  }
  record(`dense attention at L = ${dense.L} (longest power of two within ~${DENSE_SECONDS} s)`, dense);
  progressDone();

  console.log(`sparse-attention demo: L = ${L}, B = 1, H = ${H}, D = ${D}, ${dtype}, on ${where}`);
  console.log(`LongformerModel: ${source}\n`);
  console.log(textTable(['op', 'device', 'time', 'peak memory'], rows));
  if (!options.checkpoint)
    console.log('\nTo run a real checkpoint: npm run demo -- --checkpoint DIR, with DIR a Longformer checkpoint as ' +
      'save_pretrained writes it (config.json and model.safetensors), e.g. allenai/longformer-base-4096 saved with ' +
      'safe_serialization=True; tokenize with any tokenizer that gives Hugging Face\'s ids.');
  const scoreBytes = H * L * L * bytesPerElement(dtype);
  console.log(`\nDense attention at L = ${L} would need ${formatBytes(scoreBytes)} for its [1,${H},${L},${L}] ${dtype} score` +
    ` matrix alone if it materialised it, as a plain framework implementation does; this package's dense kernel` +
    ` streams the scores instead (memory O(L·D)), but its work still grows as L².`);
  console.log('Peak memory: what the op added at its peak, output included' +
    (device === 'cpu' ? ' (growth of the process\'s peak RSS).' : ' (growth of the device memory pool).'));
}

main().catch((e) => {
  progressDone();
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
