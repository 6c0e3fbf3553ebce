// Longformer (Hugging Face's modeling_longformer): the self-attention layer with its weights
// and the whole LongformerModel, on the package's ops. Projections are [B, L, hidden] tensors
// that the attention op reads in place (layout 'blhd'); nothing is transposed.
import type { FloatDType } from '../dtype.js';
import { add, gelu, relu, tanh } from '../ops/elementwise.js';
import { embedding } from '../ops/embedding.js';
import { layerNorm } from '../ops/layer_norm.js';
import { linear } from '../ops/linear.js';
import { localAttention } from '../ops/local.js';
import { concat, narrow, reshape } from '../ops/shape.js';
import { Tensor } from '../tensor.js';
import { checkTensor, describe, shapeText } from '../validate.js';
import { loadCheckpoint } from './checkpoint.js';
import { activationOf, ConfigReader, type ActivationName, type ConfigValues } from './config.js';
import {
  adoptWeights, checkPlacement, Scope, WeightOwner, WeightReader, withWeightReader, type Placement, type PlacementOptions, type WeightMap,
} from './weights.js';

/** LongformerConfig's defaults (configuration_longformer.py), for keys a config.json leaves out. */
const LONGFORMER_DEFAULTS: ConfigValues = {
  attention_window: 512, vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12,
  intermediate_size: 3072, hidden_act: 'gelu', max_position_embeddings: 512, type_vocab_size: 2, layer_norm_eps: 1e-12,
  pad_token_id: 1, position_embedding_type: 'absolute',
};

function longformerConfig(config: ConfigValues, owner: string): ConfigReader {
  return new ConfigReader(config, LONGFORMER_DEFAULTS, owner);
}

/** attention_window of layer `layer`: an int for every layer, or one per layer; even and positive. */
function attentionWindow(c: ConfigReader, layer: number, layers: number): number {
  const raw = c.raw('attention_window');
  const w = Array.isArray(raw) ? (c.intList('attention_window', layers, 1)[layer]!) : c.int('attention_window', 2);
  if (w % 2 !== 0 || w < 2) throw c.unsupported('attention_window', raw, 'every window must be an even number >= 2');
  return w;
}

const ACTIVATIONS = { gelu, relu, tanh } as const;

function activate(name: ActivationName, x: Tensor): Promise<Tensor> {
  return ACTIVATIONS[name](x);
}

/** int32 [B, L] values of a tensor on any device, checked. */
async function int32Rows(fn: string, name: string, t: unknown, shape?: readonly number[]): Promise<Int32Array> {
  const tensor = checkTensor(fn, name, t, { rank: 2, dtypes: ['int32'] });
  if (shape && (tensor.shape[0] !== shape[0] || tensor.shape[1] !== shape[1]))
    throw new RangeError(`${fn}: ${name}.shape ${shapeText(tensor.shape)} must equal ${shapeText(shape)}`);
  return (await tensor.data()) as Int32Array;
}

export interface LongformerSelfAttentionOptions extends PlacementOptions {
  /** config.json parsed (Hugging Face's keys). */
  config: ConfigValues;
  /** Prepended to the parameter names, e.g. 'encoder.layer.0.attention.self.'; default ''. */
  prefix?: string;
  /** Which entry of a per-layer attention_window list applies; default 0. */
  layer?: number;
}

export interface LongformerAttentionForward {
  /** int32 [B, L]: -1 padding, 0 local, 1 global (only the sign counts, as in Hugging Face). */
  attentionMask?: Tensor;
  signal?: AbortSignal;
}

interface Projection {
  weight: Tensor;
  bias: Tensor;
}

type AttentionProjections = Record<'query' | 'key' | 'value' | 'queryGlobal' | 'keyGlobal' | 'valueGlobal', Projection>;

async function projection(r: WeightReader, name: string, out: number, inp: number): Promise<Projection> {
  return { weight: await r.get(`${name}.weight`, [out, inp]), bias: await r.get(`${name}.bias`, [out]) };
}

function project(x: Tensor, p: Projection, signal?: AbortSignal): Promise<Tensor> {
  return linear(x, p.weight, p.bias, signal ? { signal } : undefined);
}

/**
 * The global tokens of a batch, for projecting query_global on their rows only (as Hugging
 * Face does): `gather` [G] indexes their rows in hidden [B·L, E]; `scatter` [B, L] places the
 * projected rows back at their positions (every other position takes the zero row G, which
 * the attention never reads).
 */
