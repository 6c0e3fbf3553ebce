// Reformer (Hugging Face's modeling_reformer): ReformerModel and ReformerModelWithLMHead at
// inference: embeddings (axial or plain positions), alternating local and LSH attention layers
// on two reversible residual streams, the feed-forward blocks, the final LayerNorm over both
// streams, and the LM head.
import { add, gelu, relu, tanh } from '../ops/elementwise.js';
import { embedding } from '../ops/embedding.js';
import { layerNorm } from '../ops/layer_norm.js';
import { linear } from '../ops/linear.js';
import { concat, narrow } from '../ops/shape.js';
import { Tensor } from '../tensor.js';
import { checkInt, checkTensor, describe, shapeText } from '../validate.js';
import { loadCheckpoint } from './checkpoint.js';
import { activationOf, type ActivationName, type ConfigReader, type ConfigValues } from './config.js';
import {
  AxialPositionEmbeddings, reformerConfig, ReformerLocalSelfAttention, ReformerLSHSelfAttention,
} from './reformer_layers.js';
import {
  adoptWeights, checkPlacement, Scope, WeightReader, type Placement, type PlacementOptions, type WeightMap,
} from './weights.js';

const ACTIVATIONS = { gelu, relu, tanh } as const;

interface Norm {
  weight: Tensor;
  bias: Tensor;
}

interface Dense {
  weight: Tensor;
  bias: Tensor;
}

type AttentionLayer =
  | { kind: 'lsh'; module: ReformerLSHSelfAttention }
  | { kind: 'local'; module: ReformerLocalSelfAttention };

interface ReformerLayer {
  attention: AttentionLayer;
  attentionNorm: Norm;
  attentionOutput: Tensor; // ReformerSelfOutput.dense, no bias
  feedForwardNorm: Norm;
  feedForwardDense: Dense;
  feedForwardOutput: Dense;
}

type PositionEmbeddings = { kind: 'axial'; module: AxialPositionEmbeddings } | { kind: 'plain'; table: Tensor };

async function normOf(r: WeightReader, name: string, width: number): Promise<Norm> {
  return { weight: await r.get(`${name}.weight`, [width]), bias: await r.get(`${name}.bias`, [width]) };
}

async function denseOf(r: WeightReader, name: string, out: number, inp: number): Promise<Dense> {
  return { weight: await r.get(`${name}.weight`, [out, inp]), bias: await r.get(`${name}.bias`, [out]) };
}

function lcm(a: number, b: number): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a / gcd(a, b)) * b;
}

export interface ReformerForward {
  /** int32 [B, L] token ids. */
  inputIds: Tensor;
  /** int32 [B, L]: 1 real token, 0 padding. */
  attentionMask?: Tensor;
  /**
   * The random rotations of the LSH layers, one [H, D, nHashes, rotSize/2] tensor per LSH layer
   * in layer order (as the fixtures record them). Without them each LSH layer draws its
   * rotations with the package's generator from `seed`.
   */
  rotations?: Tensor[];
  /** The rotations' seed when none are given; default config.hash_seed, else 0. */
  seed?: number;
  signal?: AbortSignal;
}

export interface ReformerOutput {
  /** [B, L, 2·hidden]: concat(Y1, Y2) after the encoder's LayerNorm, on the model's device. */
  lastHiddenState: Tensor;
}

/** What the two Reformer classes share: the embeddings, the encoder and the padding rule. */
class ReformerCore {
  constructor(
    readonly config: ConfigValues,
    readonly placement: Placement,
    readonly reader: WeightReader,
    readonly word: Tensor,
    readonly positions: PositionEmbeddings,
    readonly layers: ReformerLayer[],
    readonly finalNorm: Norm,
    readonly eps: number,
    readonly act: ActivationName,
    readonly pad: number,
    readonly maxPositions: number,
    readonly paddingMultiple: number,
    readonly minChunk: number,
  ) {}

