// Reformer's attention layers and axial position embeddings (Hugging Face's
// modeling_reformer) with their weights, on the package's ops. Projections are [B, L, H·D]
// tensors that the attention ops read and write in place (layout 'blhd').
import { axialPositionEncoding } from '../ops/axial.js';
import { linear } from '../ops/linear.js';
import { lshAttention } from '../ops/lsh.js';
import { reformerLocalAttention } from '../ops/reformer_local.js';
import { Tensor } from '../tensor.js';
import { checkTensor, describe, shapeText } from '../validate.js';
import { ConfigReader, type ConfigValues } from './config.js';
import {
  Scope, WeightOwner, WeightReader, withWeightReader, type Placement, type PlacementOptions, type WeightMap,
} from './weights.js';

/** ReformerConfig's defaults (configuration_reformer.py), for keys a config.json leaves out. */
export const REFORMER_DEFAULTS: ConfigValues = {
  attention_head_size: 64, attn_layers: ['local', 'lsh', 'local', 'lsh', 'local', 'lsh'], axial_pos_embds: true,
  axial_pos_shape: [64, 64], axial_pos_embds_dim: [64, 192], chunk_size_lm_head: 0, feed_forward_size: 512,
  hash_seed: null, hidden_act: 'relu', hidden_size: 256, is_decoder: false, layer_norm_eps: 1e-12,
  local_num_chunks_before: 1, local_num_chunks_after: 0, local_attn_chunk_length: 64, lsh_attn_chunk_length: 64,
  lsh_num_chunks_before: 1, lsh_num_chunks_after: 0, max_position_embeddings: 4096, num_attention_heads: 12,
  num_buckets: null, num_hashes: 1, pad_token_id: 0, vocab_size: 320, tie_word_embeddings: false,
};

/** @internal */
export function reformerConfig(config: ConfigValues, owner: string): ConfigReader {
  return new ConfigReader(config, REFORMER_DEFAULTS, owner);
}

export interface ReformerLayerOptions extends PlacementOptions {
  /** config.json parsed (Hugging Face's keys). */
  config: ConfigValues;
  /** Prepended to the parameter names, e.g. 'encoder.layers.1.attention.self_attention.'; default ''. */
  prefix?: string;
}

function checkOptionsObject(fn: string, opts: unknown): asserts opts is ReformerLayerOptions {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`${fn}: opts must be { config, prefix?, device?, dtype? }, got ${describe(opts)}`);
}

/** The attention width H·D and the heads of a Reformer attention layer. */
function attentionShape(c: ConfigReader): { hidden: number; heads: number; headSize: number } {
  return { hidden: c.int('hidden_size', 1), heads: c.int('num_attention_heads', 1), headSize: c.int('attention_head_size', 1) };
}

function checkHidden(fn: string, hidden: unknown, width: number): Tensor {
  const t = checkTensor(fn, 'hidden', hidden, { rank: 3 });
  if (t.shape[2] !== width) throw new RangeError(`${fn}: hidden.shape ${shapeText(t.shape)} must be [B, L, ${width}]`);
  return t;
}

/** A padding mask on `device`: the caller's tensor, or a copy of it kept in `scope`. */
async function onDevice(mask: Tensor | undefined, device: string, scope: Scope): Promise<Tensor | undefined> {
  if (mask === undefined || mask.device === device) return mask;
  return scope.keep(await mask.to(device as never));
}

/** A bucket count: an even number, a list of even factors, or null (set from the length, as Hugging Face does). */
type Buckets = number | number[] | null;

function bucketsOf(c: ConfigReader): Buckets {
  const raw = c.raw('num_buckets');
  if (raw === null || raw === undefined) return null;
  const even = (x: unknown) => Number.isInteger(x) && (x as number) >= 2 && (x as number) % 2 === 0;
  if (Array.isArray(raw) ? raw.length > 0 && raw.every(even) : even(raw)) return raw as number | number[];
  throw c.unsupported('num_buckets', raw, 'expected an even integer >= 2, a list of them, or null');
}

/**
 * LSHSelfAttention._set_num_buckets: 2·L / chunk rounded down to a power of two, factorised
 * into two powers of two when it exceeds 2·max(sqrt(max_position_embeddings / chunk), chunk).
 */
function bucketsForLength(L: number, chunkLength: number, maxPositions: number): number | number[] {
  const pow = Math.floor(Math.log2(2 * Math.floor(L / chunkLength)));
  const limit = 2 * Math.max(Math.floor(Math.sqrt(Math.floor(maxPositions / chunkLength))), chunkLength);
  const n = 2 ** pow;
  return n > limit ? [2 ** Math.floor(pow / 2), 2 ** (pow - Math.floor(pow / 2))] : n;
}

export interface ReformerLSHForward {
  /** int32 [B, L]: 1 real token, 0 padding. */
  paddingMask?: Tensor;
  /** [H, D, nHashes, rotSize/2]: the random rotations (Hugging Face draws them with torch.randn). */
  rotations?: Tensor;
  /** Draws the rotations with the package's generator when none are given; default config.hash_seed, else 0. */
  seed?: number;
  signal?: AbortSignal;
}