interface GlobalRows {
  gather: Tensor;
  scatter: Tensor;
  zeroRow: Tensor; // [1, E]
}

/** @internal GlobalRows of an attention mask (values > 0 are global), on `device`; undefined when no token is global. */
async function globalRowsOf(mask: Int32Array, B: number, L: number, E: number, dtype: FloatDType, device: string,
                            scope: Scope): Promise<GlobalRows | undefined> {
  const positions: number[] = [];
  const scatter = new Int32Array(B * L);
  for (let i = 0; i < B * L; i++) if (mask[i]! > 0) positions.push(i);
  if (positions.length === 0) return undefined;
  scatter.fill(positions.length);
  positions.forEach((p, row) => (scatter[p] = row));
  const zero = new Float32Array(E);
  const host = [
    Tensor.from(Int32Array.from(positions), [positions.length]), Tensor.from(scatter, [B, L]),
    dtype === 'float32' ? Tensor.from(zero, [1, E]) : Tensor.from(new Uint16Array(E), [1, E], { dtype }),
  ];
  const onDevice = await Promise.all(host.map(async (t) => scope.keep(device === 'cpu' ? t : await t.to(device as never))));
  return { gather: onDevice[0]!, scatter: onDevice[1]!, zeroRow: onDevice[2]! };
}

/**
 * Hugging Face's LongformerSelfAttention: query/key/value and the three global projections,
 * sliding-window attention with symmetric global attention, heads merged. forward takes and
 * returns [B, L, hidden] (the attention output before LongformerSelfOutput); any L.
 */
export class LongformerSelfAttention extends WeightOwner {
  readonly heads: number;
  readonly hidden: number;
  /** Hugging Face's attention_window of this layer (keys visible on each side: window / 2). */
  readonly window: number;
  readonly placement: Placement;
  readonly #p: AttentionProjections;

  private constructor(reader: WeightReader, heads: number, hidden: number, window: number, p: AttentionProjections) {
    super(reader);
    this.placement = reader.placement;
    this.heads = heads;
    this.hidden = hidden;
    this.window = window;
    this.#p = p;
  }

  static async fromWeights(weights: WeightMap, opts: LongformerSelfAttentionOptions): Promise<LongformerSelfAttention> {
    const FN = 'LongformerSelfAttention.fromWeights';
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`${FN}: opts must be { config, prefix?, device?, dtype? }, got ${describe(opts)}`);
    const c = longformerConfig(opts.config, FN);
    const hidden = c.int('hidden_size', 1), heads = c.int('num_attention_heads', 1);
    if (hidden % heads !== 0) throw c.unsupported('hidden_size', hidden, `must be a multiple of num_attention_heads (${heads})`);
    const layer = opts.layer ?? 0;
    const window = attentionWindow(c, layer, Array.isArray(c.raw('attention_window')) ? (c.raw('attention_window') as unknown[]).length : 1);
    return withWeightReader(FN, weights, opts, async (reader) => {
      const p: AttentionProjections = {
        query: await projection(reader, 'query', hidden, hidden), key: await projection(reader, 'key', hidden, hidden),
        value: await projection(reader, 'value', hidden, hidden), queryGlobal: await projection(reader, 'query_global', hidden, hidden),
        keyGlobal: await projection(reader, 'key_global', hidden, hidden), valueGlobal: await projection(reader, 'value_global', hidden, hidden),
      };
      return new LongformerSelfAttention(reader, heads, hidden, window, p);
    });
  }

  /** hidden [B, L, hidden] -> [B, L, hidden]; padding rows are 0. */
  async forward(hidden: Tensor, opts: LongformerAttentionForward = {}): Promise<Tensor> {
    const FN = 'LongformerSelfAttention.forward';
    checkTensor(FN, 'hidden', hidden, { rank: 3 });
    if (hidden.shape[2] !== this.hidden) throw new RangeError(`${FN}: hidden.shape ${shapeText(hidden.shape)} must be [B, L, ${this.hidden}]`);
    const [B, L] = hidden.shape as [number, number, number];
    const scope = new Scope();
    try {
      let mask: Tensor | undefined;
      let globals: GlobalRows | undefined;
      if (opts.attentionMask !== undefined) {
        const values = await int32Rows(FN, 'opts.attentionMask', opts.attentionMask, [B, L]);
        globals = await globalRowsOf(values, B, L, this.hidden, hidden.dtype as FloatDType, hidden.device, scope);
        mask = opts.attentionMask.device === hidden.device ? opts.attentionMask : scope.keep(await opts.attentionMask.to(hidden.device));
      }
      return await this.attend(hidden, mask, globals, opts.signal);
    } finally {
      scope.dispose();
    }
  }

  /** @internal The layer on a mask already on hidden's device; `globals`: the batch's global tokens, if any. */
  async attend(hidden: Tensor, mask: Tensor | undefined, globals: GlobalRows | undefined, signal?: AbortSignal): Promise<Tensor> {
    const p = this.#p;
    const scope = new Scope();
    try {
      const q = scope.keep(await project(hidden, p.query, signal));
      const k = scope.keep(await project(hidden, p.key, signal));
      const v = scope.keep(await project(hidden, p.value, signal));
      const global = globals
        ? {
          q: await this.#queryGlobal(hidden, globals, scope, signal),
          k: scope.keep(await project(hidden, p.keyGlobal, signal)),
          v: scope.keep(await project(hidden, p.valueGlobal, signal)),
        }
        : undefined;
      return await localAttention(q, k, v, {
        window: this.window / 2, layout: 'blhd', heads: this.heads,
        ...(mask ? { attentionMask: mask } : {}), ...(global ? { global } : {}), ...(signal ? { signal } : {}),
      });
    } finally {
      scope.dispose();
    }
  }

  /** query_global of the global rows only, placed at their positions of a [B, L, E] tensor. */
  async #queryGlobal(hidden: Tensor, globals: GlobalRows, scope: Scope, signal?: AbortSignal): Promise<Tensor> {
    const [B, L, E] = hidden.shape as [number, number, number];
    const rows = scope.keep(await embedding(globals.gather, scope.keep(await reshape(hidden, [B * L, E]))));
    const projected = scope.keep(await project(rows, this.#p.queryGlobal, signal));
    const table = scope.keep(await concat([projected, globals.zeroRow], 0));
    return scope.keep(await embedding(globals.scatter, table));
  }
}

