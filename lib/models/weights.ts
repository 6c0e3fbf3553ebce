// Parameters by Hugging Face's names: presence and shape checked against what the
// configuration implies, converted to the module's dtype and moved to its device.
import { canonicalDevice, deviceIndex, type Device } from '../device.js';
import type { FloatDType } from '../dtype.js';
import { fromHalf, toBFloat16, toFloat16 } from '../half.js';
import { Tensor } from '../tensor.js';
import { describe, shapeText } from '../validate.js';
import { CheckpointError } from './errors.js';

/** Where a module's parameters come from: loadSafetensors' Map, or any map of names to tensors. */
export type WeightMap = ReadonlyMap<string, Tensor>;

export interface PlacementOptions {
  /** Default 'cpu'. */
  device?: Device;
  /** The dtype the module computes in; default 'float32'. Weights are converted on load. */
  dtype?: FloatDType;
}

export interface Placement {
  device: Device;
  dtype: FloatDType;
}

const FLOAT: readonly string[] = ['float32', 'float16', 'bfloat16'];

/** @internal The device and dtype options of a module, checked. */
export function checkPlacement(fn: string, opts: PlacementOptions): Placement {
  const device = opts.device ?? 'cpu';
  const index = deviceIndex(device);
  if (index === undefined) throw new TypeError(`${fn}: opts.device must be 'cpu', 'cuda' or 'cuda:N', got ${describe(device)}`);
  const dtype = opts.dtype ?? 'float32';
  if (!FLOAT.includes(dtype)) throw new TypeError(`${fn}: opts.dtype must be 'float32', 'float16' or 'bfloat16', got ${describe(dtype)}`);
  return { device: canonicalDevice(index), dtype };
}

/** @internal A float32 host copy of `t`'s values (widened from half precision). */
export async function hostFloats(t: Tensor): Promise<Float32Array> {
  const data = await t.data();
  if (t.dtype === 'float32') return data as Float32Array;
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') return fromHalf(data as Uint16Array, t.dtype);
  return Float32Array.from(data as Int32Array);
}

/** @internal A host tensor of `values` in `dtype`. */
export function hostTensor(values: Float32Array, shape: readonly number[], dtype: FloatDType): Tensor {
  if (dtype === 'float32') return Tensor.from(values, shape);
  return Tensor.from(dtype === 'float16' ? toFloat16(values) : toBFloat16(values), shape, { dtype });
}

/**
 * @internal Reads the parameters of one module: `prefix + name`, of the shape the configuration
 * implies, in the placement's dtype and on its device. Tensors it had to convert or move are
 * the module's own (disposed with it); the caller's tensors are used as they are otherwise.
 */
export class WeightReader {
  readonly owned: Tensor[] = [];
  /** The caller's tensors the module uses as they are. */
  readonly borrowed = new Set<Tensor>();

  constructor(
    private readonly weights: WeightMap,
    private readonly prefix: string,
    readonly placement: Placement,
  ) {}

  has(name: string): boolean {
    return this.weights.has(this.prefix + name);
  }

  /**
   * The parameter `name`, whose stored shape must be `stored`; `as` gives it another shape of
   * the same size (Hugging Face stores axial weights as [l0, 1, d0]).
   */
  async get(name: string, stored: readonly number[], as: readonly number[] = stored): Promise<Tensor> {
    const full = this.prefix + name;
    const t = this.weights.get(full);
    if (t === undefined) throw new CheckpointError('MISSING_WEIGHT', `the weights have no '${full}' (expected shape ${shapeText(stored)})`);
    if (!(t instanceof Tensor)) throw new TypeError(`weights.get('${full}') must be a Tensor, got ${describe(t)}`);
    if (t.shape.length !== stored.length || t.shape.some((d, i) => d !== stored[i]))
      throw new CheckpointError('WEIGHT_SHAPE', `'${full}' has shape ${shapeText(t.shape)}, expected ${shapeText(stored)} from the configuration`);
    if (t.dtype === 'int32') throw new CheckpointError('WEIGHT_SHAPE', `'${full}' is int32, expected a floating-point tensor`);
    const { device, dtype } = this.placement;
    const reshaped = as.length !== stored.length || as.some((d, i) => d !== stored[i]);
    if (t.dtype === dtype && t.device === device && !reshaped) {
      this.borrowed.add(t);
      return t;
    }
    let host: Tensor;
    if (t.dtype === dtype && t.device === 'cpu') {
      host = Tensor.from((await t.data()) as Float32Array | Uint16Array, as, { dtype });
    } else {
      host = hostTensor(await hostFloats(t), as, dtype);
    }
    if (device === 'cpu') return this.own(host);
    try {
      return this.own(await host.to(device));
    } finally {
      if (host !== t) host.dispose();
    }
  }

  private own(t: Tensor): Tensor {
    this.owned.push(t);
    return t;
  }

  /** Frees what this reader made (or adopted). */
  dispose(): void {
    for (const t of this.owned.splice(0)) t.dispose();
  }
}

/**
 * @internal Builds a module from `weights` under `prefix` through one reader, which the
 * module then owns; if building fails, the reader frees what it had read and the error goes on.
 */
export async function withWeightReader<T>(fn: string, weights: WeightMap, opts: PlacementOptions & { prefix?: string },
  build: (reader: WeightReader) => Promise<T>): Promise<T> {
  const reader = new WeightReader(weights, opts.prefix ?? '', checkPlacement(fn, opts));
  try {
    return await build(reader);
  } catch (error) {
    reader.dispose();
    throw error;
  }
}

/**
 * @internal For modules built from weights they load themselves (fromPretrained): the
 * tensors the readers use as they are become theirs, freed with the module; every other
 * tensor of `weights` is freed now.
 */
export function adoptWeights(readers: readonly WeightReader[], weights: WeightMap): void {
  const kept = new Set<Tensor>();
  for (const r of readers) {
    for (const t of r.borrowed) {
      kept.add(t);
      r.owned.push(t);
    }
    r.borrowed.clear();
  }
  for (const t of weights.values()) if (!kept.has(t)) t.dispose();
}

/** @internal Tensors that live until the end of a computation step. */
export class Scope {
  readonly #tensors: Tensor[] = [];

  keep<T extends Tensor>(t: T): T {
    this.#tensors.push(t);
    return t;
  }

  dispose(): void {
    for (const t of this.#tensors.splice(0)) t.dispose();
  }
}

/** A layer that owns the parameters its WeightReader read: dispose() frees the ones it converted or moved. */
export abstract class WeightOwner {
  readonly #reader: WeightReader;

  protected constructor(reader: WeightReader) {
    this.#reader = reader;
  }

  /** @internal */
  get _reader(): WeightReader {
    return this.#reader;
  }

  dispose(): void {
    this.#reader.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