  static async build(weights: WeightMap, config: ConfigValues, prefix: string, placement: Placement, FN: string): Promise<ReformerCore> {
    const c = reformerConfig(config, FN);
    const hidden = c.int('hidden_size', 1), vocab = c.int('vocab_size', 1), ff = c.int('feed_forward_size', 1);
    const heads = c.int('num_attention_heads', 1), headSize = c.int('attention_head_size', 1);
    const kinds = c.raw('attn_layers');
    if (!Array.isArray(kinds) || kinds.length === 0) throw c.unsupported('attn_layers', kinds, 'expected a list of "lsh" and "local"');
    kinds.forEach((k, i) => {
      if (k !== 'lsh' && k !== 'local') throw c.unsupported(`attn_layers[${i}]`, k, 'expected "lsh" or "local"');
    });
    const eps = c.number('layer_norm_eps'), act = activationOf(c), pad = c.int('pad_token_id'), maxPositions = c.int('max_position_embeddings', 1);
    const chunks = [...new Set(kinds as string[])].map((k) => c.int(k === 'lsh' ? 'lsh_attn_chunk_length' : 'local_attn_chunk_length', 1));
    const r = new WeightReader(weights, prefix, placement);
    const built: Array<{ dispose(): void }> = [];
    try {
      const word = await r.get('embeddings.word_embeddings.weight', [vocab, hidden]);
      const positions = await positionEmbeddings(weights, config, c, prefix, placement, r, built);
      const layers: ReformerLayer[] = [];
      for (let i = 0; i < kinds.length; i++) {
        const at = `encoder.layers.${i}.`;
        const layerOpts = { config, prefix: `${prefix}${at}attention.self_attention.`, ...placement };
        const attention: AttentionLayer = kinds[i] === 'lsh'
          ? { kind: 'lsh', module: await ReformerLSHSelfAttention.fromWeights(weights, layerOpts) }
          : { kind: 'local', module: await ReformerLocalSelfAttention.fromWeights(weights, layerOpts) };
        built.push(attention.module);
        layers.push({
          attention,
          attentionNorm: await normOf(r, `${at}attention.layer_norm`, hidden),
          attentionOutput: await r.get(`${at}attention.output.dense.weight`, [hidden, heads * headSize]),
          feedForwardNorm: await normOf(r, `${at}feed_forward.layer_norm`, hidden),
          feedForwardDense: await denseOf(r, `${at}feed_forward.dense.dense`, ff, hidden),
          feedForwardOutput: await denseOf(r, `${at}feed_forward.output.dense`, hidden, ff),
        });
      }
      const finalNorm = await normOf(r, 'encoder.layer_norm', 2 * hidden);
      return new ReformerCore(config, placement, r, word, positions, layers, finalNorm, eps, act, pad, maxPositions,
        chunks.reduce(lcm), Math.min(...chunks));
    } catch (error) {
      for (const m of built) m.dispose();
      r.dispose();
      throw error;
    }
  }

  /** Every reader of the core, for adoptWeights. */
  readers(): WeightReader[] {
    const modules = this.layers.map((l) => l.attention.module._reader);
    if (this.positions.kind === 'axial') modules.push(this.positions.module._reader);
    return [this.reader, ...modules];
  }