interface DenseNorm {
  dense: Projection;
  norm: Projection; // LayerNorm weight and bias
}

interface Embeddings {
  word: Tensor;
  position: Tensor;
  tokenType: Tensor;
  norm: Projection;
}

interface LongformerLayer {
  attention: LongformerSelfAttention;
  attentionOutput: DenseNorm;
  intermediate: Projection;
  output: DenseNorm;
}

async function layerNormOf(r: WeightReader, name: string, width: number): Promise<Projection> {
  return { weight: await r.get(`${name}.weight`, [width]), bias: await r.get(`${name}.bias`, [width]) };
}

export interface FromPretrainedOptions extends PlacementOptions {}

export interface LongformerForward {
  /** int32 [B, L] token ids. */
  inputIds: Tensor;
  /** int32 [B, L]: 1 real token, 0 padding; default all 1. */
  attentionMask?: Tensor;
  /** int32 [B, L]: 1 global token, 0 local; default none. */
  globalAttentionMask?: Tensor;
  /** int32 [B, L]; default all 0. */
  tokenTypeIds?: Tensor;
  signal?: AbortSignal;
}

export interface LongformerOutput {
  /** [B, L, hidden] on the model's device. */
  lastHiddenState: Tensor;
  /** [B, hidden]: tanh(pooler.dense(lastHiddenState[:, 0])), when the checkpoint has a pooler. */
  poolerOutput?: Tensor;
}

/**
 * Hugging Face's LongformerModel: embeddings with RoBERTa-style position ids, the encoder with
 * each layer's own attention window, and the pooler when the checkpoint has one. Any L: the
 * padding to a multiple of the window that Hugging Face adds is padding the attention never
 * sees, so it changes no output and is left out.
 */
export class LongformerModel {
  readonly config: ConfigValues;
  readonly placement: Placement;
  readonly #reader: WeightReader;
  readonly #layers: LongformerLayer[];
  readonly #embeddings: Embeddings;
  readonly #pooler: Projection | undefined;
  readonly #eps: number;
  readonly #act: ActivationName;
  readonly #pad: number;

  private constructor(
    config: ConfigValues, reader: WeightReader, embeddings: Embeddings, layers: LongformerLayer[],
    pooler: Projection | undefined, eps: number, act: ActivationName, pad: number,
  ) {
    this.config = config;
    this.placement = reader.placement;
    this.#reader = reader;
    this.#embeddings = embeddings;
    this.#layers = layers;
    this.#pooler = pooler;
    this.#eps = eps;
    this.#act = act;
    this.#pad = pad;
  }

