// A Longformer-base-shaped checkpoint with deterministic random weights, written as
// save_pretrained writes one (config.json + model.safetensors), for the end-to-end rows: this
// package and the PyTorch peer load the same file. Weights as LongformerPreTrainedModel
// initialises them (Linear and Embedding N(0, 0.02), LayerNorm 1 and 0), plus small random
// biases and LayerNorm offsets so that no parameter is trivially 0 or 1.
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randn } from '../test/helpers/random.js';

function parameters({ layers, hidden: E, intermediate: I, vocab, positions }) {
  const p = [
    ['embeddings.word_embeddings.weight', [vocab, E], 0.02],
    ['embeddings.position_embeddings.weight', [positions, E], 0.02],
    ['embeddings.token_type_embeddings.weight', [1, E], 0.02],
    ['embeddings.LayerNorm.weight', [E], 'one'],
    ['embeddings.LayerNorm.bias', [E], 0.02],
  ];
  for (let i = 0; i < layers; i++) {
    const at = `encoder.layer.${i}.`;
    for (const name of ['query', 'key', 'value', 'query_global', 'key_global', 'value_global'])
      p.push([`${at}attention.self.${name}.weight`, [E, E], 0.02], [`${at}attention.self.${name}.bias`, [E], 0.02]);
    p.push(
      [`${at}attention.output.dense.weight`, [E, E], 0.02], [`${at}attention.output.dense.bias`, [E], 0.02],
      [`${at}attention.output.LayerNorm.weight`, [E], 'one'], [`${at}attention.output.LayerNorm.bias`, [E], 0.02],
      [`${at}intermediate.dense.weight`, [I, E], 0.02], [`${at}intermediate.dense.bias`, [I], 0.02],
      [`${at}output.dense.weight`, [E, I], 0.02], [`${at}output.dense.bias`, [E], 0.02],
      [`${at}output.LayerNorm.weight`, [E], 'one'], [`${at}output.LayerNorm.bias`, [E], 0.02],
    );
  }
  p.push(['pooler.dense.weight', [E, E], 0.02], ['pooler.dense.bias', [E], 0.02]);
  return p;
}

function config(shape) {
  return {
    architectures: ['LongformerModel'], model_type: 'longformer', attention_window: Array(shape.layers).fill(shape.window),
    hidden_size: shape.hidden, num_hidden_layers: shape.layers, num_attention_heads: shape.heads,
    intermediate_size: shape.intermediate, hidden_act: 'gelu', vocab_size: shape.vocab,
    max_position_embeddings: shape.positions, type_vocab_size: 1, layer_norm_eps: 1e-5, pad_token_id: 1,
    bos_token_id: 0, eos_token_id: 2, sep_token_id: 2, torch_dtype: 'float32',
  };
}

/**
 * Writes the checkpoint into `dir` unless it is there already, reporting progress on `log`;
 * returns whether it wrote one.
 */
export function ensureModelCheckpoint(dir, shape, log = () => {}) {
  if (existsSync(path.join(dir, 'model.safetensors'))) return false;
  mkdirSync(dir, { recursive: true });
  const params = parameters(shape);
  const header = {};
  let at = 0;
  for (const [name, dims] of params) {
    const bytes = dims.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape: dims, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  // Pad the header so that the data starts 8-byte aligned, as the safetensors writer does.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const file = path.join(dir, 'model.safetensors');
  const fd = openSync(file, 'w');
  try {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, length);
    writeSync(fd, json);
    let done = 0, seed = 1, reported = 0;
    for (const [, dims, scale] of params) {
      const count = dims.reduce((a, b) => a * b, 1);
      const values = scale === 'one' ? new Float32Array(count).fill(1) : randn(count, seed++, scale);
      const bytes = new Uint8Array(values.buffer);
      for (let o = 0; o < bytes.length; ) o += writeSync(fd, bytes, o, Math.min(bytes.length - o, 1 << 30));
      done += count;
      if (done - reported >= 16e6 || done === at / 4) {
        reported = done;
        log(`random weights: ${(done / 1e6).toFixed(0)} M of ${(at / 4e6).toFixed(0)} M values`);
      }
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config(shape), null, 2) + '\n');
  return true;
}