  async forward(FN: string, inputs: ReformerForward): Promise<Tensor> {
    if (typeof inputs !== 'object' || inputs === null) throw new TypeError(`${FN}: inputs must be { inputIds, attentionMask?, rotations? }, got ${describe(inputs)}`);
    const idsTensor = checkTensor(FN, 'inputIds', inputs.inputIds, { rank: 2, dtypes: ['int32'] });
    const [B, L] = idsTensor.shape as [number, number];
    const ids = (await idsTensor.data()) as Int32Array;
    let mask: Int32Array | undefined;
    if (inputs.attentionMask !== undefined) {
      const m = checkTensor(FN, 'attentionMask', inputs.attentionMask, { rank: 2, dtypes: ['int32'] });
      if (m.shape[0] !== B || m.shape[1] !== L) throw new RangeError(`${FN}: attentionMask.shape ${shapeText(m.shape)} must equal inputIds.shape ${shapeText(idsTensor.shape)}`);
      mask = (await m.data()) as Int32Array;
    }
    const lshLayers = this.layers.filter((l) => l.attention.kind === 'lsh').length;
    if (inputs.rotations !== undefined && (!Array.isArray(inputs.rotations) || inputs.rotations.length !== lshLayers))
      throw new TypeError(`${FN}: rotations must be an array of ${lshLayers} tensors, one per LSH layer, got ${describe(inputs.rotations)}`);
    const seed = inputs.seed === undefined ? undefined : checkInt(FN, 'seed', inputs.seed, 0, 2 ** 32 - 1);
    // ReformerModel._pad_to_mult_of_chunk_length: padding tokens at the end, masked.
    const Lp = L > this.minChunk && L % this.paddingMultiple !== 0 ? Math.ceil(L / this.paddingMultiple) * this.paddingMultiple : L;
    if (Lp > this.maxPositions) throw new RangeError(`${FN}: the sequence length ${Lp}${Lp > L ? ` (${L} padded to a multiple of ${this.paddingMultiple})` : ''} exceeds config.max_position_embeddings (${this.maxPositions})`);
    if (this.positions.kind === 'axial') {
      const [l0, l1] = this.positions.module.shape;
      if (Lp > l0 * l1) throw new RangeError(`${FN}: the sequence length ${Lp} exceeds the ${l0}·${l1} positions of config.axial_pos_shape`);
    }
    const paddedIds = new Int32Array(B * Lp).fill(this.pad);
    const paddedMask = mask || Lp > L ? new Int32Array(B * Lp) : undefined;
    for (let b = 0; b < B; b++) {
      paddedIds.set(ids.subarray(b * L, (b + 1) * L), b * Lp);
      if (paddedMask) paddedMask.set(mask ? mask.subarray(b * L, (b + 1) * L) : new Int32Array(L).fill(1), b * Lp);
    }
    const positionIds = new Int32Array(B * Lp).map((_, i) => i % Lp);
    const scope = new Scope();
    try {
      const device = this.placement.device;
      const onDevice = async (values: Int32Array) => {
        const t = scope.keep(Tensor.from(values, [B, Lp]));
        return device === 'cpu' ? t : scope.keep(await t.to(device));
      };
      const deviceMask = paddedMask ? await onDevice(paddedMask) : undefined;
      const embedded = scope.keep(await this.embed(await onDevice(paddedIds), await onDevice(positionIds), scope));
      const hidden = await this.encode(embedded, deviceMask, inputs.rotations, seed, inputs.signal);
      if (Lp === L) return hidden;
      try {
        return await narrow(hidden, 1, 0, L);
      } finally {
        hidden.dispose();
      }
    } finally {
      scope.dispose();
    }
  }

  async embed(ids: Tensor, positionIds: Tensor, scope: Scope): Promise<Tensor> {
    const words = scope.keep(await embedding(ids, this.word));
    const positions = scope.keep(this.positions.kind === 'axial'
      ? await this.positions.module.forward({ positionIds })
      : await embedding(positionIds, this.positions.table));
    return add(words, positions);
  }

  /** Both streams start as the embeddings; each layer: Y1 = X1 + f(X2), Y2 = X2 + g(Y1). */
  async encode(embedded: Tensor, mask: Tensor | undefined, rotations: Tensor[] | undefined, seed: number | undefined,
               signal: AbortSignal | undefined): Promise<Tensor> {
    let x1 = embedded, x2 = embedded;
    let lsh = 0;
    const drop = (t: Tensor) => {
      if (t !== embedded) t.dispose();
    };
    try {
      for (const layer of this.layers) {
        const lshRotations = layer.attention.kind === 'lsh' ? rotations?.[lsh++] : undefined;
        const y1 = await this.attentionBlock(layer, x1, x2, mask, lshRotations, seed, signal);
        drop(x1);
        x1 = y1;
        const y2 = await this.feedForwardBlock(layer, y1, x2, signal);
        drop(x2);
        x2 = y2;
      }
      const joined = await concat([x1, x2], 2);
      try {
        return await layerNorm(joined, this.finalNorm.weight, this.finalNorm.bias, { eps: this.eps });
      } finally {
        joined.dispose();
      }
    } finally {
      drop(x1);
      drop(x2);
    }
  }