  /** A checkpoint directory: config.json + model.safetensors (or its shard index). */
  static async fromPretrained(dir: string, opts: FromPretrainedOptions = {}): Promise<LongformerModel> {
    const { weights, config } = await loadCheckpoint(dir);
    let model: LongformerModel;
    try {
      model = await LongformerModel.fromWeights(weights, { ...opts, config });
    } catch (error) {
      for (const t of weights.values()) t.dispose();
      throw error;
    }
    adoptWeights([model.#reader, ...model.#layers.map((l) => l.attention._reader)], weights);
    return model;
  }

  /**
   * From weights by Hugging Face's names: LongformerModel's own ('embeddings.…', 'encoder.…',
   * 'pooler.…'), or under 'longformer.' as a task model saves them; `prefix` overrides.
   */
  static async fromWeights(weights: WeightMap, opts: PlacementOptions & { config: ConfigValues; prefix?: string }): Promise<LongformerModel> {
    const FN = 'LongformerModel.fromWeights';
    const c = longformerConfig(opts.config, FN);
    const placement = checkPlacement(FN, opts);
    const hidden = c.int('hidden_size', 1), heads = c.int('num_attention_heads', 1), layers = c.int('num_hidden_layers', 1);
    const intermediate = c.int('intermediate_size', 1), vocab = c.int('vocab_size', 1);
    const positions = c.int('max_position_embeddings', 1), types = c.int('type_vocab_size', 1);
    const eps = c.number('layer_norm_eps'), act = activationOf(c), pad = c.int('pad_token_id');
    c.choice('position_embedding_type', ['absolute']);
    if (hidden % heads !== 0) throw c.unsupported('hidden_size', hidden, `must be a multiple of num_attention_heads (${heads})`);
    for (let i = 0; i < layers; i++) attentionWindow(c, i, layers);
    const prefix = opts.prefix ?? (!weights.has('embeddings.word_embeddings.weight') && weights.has('longformer.embeddings.word_embeddings.weight') ? 'longformer.' : '');
    const r = new WeightReader(weights, prefix, placement);
    const built: LongformerSelfAttention[] = [];
    try {
      const embeddings: Embeddings = {
        word: await r.get('embeddings.word_embeddings.weight', [vocab, hidden]),
        position: await r.get('embeddings.position_embeddings.weight', [positions, hidden]),
        tokenType: await r.get('embeddings.token_type_embeddings.weight', [types, hidden]),
        norm: await layerNormOf(r, 'embeddings.LayerNorm', hidden),
      };
      const encoder: LongformerLayer[] = [];
      for (let i = 0; i < layers; i++) {
        const at = `encoder.layer.${i}.`;
        const attention = await LongformerSelfAttention.fromWeights(weights, { config: opts.config, prefix: `${prefix}${at}attention.self.`, layer: i, ...placement });
        built.push(attention);
        encoder.push({
          attention,
          attentionOutput: { dense: await projection(r, `${at}attention.output.dense`, hidden, hidden), norm: await layerNormOf(r, `${at}attention.output.LayerNorm`, hidden) },
          intermediate: await projection(r, `${at}intermediate.dense`, intermediate, hidden),
          output: { dense: await projection(r, `${at}output.dense`, hidden, intermediate), norm: await layerNormOf(r, `${at}output.LayerNorm`, hidden) },
        });
      }
      const pooler = r.has('pooler.dense.weight') ? await projection(r, 'pooler.dense', hidden, hidden) : undefined;
      return new LongformerModel(opts.config, r, embeddings, encoder, pooler, eps, act, pad);
    } catch (error) {
      for (const a of built) a.dispose();
      r.dispose();
      throw error;
    }
  }

  async forward(inputs: LongformerForward): Promise<LongformerOutput> {
    const FN = 'LongformerModel.forward';
    if (typeof inputs !== 'object' || inputs === null) throw new TypeError(`${FN}: inputs must be { inputIds, attentionMask?, globalAttentionMask? }, got ${describe(inputs)}`);
    const idsTensor = checkTensor(FN, 'inputIds', inputs.inputIds, { rank: 2, dtypes: ['int32'] });
    const [B, L] = idsTensor.shape as [number, number];
    const ids = (await idsTensor.data()) as Int32Array;
    const real = inputs.attentionMask === undefined ? undefined : await int32Rows(FN, 'attentionMask', inputs.attentionMask, [B, L]);
    const global = inputs.globalAttentionMask === undefined ? undefined : await int32Rows(FN, 'globalAttentionMask', inputs.globalAttentionMask, [B, L]);
    const types = inputs.tokenTypeIds === undefined ? new Int32Array(B * L) : await int32Rows(FN, 'tokenTypeIds', inputs.tokenTypeIds, [B, L]);
    // LongformerModel._merge_to_attention_mask: padding wins over global.
    const merged = new Int32Array(B * L);
    for (let i = 0; i < B * L; i++) merged[i] = real && real[i] === 0 ? -1 : global && global[i] !== 0 ? 1 : 0;
    const positions = robertaPositionIds(ids, B, L, this.#pad);
    const { device } = this.placement;
    const signal = inputs.signal;
    const scope = new Scope();
    try {
      const onDevice = async (values: Int32Array) => {
        const t = scope.keep(Tensor.from(values, [B, L]));
        return device === 'cpu' ? t : scope.keep(await t.to(device));
      };
      const mask = await onDevice(merged);
      const globals = await globalRowsOf(merged, B, L, this.#embeddings.word.shape[1]!, this.placement.dtype, device, scope);
      let h = await this.#embed(await onDevice(ids), await onDevice(positions), await onDevice(types), scope);
      try {
        for (const layer of this.#layers) {
          const next = await this.#layer(layer, h, mask, globals, signal);
          h.dispose();
          h = next;
        }
      } catch (error) {
        h.dispose();
        throw error;
      }
      const out: LongformerOutput = { lastHiddenState: h };
      if (this.#pooler) out.poolerOutput = await this.#pool(h, B, scope);
      return out;
    } finally {
      scope.dispose();
    }
  }

  async #embed(ids: Tensor, positions: Tensor, types: Tensor, scope: Scope): Promise<Tensor> {
    const e = this.#embeddings;
    const word = scope.keep(await embedding(ids, e.word));
    const position = scope.keep(await embedding(positions, e.position));
    const type = scope.keep(await embedding(types, e.tokenType));
    const sum = scope.keep(await add(scope.keep(await add(word, position)), type));
    return layerNorm(sum, e.norm.weight, e.norm.bias, { eps: this.#eps });
  }

  // Each intermediate tensor is freed as soon as the next step has consumed it, so that a layer
  // holds at most a few [B, L, intermediate] tensors at a time.
  async #layer(layer: LongformerLayer, h: Tensor, mask: Tensor, globals: GlobalRows | undefined, signal?: AbortSignal): Promise<Tensor> {
    const attended = await layer.attention.attend(h, mask, globals, signal);
    const attention = await consume(attended, () => this.#denseNorm(layer.attentionOutput, attended, h, signal));
    return consume(attention, async () => {
      const projected = await project(attention, layer.intermediate, signal);
      const inner = await consume(projected, () => activate(this.#act, projected));
      return consume(inner, () => this.#denseNorm(layer.output, inner, attention, signal));
    });
  }

  /** LayerNorm(dense(x) + residual): Longformer's SelfOutput and Output. */
  async #denseNorm(p: DenseNorm, x: Tensor, residual: Tensor, signal?: AbortSignal): Promise<Tensor> {
    const dense = await project(x, p.dense, signal);
    const sum = await consume(dense, () => add(dense, residual));
    return consume(sum, () => layerNorm(sum, p.norm.weight, p.norm.bias, { eps: this.#eps }));
  }

  async #pool(h: Tensor, B: number, scope: Scope): Promise<Tensor> {
    const first = scope.keep(await narrow(h, 1, 0, 1));
    const pooled = scope.keep(await tanh(scope.keep(await project(first, this.#pooler!))));
    return reshape(pooled, [B, pooled.shape[2]!]);
  }

  dispose(): void {
    for (const l of this.#layers) l.attention.dispose();
    this.#reader.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** step(), then `input` is freed whatever happened. */
async function consume<T>(input: Tensor, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } finally {
    input.dispose();
  }
}

/** create_position_ids_from_input_ids: padding tokens get pad, the others pad + 1, pad + 2, … */
function robertaPositionIds(ids: Int32Array, B: number, L: number, pad: number): Int32Array {
  const out = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    let count = 0;
    for (let t = 0; t < L; t++) {
      const real = ids[b * L + t] !== pad;
      if (real) count++;
      out[b * L + t] = real ? count + pad : pad;
    }
  }
  return out;
}

