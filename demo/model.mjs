// The demo's first step: Hugging Face's LongformerModel with Longformer-base's shape (12
// layers, hidden 768, 12 heads, intermediate 3072, window 512, vocabulary 50265), either from
// a checkpoint directory (--checkpoint, as save_pretrained writes one) or with random weights
// made here at start-up, over a long sequence of token ids.
import { Tensor } from '../dist/esm/index.js';
import { LongformerModel } from '../dist/esm/models/index.js';
import { randomValues, tensorOf } from './input.mjs';

const BASE = { layers: 12, hidden: 768, heads: 12, intermediate: 3072, window: 512, vocab: 50265 };

/** longformer-base's config.json, with position embeddings for `length` tokens. */
function baseConfig(length) {
  return {
    model_type: 'longformer', architectures: ['LongformerModel'], attention_window: Array(BASE.layers).fill(BASE.window),
    hidden_size: BASE.hidden, num_hidden_layers: BASE.layers, num_attention_heads: BASE.heads,
    intermediate_size: BASE.intermediate, hidden_act: 'gelu', vocab_size: BASE.vocab,
    max_position_embeddings: Math.max(4098, length + 2), type_vocab_size: 1, layer_norm_eps: 1e-5, pad_token_id: 1,
  };
}

/** [name, shape] of every parameter of LongformerModel, by Hugging Face's names. */
function parameterShapes(config) {
  const E = config.hidden_size, I = config.intermediate_size;
  const shapes = [
    ['embeddings.word_embeddings.weight', [config.vocab_size, E]],
    ['embeddings.position_embeddings.weight', [config.max_position_embeddings, E]],
    ['embeddings.token_type_embeddings.weight', [1, E]],
    ['embeddings.LayerNorm.weight', [E]], ['embeddings.LayerNorm.bias', [E]],
  ];
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const at = `encoder.layer.${i}.`;
    for (const p of ['query', 'key', 'value', 'query_global', 'key_global', 'value_global'])
      shapes.push([`${at}attention.self.${p}.weight`, [E, E]], [`${at}attention.self.${p}.bias`, [E]]);
    shapes.push(
      [`${at}attention.output.dense.weight`, [E, E]], [`${at}attention.output.dense.bias`, [E]],
      [`${at}attention.output.LayerNorm.weight`, [E]], [`${at}attention.output.LayerNorm.bias`, [E]],
      [`${at}intermediate.dense.weight`, [I, E]], [`${at}intermediate.dense.bias`, [I]],
      [`${at}output.dense.weight`, [E, I]], [`${at}output.dense.bias`, [E]],
      [`${at}output.LayerNorm.weight`, [E]], [`${at}output.LayerNorm.bias`, [E]],
    );
  }
  shapes.push(['pooler.dense.weight', [E, E]], ['pooler.dense.bias', [E]]);
  return shapes;
}

/**
 * Random weights: matrices and embeddings uniform with standard deviation 0.02 (the
 * initializer_range), LayerNorm weights 1, biases small; `progress` hears how far it got.
 */
function randomWeights(config, dtype, progress) {
  const shapes = parameterShapes(config);
  const total = shapes.reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
  const weights = new Map();
  let done = 0;
  shapes.forEach(([name, shape], i) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const values = name.endsWith('LayerNorm.weight') ? new Float32Array(count).fill(1) : randomValues(count, 100 + i);
    if (!name.endsWith('LayerNorm.weight')) for (let j = 0; j < count; j++) values[j] *= 0.02 * Math.sqrt(3);
    weights.set(name, tensorOf(values, shape, dtype));
    done += count;
    if (i % 8 === 0 || i === shapes.length - 1)
      progress(`making random longformer-base weights: ${(done / 1e6).toFixed(0)} M of ${(total / 1e6).toFixed(0)} M parameters`);
  });
  return { weights, parameters: total };
}

/** The model from `checkpoint`, or base-shaped with random weights. */
export async function loadModel({ checkpoint, length, device, dtype, progress }) {
  if (checkpoint) {
    progress(`loading ${checkpoint}`);
    return { model: await LongformerModel.fromPretrained(checkpoint, { device, dtype }), source: checkpoint };
  }
  const config = baseConfig(length);
  const { weights, parameters } = randomWeights(config, dtype, progress);
  progress(`building the model on ${device}`);
  const model = await LongformerModel.fromWeights(weights, { config, device, dtype });
  if (device !== 'cpu') for (const t of weights.values()) t.dispose();
  return { model, source: `random longformer-base weights (${(parameters / 1e6).toFixed(0)} M parameters)` };
}

/** Token ids of a long document: <s>, random ids, </s>; token 0 attends globally, as for classification. */
export function documentInputs(length, vocab, device) {
  const ids = new Int32Array(length);
  const r = randomValues(length, 7);
  for (let i = 0; i < length; i++) ids[i] = 3 + Math.floor(((r[i] + 1) / 2) * (vocab - 3));
  ids[0] = 0;
  ids[length - 1] = 2;
  const global = new Int32Array(length);
  global[0] = 1;
  return Promise.all([Tensor.from(ids, [1, length]).to(device), Tensor.from(global, [1, length]).to(device)]);
}