  async attentionBlock(layer: ReformerLayer, x1: Tensor, x2: Tensor, mask: Tensor | undefined, rotations: Tensor | undefined,
                       seed: number | undefined, signal: AbortSignal | undefined): Promise<Tensor> {
    const scope = new Scope();
    try {
      const normed = scope.keep(await layerNorm(x2, layer.attentionNorm.weight, layer.attentionNorm.bias, { eps: this.eps }));
      const common = { ...(mask ? { paddingMask: mask } : {}), ...(signal ? { signal } : {}) };
      const attended = scope.keep(layer.attention.kind === 'lsh'
        ? await layer.attention.module.forward(normed, { ...common, ...(rotations ? { rotations } : {}), ...(seed !== undefined ? { seed } : {}) })
        : await layer.attention.module.forward(normed, common));
      const projected = scope.keep(await linear(attended, layer.attentionOutput));
      return await add(x1, projected);
    } finally {
      scope.dispose();
    }
  }

  async feedForwardBlock(layer: ReformerLayer, y1: Tensor, x2: Tensor, signal: AbortSignal | undefined): Promise<Tensor> {
    const scope = new Scope();
    const opts = signal ? { signal } : undefined;
    try {
      const normed = scope.keep(await layerNorm(y1, layer.feedForwardNorm.weight, layer.feedForwardNorm.bias, { eps: this.eps }));
      const inner = scope.keep(await linear(normed, layer.feedForwardDense.weight, layer.feedForwardDense.bias, opts));
      const activated = scope.keep(await ACTIVATIONS[this.act](inner));
      const out = scope.keep(await linear(activated, layer.feedForwardOutput.weight, layer.feedForwardOutput.bias, opts));
      return await add(x2, out);
    } finally {
      scope.dispose();
    }
  }

  dispose(): void {
    for (const l of this.layers) l.attention.module.dispose();
    if (this.positions.kind === 'axial') this.positions.module.dispose();
    this.reader.dispose();
  }
}

async function positionEmbeddings(weights: WeightMap, config: ConfigValues, c: ConfigReader, prefix: string, placement: Placement,
                                  r: WeightReader, built: Array<{ dispose(): void }>): Promise<PositionEmbeddings> {
  if (c.boolean('axial_pos_embds')) {
    const module = await AxialPositionEmbeddings.fromWeights(weights, { config, prefix: `${prefix}embeddings.position_embeddings.`, ...placement });
    built.push(module);
    return { kind: 'axial', module };
  }
  const table = await r.get('embeddings.position_embeddings.embedding.weight', [c.int('max_position_embeddings', 1), c.int('hidden_size', 1)]);
  return { kind: 'plain', table };
}

/** The prefix of a ReformerModel's parameters inside `weights`: '' or 'reformer.' (task models). */
function basePrefix(weights: WeightMap, given: string | undefined): string {
  if (given !== undefined) return given;
  return !weights.has('embeddings.word_embeddings.weight') && weights.has('reformer.embeddings.word_embeddings.weight') ? 'reformer.' : '';
}

export interface ReformerOptions extends PlacementOptions {
  /** config.json parsed (Hugging Face's keys). */
  config: ConfigValues;
  /** Where ReformerModel's parameters start; default '' or 'reformer.', whichever the weights hold. */
  prefix?: string;
}

/**
 * Hugging Face's ReformerModel at inference. forward pads the ids as Hugging Face does (to a
 * multiple of the chunk lengths' least common multiple when L exceeds the smallest chunk
 * length; the padding is masked, which switches on the padding bucket of the LSH layers) and
 * crops the output back to L.
 */
export class ReformerModel {
  readonly #core: ReformerCore;

  private constructor(core: ReformerCore) {
    this.#core = core;
  }

  get config(): ConfigValues {
    return this.#core.config;
  }

  get placement(): Placement {
    return this.#core.placement;
  }

  static async fromPretrained(dir: string, opts: PlacementOptions = {}): Promise<ReformerModel> {
    const { weights, config } = await loadCheckpoint(dir);
    let model: ReformerModel;
    try {
      model = await ReformerModel.fromWeights(weights, { ...opts, config });
    } catch (error) {
      for (const t of weights.values()) t.dispose();
      throw error;
    }
    adoptWeights(model.#core.readers(), weights);
    return model;
  }

  static async fromWeights(weights: WeightMap, opts: ReformerOptions): Promise<ReformerModel> {
    const FN = 'ReformerModel.fromWeights';
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`${FN}: opts must be { config, prefix?, device?, dtype? }, got ${describe(opts)}`);
    const core = await ReformerCore.build(weights, opts.config, basePrefix(weights, opts.prefix), checkPlacement(FN, opts), FN);
    return new ReformerModel(core);
  }