/**
 * Hugging Face's LSHSelfAttention: the shared query_key and the value projection (no biases),
 * LSH attention with the configuration's hashes, buckets and chunks, heads merged. forward
 * takes [B, L, hidden] and returns [B, L, H·D] (before ReformerSelfOutput).
 */
export class ReformerLSHSelfAttention extends WeightOwner {
  readonly heads: number;
  readonly headSize: number;
  readonly hidden: number;
  readonly placement: Placement;
  readonly #queryKey: Tensor;
  readonly #value: Tensor;
  readonly #options: { nHashes: number; chunkLength: number; chunksBefore: number; chunksAfter: number; causal: boolean };
  readonly #seed: number;
  readonly #maxPositions: number;
  #buckets: Buckets;

  private constructor(reader: WeightReader, c: ConfigReader, queryKey: Tensor, value: Tensor) {
    const { hidden, heads, headSize } = attentionShape(c);
    super(reader);
    this.placement = reader.placement;
    this.hidden = hidden;
    this.heads = heads;
    this.headSize = headSize;
    this.#queryKey = queryKey;
    this.#value = value;
    this.#options = {
      nHashes: c.int('num_hashes', 1), chunkLength: c.int('lsh_attn_chunk_length', 1), chunksBefore: c.int('lsh_num_chunks_before'),
      chunksAfter: c.int('lsh_num_chunks_after'), causal: c.boolean('is_decoder'),
    };
    const seed = c.optionalInt('hash_seed');
    this.#seed = seed ?? 0;
    this.#maxPositions = c.int('max_position_embeddings', 1);
    this.#buckets = bucketsOf(c);
  }

  static async fromWeights(weights: WeightMap, opts: ReformerLayerOptions): Promise<ReformerLSHSelfAttention> {
    const FN = 'ReformerLSHSelfAttention.fromWeights';
    checkOptionsObject(FN, opts);
    const c = reformerConfig(opts.config, FN);
    const { hidden, heads, headSize } = attentionShape(c);
    const hashSeed = c.optionalInt('hash_seed');
    if (hashSeed !== null && hashSeed > 2 ** 32 - 1) throw c.unsupported('hash_seed', hashSeed, 'expected an integer below 2^32');
    return withWeightReader(FN, weights, opts, async (reader) => {
      const queryKey = await reader.get('query_key.weight', [heads * headSize, hidden]);
      const value = await reader.get('value.weight', [heads * headSize, hidden]);
      return new ReformerLSHSelfAttention(reader, c, queryKey, value);
    });
  }

  /** hidden [B, L, hidden] -> [B, L, H·D]. */
  async forward(hidden: Tensor, opts: ReformerLSHForward = {}): Promise<Tensor> {
    const FN = 'ReformerLSHSelfAttention.forward';
    checkHidden(FN, hidden, this.hidden);
    const scope = new Scope();
    try {
      const signal = opts.signal;
      const qk = scope.keep(await linear(hidden, this.#queryKey, undefined, signal ? { signal } : undefined));
      const v = scope.keep(await linear(hidden, this.#value, undefined, signal ? { signal } : undefined));
      const L = hidden.shape[1]!;
      const o = this.#options;
      // Hugging Face sets num_buckets from the first length it hashes and keeps it.
      if (this.#buckets === null && L > o.chunkLength) this.#buckets = bucketsForLength(L, o.chunkLength, this.#maxPositions);
      const rotations = await onDevice(opts.rotations, hidden.device, scope);
      const mask = await onDevice(opts.paddingMask, hidden.device, scope);
      return await lshAttention(qk, v, {
        ...o, nBuckets: this.#buckets ?? 2, layout: 'blhd', heads: this.heads,
        ...(mask ? { paddingMask: mask } : {}), ...(signal ? { signal } : {}),
        ...(rotations ? { rotations } : { seed: opts.seed ?? this.#seed }),
      });
    } finally {
      scope.dispose();
    }
  }
}

export interface ReformerLocalForward {
  /** int32 [B, L]: 1 real token, 0 padding. */
  paddingMask?: Tensor;
  signal?: AbortSignal;
}

/**
 * Hugging Face's LocalSelfAttention: query, key and value projections (no biases), chunked
 * local attention (reformerLocalAttention), heads merged. forward takes [B, L, hidden] and
 * returns [B, L, H·D] (before ReformerSelfOutput).
 */
export class ReformerLocalSelfAttention extends WeightOwner {
  readonly heads: number;
  readonly headSize: number;
  readonly hidden: number;
  readonly placement: Placement;
  readonly #weights: { query: Tensor; key: Tensor; value: Tensor };
  readonly #options: { chunkLength: number; chunksBefore: number; chunksAfter: number; causal: boolean };

  private constructor(reader: WeightReader, c: ConfigReader, weights: { query: Tensor; key: Tensor; value: Tensor }) {
    const { hidden, heads, headSize } = attentionShape(c);
    super(reader);
    this.placement = reader.placement;
    this.hidden = hidden;
    this.heads = heads;
    this.headSize = headSize;
    this.#weights = weights;
    this.#options = {
      chunkLength: c.int('local_attn_chunk_length', 1), chunksBefore: c.int('local_num_chunks_before'),
      chunksAfter: c.int('local_num_chunks_after'), causal: c.boolean('is_decoder'),
    };
  }

  static async fromWeights(weights: WeightMap, opts: ReformerLayerOptions): Promise<ReformerLocalSelfAttention> {
    const FN = 'ReformerLocalSelfAttention.fromWeights';
    checkOptionsObject(FN, opts);
    const c = reformerConfig(opts.config, FN);
    const { hidden, heads, headSize } = attentionShape(c);
    return withWeightReader(FN, weights, opts, async (reader) => {
      const shape = [heads * headSize, hidden];
      const w = { query: await reader.get('query.weight', shape), key: await reader.get('key.weight', shape), value: await reader.get('value.weight', shape) };
      return new ReformerLocalSelfAttention(reader, c, w);
    });
  }

  /** hidden [B, L, hidden] -> [B, L, H·D]. */
  async forward(hidden: Tensor, opts: ReformerLocalForward = {}): Promise<Tensor> {
    const FN = 'ReformerLocalSelfAttention.forward';
    checkHidden(FN, hidden, this.hidden);
    const scope = new Scope();
    try {
      const signal = opts.signal;
      const project = async (w: Tensor) => scope.keep(await linear(hidden, w, undefined, signal ? { signal } : undefined));
      const q = await project(this.#weights.query), k = await project(this.#weights.key), v = await project(this.#weights.value);
      const mask = await onDevice(opts.paddingMask, hidden.device, scope);
      return await reformerLocalAttention(q, k, v, {
        ...this.#options, layout: 'blhd', heads: this.heads, ...(mask ? { paddingMask: mask } : {}), ...(signal ? { signal } : {}),
      });
    } finally {
      scope.dispose();
    }
  }
}

export interface AxialForward {
  /** int32 [B, L]; default 0..length-1 with B = 1. */
  positionIds?: Tensor;
  /** Positions when positionIds is absent; default l0 · l1. */
  length?: number;
  signal?: AbortSignal;
}

/**
 * Hugging Face's AxialPositionEmbeddings in eval mode: weights.0 [l0, 1, d0] and weights.1
 * [1, l1, d1] (axial_pos_shape (l0, l1), axial_pos_embds_dim (d0, d1), d0 + d1 = hidden_size);
 * position p gets concat(w0[p div l1], w1[p mod l1]).
 */
export class AxialPositionEmbeddings extends WeightOwner {
  readonly shape: readonly [number, number];
  readonly dims: readonly [number, number];
  readonly placement: Placement;
  readonly #weights: [Tensor, Tensor];

  private constructor(reader: WeightReader, shape: [number, number], dims: [number, number], weights: [Tensor, Tensor]) {
    super(reader);
    this.placement = reader.placement;
    this.shape = shape;
    this.dims = dims;
    this.#weights = weights;
  }

  /** prefix: where weights.0 and weights.1 are, e.g. 'embeddings.position_embeddings.'. */
  static async fromWeights(weights: WeightMap, opts: ReformerLayerOptions): Promise<AxialPositionEmbeddings> {
    const FN = 'AxialPositionEmbeddings.fromWeights';
    checkOptionsObject(FN, opts);
    const c = reformerConfig(opts.config, FN);
    const [l0, l1] = c.intList('axial_pos_shape', 2, 1) as [number, number];
    const [d0, d1] = c.intList('axial_pos_embds_dim', 2, 0) as [number, number];
    const hidden = c.int('hidden_size', 1);
    if (d0 + d1 !== hidden) throw c.unsupported('axial_pos_embds_dim', [d0, d1], `the dimensions must add up to hidden_size (${hidden})`);
    return withWeightReader(FN, weights, opts, async (reader) => {
      const w0 = await reader.get('weights.0', [l0, 1, d0], [l0, d0]);
      const w1 = await reader.get('weights.1', [1, l1, d1], [l1, d1]);
      return new AxialPositionEmbeddings(reader, [l0, l1], [d0, d1], [w0, w1]);
    });
  }

  /** [B, L, d0 + d1] on the module's device. */
  async forward(opts: AxialForward = {}): Promise<Tensor> {
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`AxialPositionEmbeddings.forward: opts must be { positionIds?, length? }, got ${describe(opts)}`);
    const scope = new Scope();
    try {
      const ids = await onDevice(opts.positionIds, this.placement.device, scope);
      return await axialPositionEncoding(this.#weights, { ...opts, ...(ids ? { positionIds: ids } : {}) });
    } finally {
      scope.dispose();
    }
  }
}