  async forward(inputs: ReformerForward): Promise<ReformerOutput> {
    return { lastHiddenState: await this.#core.forward('ReformerModel.forward', inputs) };
  }

  dispose(): void {
    this.#core.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

export interface ReformerLMOutput extends ReformerOutput {
  /** [B, L, vocab_size]. */
  logits: Tensor;
}

/**
 * Hugging Face's ReformerModelWithLMHead: ReformerModel's output through lm_head.decoder
 * ([vocab, 2·hidden], no bias of its own) plus lm_head.bias. As in Hugging Face the
 * configuration must be a decoder with no chunks attended after.
 */
export class ReformerModelWithLMHead {
  readonly #core: ReformerCore;
  readonly #decoder: Tensor;
  readonly #bias: Tensor;
  readonly #head: WeightReader;

  private constructor(core: ReformerCore, head: WeightReader, decoder: Tensor, bias: Tensor) {
    this.#core = core;
    this.#head = head;
    this.#decoder = decoder;
    this.#bias = bias;
  }

  get config(): ConfigValues {
    return this.#core.config;
  }

  get placement(): Placement {
    return this.#core.placement;
  }

  static async fromPretrained(dir: string, opts: PlacementOptions = {}): Promise<ReformerModelWithLMHead> {
    const { weights, config } = await loadCheckpoint(dir);
    let model: ReformerModelWithLMHead;
    try {
      model = await ReformerModelWithLMHead.fromWeights(weights, { ...opts, config });
    } catch (error) {
      for (const t of weights.values()) t.dispose();
      throw error;
    }
    adoptWeights([...model.#core.readers(), model.#head], weights);
    return model;
  }

  /** Weights under 'reformer.' and 'lm_head.' (as save_pretrained writes them); `prefix` is prepended to both. */
  static async fromWeights(weights: WeightMap, opts: ReformerOptions): Promise<ReformerModelWithLMHead> {
    const FN = 'ReformerModelWithLMHead.fromWeights';
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`${FN}: opts must be { config, prefix?, device?, dtype? }, got ${describe(opts)}`);
    const c = reformerConfig(opts.config, FN);
    if (!c.boolean('is_decoder')) throw c.unsupported('is_decoder', false, 'ReformerModelWithLMHead needs a decoder, as in Hugging Face');
    for (const key of ['lsh_num_chunks_after', 'local_num_chunks_after'])
      if (c.int(key) !== 0) throw c.unsupported(key, c.raw(key), 'ReformerModelWithLMHead attends to no later chunk, as in Hugging Face');
    const placement = checkPlacement(FN, opts);
    const prefix = opts.prefix ?? '';
    const core = await ReformerCore.build(weights, opts.config, `${prefix}reformer.`, placement, FN);
    const head = new WeightReader(weights, `${prefix}lm_head.`, placement);
    try {
      const vocab = c.int('vocab_size', 1), hidden = c.int('hidden_size', 1);
      const decoder = await head.get('decoder.weight', [vocab, 2 * hidden]);
      // save_pretrained keeps one of the two aliases of the bias: lm_head.bias, or lm_head.decoder.bias.
      const bias = await head.get(head.has('bias') || !head.has('decoder.bias') ? 'bias' : 'decoder.bias', [vocab]);
      return new ReformerModelWithLMHead(core, head, decoder, bias);
    } catch (error) {
      head.dispose();
      core.dispose();
      throw error;
    }
  }

  async forward(inputs: ReformerForward): Promise<ReformerLMOutput> {
    const lastHiddenState = await this.#core.forward('ReformerModelWithLMHead.forward', inputs);
    try {
      return { lastHiddenState, logits: await linear(lastHiddenState, this.#decoder, this.#bias, inputs.signal ? { signal: inputs.signal } : undefined) };
    } catch (error) {
      lastHiddenState.dispose();
      throw error;
    }
  }

  dispose(): void {
    this.#core.dispose();
    this.#head.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
