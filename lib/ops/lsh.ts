import { native } from '../native.js';
import { normalFloat32 } from '../random.js';
import { runNative } from '../run.js';
import { Tensor } from '../tensor.js';
import {
  checkBoolean, checkInt, checkOptions, checkSameDevice, checkShapeEquals, checkSignal, checkTensor, describe,
  FLOAT_DTYPES, shapeText,
} from '../validate.js';
import { checkLayout, headDims, nativeLayout, type AttentionLayout, type HeadDims } from './layout.js';

/** Bucket count: an even number, or a list of even factors (a factorised hash). */
export type BucketCount = number | number[];

export interface LshHashOptions {
  /** [H, D, nHashes, rotSize/2], float32 or qk's dtype; rotSize = nBuckets or the sum of its factors. */
  rotations: Tensor;
  nBuckets: BucketCount;
  /** int32 [B, L]: 1 real token, 0 padding (padding tokens get the extra last bucket). */
  paddingMask?: Tensor;
  signal?: AbortSignal;
}

export interface SortByBucketOptions {
  signal?: AbortSignal;
}

export interface LshAttentionOptions {
  /** Hash rounds, >= 1. */
  nHashes: number;
  nBuckets: BucketCount;
  /** Queries per chunk of the sorted sequence, >= 1. L <= chunkLength runs full attention. */
  chunkLength: number;
  /**
   * Chunks before each chunk that it attends to, wrapping around the sorted sequence of all
   * rounds; default 1. When L > chunkLength, at most the number of chunks,
   * nHashes·ceil(L/chunkLength) (Hugging Face's look-adjacent gives a shift of that many or
   * more the chunk itself; here it would only wrap around again).
   */
  chunksBefore?: number;
  /** Chunks after each chunk that it attends to; default 0. Bounded like chunksBefore. */
  chunksAfter?: number;
  /** A query may not see later original positions; default false. */
  causal?: boolean;
  /** int32 [B, L]: 1 real token, 0 padding. */
  paddingMask?: Tensor;
  /** [H, D, nHashes, rotSize/2], float32 or qk's dtype. Exclusive with `seed`. */
  rotations?: Tensor;
  /** Draws the rotations with the package's generator (lib/random.ts); default 0. */
  seed?: number;
  /** 'bhld' (default): [B, H, L, D]; 'blhd': [B, L, H·D] with H = heads, read and written in place. */
  layout?: AttentionLayout;
  /** H, required with layout 'blhd'. */
  heads?: number;
  signal?: AbortSignal;
}

const MAX_INDEX = 2 ** 31 - 1;
const MAX_FACTORS = 30;

/** The factors of a bucket count: even integers >= 2 whose product fits int32. */
function checkBucketFactors(fn: string, value: unknown): number[] {
  const name = 'opts.nBuckets';
  if (typeof value === 'number') return [checkEvenBucketCount(fn, name, value)];
  if (!Array.isArray(value))
    throw new TypeError(`${fn}: ${name} must be an even integer >= 2 or a list of them, got ${describe(value)}`);
  if (value.length === 0 || value.length > MAX_FACTORS)
    throw new RangeError(`${fn}: ${name} must list 1 to ${MAX_FACTORS} factors, got ${value.length}`);
  const factors = value.map((f, i) => checkEvenBucketCount(fn, `${name}[${i}]`, f));
  const product = factors.reduce((a, b) => a * b, 1);
  if (product >= MAX_INDEX)
    throw new RangeError(`${fn}: the product of ${name} ${describe(value)} is ${product}, more than int32 buckets allow`);
  return factors;
}

function checkEvenBucketCount(fn: string, name: string, value: unknown): number {
  const n = checkInt(fn, name, value, 2);
  if (n % 2 !== 0) throw new RangeError(`${fn}: ${name} must be even, got ${n}`);
  return n;
}

/** int32 [B, L] on qk's device; on the CPU its values are checked to be 0 or 1. */
export function checkPaddingMask(fn: string, value: unknown, B: number, L: number): Tensor {
  const mask = checkTensor(fn, 'opts.paddingMask', value, { rank: 2, dtypes: ['int32'] });
  checkShapeEquals(fn, 'opts.paddingMask', mask, [B, L], '[B,L] of qk');
  if (mask.device === 'cpu') {
    const data = mask._native(fn, 'opts.paddingMask').host as Int32Array;
    const bad = data.findIndex((x) => x !== 0 && x !== 1);
    if (bad >= 0)
      throw new RangeError(`${fn}: opts.paddingMask[${Math.floor(bad / L)},${bad % L}] = ${data[bad]} must be 0 or 1`);
  }
  return mask;
}

/** [H, D, nHashes, rotSize/2], float32 or qk's dtype. */
function checkRotations(fn: string, value: unknown, qk: Tensor, { H, D }: HeadDims, nHashes: number | undefined,
                        factors: number[]): Tensor {
  const rotations = checkTensor(fn, 'opts.rotations', value, { rank: 4, dtypes: FLOAT_DTYPES });
  const halfRotation = factors.reduce((a, b) => a + b, 0) / 2;
  const rounds = nHashes ?? rotations.shape[2]!;
  checkShapeEquals(fn, 'opts.rotations', rotations, [H, D, rounds, halfRotation], '[H,D,nHashes,rotSize/2]');
  if (rounds < 1) throw new RangeError(`${fn}: opts.rotations.shape ${shapeText(rotations.shape)} must hold at least one hash round`);
  if (rotations.dtype !== 'float32' && rotations.dtype !== qk.dtype)
    throw new TypeError(`${fn}: opts.rotations.dtype must be float32 or qk.dtype '${qk.dtype}', got '${rotations.dtype}'`);
  return rotations;
}

/** Sorted slots and bucket ids of every head are int32 values. */
function checkIndexRange(fn: string, { B, H }: HeadDims, nHashes: number, paddedLength: number, factors: number[]): void {
  const slots = B * H * nHashes * paddedLength;
  const buckets = nHashes * (factors.reduce((a, b) => a * b, 1) + 1);
  if (slots > MAX_INDEX || buckets > MAX_INDEX)
    throw new RangeError(
      `${fn}: B·H·nHashes·L = ${slots} and nHashes·(buckets + 1) = ${buckets} must fit int32 (${MAX_INDEX})`,
    );
}

/**
 * The chunks each chunk attends to, on the chunked path: chunksBefore and chunksAfter each at
 * most nChunks, the number of chunks of the sorted sequence (all rounds). Hugging Face's
 * _look_adjacent takes a shift of nChunks or more as the chunk itself, the kernels wrap it
 * around: the two agree up to nChunks, and larger values add nothing but repeats. The keys
 * per query, chunkLength·(1 + chunksBefore + chunksAfter), are int32 indices in the kernels.
 */
function checkChunkNeighbours(fn: string, nChunks: number, chunkLength: number, before: number, after: number): void {
  for (const [name, value] of [['opts.chunksBefore', before], ['opts.chunksAfter', after]] as const)
    if (value > nChunks)
      throw new RangeError(
        `${fn}: ${name} must be at most the number of chunks, nHashes·ceil(L/chunkLength) = ${nChunks}, got ${value}`,
      );
  const keys = chunkLength * (1 + before + after);
  if (keys > MAX_INDEX)
    throw new RangeError(
      `${fn}: opts.chunksBefore and opts.chunksAfter give chunkLength·(1 + chunksBefore + chunksAfter) = ${keys} keys per query, more than int32 indexing allows`,
    );
}

/**
 * LSH buckets of qk [B, H, L, D] (docs/semantics.md 1.3): int32 [B, H, nHashes·L], round r at
 * [r·L, (r+1)·L), offset by r·N' where N' is the bucket count plus one when any token of the
 * batch is padding; padding tokens take that extra last bucket. nHashes is rotations.shape[2].
 */
export async function lshHash(qk: Tensor, opts: LshHashOptions): Promise<Tensor> {
  const FN = 'lshHash';
  checkTensor(FN, 'qk', qk, { rank: 4, dtypes: FLOAT_DTYPES });
  const o = checkOptions(FN, opts, ['rotations', 'nBuckets', 'paddingMask', 'signal'], true);
  const factors = checkBucketFactors(FN, o.nBuckets);
  const dims = headDims(FN, 'qk', qk, { layout: 'bhld' });
  const rotations = checkRotations(FN, o.rotations, qk, dims, undefined, factors);
  const { B, H, L } = dims;
  const nHashes = rotations.shape[2]!;
  const mask = o.paddingMask === undefined ? undefined : checkPaddingMask(FN, o.paddingMask, B, L);
  checkIndexRange(FN, dims, nHashes, L, factors);
  checkSameDevice(FN, { qk, 'opts.rotations': rotations, 'opts.paddingMask': mask });
  const signal = checkSignal(FN, o.signal);
  const nqk = qk._native(FN, 'qk'), nr = rotations._native(FN, 'opts.rotations');
  const nm = mask ? mask._native(FN, 'opts.paddingMask') : null;
  return runNative(FN, signal, () => Tensor._allocate('int32', [B, H, nHashes * L], qk._deviceIndex, FN), (out, cancel) =>
    native.lshHash(nqk, nr, nm, out._native(FN, 'out'), { bucketFactors: factors }, cancel),
  );
}

/**
 * Stable sort of each row of buckets int32 [B, H, N] by value, then position: sortedIndex[j]
 * is the position of the j-th smallest bucket, undoIndex its inverse
 * (undoIndex[sortedIndex[j]] = j). Any int32 values; O(N) work per row (counting/radix sort).
 */
export async function sortByBucket(
  buckets: Tensor, opts?: SortByBucketOptions,
): Promise<{ sortedIndex: Tensor; undoIndex: Tensor }> {
  const FN = 'sortByBucket';
  checkTensor(FN, 'buckets', buckets, { rank: 3, dtypes: ['int32'] });
  const o = checkOptions(FN, opts, ['signal']);
  const signal = checkSignal(FN, o.signal);
  const nb = buckets._native(FN, 'buckets');
  const allocate = () => {
    const sortedIndex = Tensor._allocate('int32', buckets.shape, buckets._deviceIndex, FN);
    try {
      return { sortedIndex, undoIndex: Tensor._allocate('int32', buckets.shape, buckets._deviceIndex, FN) };
    } catch (error) {
      sortedIndex.dispose();
      throw error;
    }
  };
  return runNative(FN, signal, allocate, (out, cancel) =>
    native.sortByBucket(nb, out.sortedIndex._native(FN, 'sortedIndex'), out.undoIndex._native(FN, 'undoIndex'), cancel),
  );
}

/**
 * Reformer LSH self-attention (docs/semantics.md section 1) of qk and v [B, H, L, D]: returns
 * [B, H, L, D] (or [B, L, H·D] each with layout 'blhd'). qk is the shared query/key: queries
 * use it raw, keys its normalised copy.
 *
 * - L <= chunkLength: full attention with the same masks; no hashing (rotations unused).
 * - L > chunkLength, L not a multiple of chunkLength: as Hugging Face's ReformerModel, the
 *   sequence is padded at the end to the next multiple with padding tokens (so the padding
 *   bucket applies), and the padded rows are dropped. The padding is index logic inside the
 *   kernels: nothing is copied.
 * - Without `rotations`, they are drawn from `seed` (default 0) by the package's generator
 *   (lib/random.ts) as float32 [H, D, nHashes, rotSize/2] in row-major order.
 * - float16/bfloat16 inputs accumulate in float32 and use the half-precision mask values
 *   -1e4 / -1e3 instead of -1e9 / -1e5.
 * Memory: O(B·H·nHashes·L·D), never L×L.
 */
export async function lshAttention(qk: Tensor, v: Tensor, opts: LshAttentionOptions): Promise<Tensor> {
  const FN = 'lshAttention';
  checkTensor(FN, 'qk', qk, { dtypes: FLOAT_DTYPES });
  checkTensor(FN, 'v', v, { dtypes: FLOAT_DTYPES });
  const o = checkOptions(FN, opts, [
    'nHashes', 'nBuckets', 'chunkLength', 'chunksBefore', 'chunksAfter', 'causal', 'paddingMask', 'rotations', 'seed',
    'layout', 'heads', 'signal',
  ], true);
  const layout = checkLayout(FN, o);
  const dims = headDims(FN, 'qk', qk, layout);
  checkShapeEquals(FN, 'v', v, qk.shape, 'qk.shape');
  if (v.dtype !== qk.dtype) throw new TypeError(`${FN}: v.dtype '${v.dtype}' must equal qk.dtype '${qk.dtype}'`);
  const nHashes = checkInt(FN, 'opts.nHashes', o.nHashes, 1);
  const factors = checkBucketFactors(FN, o.nBuckets);
  const chunkLength = checkInt(FN, 'opts.chunkLength', o.chunkLength, 1);
  const chunksBefore = o.chunksBefore === undefined ? 1 : checkInt(FN, 'opts.chunksBefore', o.chunksBefore, 0);
  const chunksAfter = o.chunksAfter === undefined ? 0 : checkInt(FN, 'opts.chunksAfter', o.chunksAfter, 0);
  const causal = o.causal === undefined ? false : checkBoolean(FN, 'opts.causal', o.causal);
  const { B, L } = dims;
  const mask = o.paddingMask === undefined ? undefined : checkPaddingMask(FN, o.paddingMask, B, L);
  if (o.rotations !== undefined && o.seed !== undefined)
    throw new TypeError(`${FN}: opts.rotations and opts.seed are exclusive (the seed draws the rotations)`);
  const given = o.rotations === undefined ? undefined : checkRotations(FN, o.rotations, qk, dims, nHashes, factors);
  const seed = o.seed === undefined ? 0 : checkInt(FN, 'opts.seed', o.seed, 0, 2 ** 32 - 1);
  const standard = L <= chunkLength;
  if (!standard) {
    checkIndexRange(FN, dims, nHashes, Math.ceil(L / chunkLength) * chunkLength, factors);
    checkChunkNeighbours(FN, nHashes * Math.ceil(L / chunkLength), chunkLength, chunksBefore, chunksAfter);
  }
  checkSameDevice(FN, { qk, v, 'opts.paddingMask': mask, 'opts.rotations': given });
  const signal = checkSignal(FN, o.signal);

  const nqk = qk._native(FN, 'qk'), nv = v._native(FN, 'v');
  const nm = mask ? mask._native(FN, 'opts.paddingMask') : null;
  const nativeOptions = {
    bucketFactors: factors, nHashes, chunkLength, chunksBefore, chunksAfter, causal, ...nativeLayout(layout, dims),
  };
  const drawn = standard || given ? undefined : await drawRotations(qk, dims, nHashes, factors, seed);
  try {
    const rotations = given ?? drawn;
    const nr = rotations ? rotations._native(FN, 'opts.rotations') : null;
    return await runNative(FN, signal, () => Tensor._allocate(qk.dtype, qk.shape, qk._deviceIndex, FN), (out, cancel) =>
      native.lshAttention(nqk, nv, nr, nm, out._native(FN, 'out'), nativeOptions, cancel),
    );
  } finally {
    drawn?.dispose();
  }
}

/** float32 [H, D, nHashes, rotSize/2] drawn from `seed` by normalFloat32, on qk's device. */
async function drawRotations(qk: Tensor, { H, D }: HeadDims, nHashes: number, factors: number[], seed: number): Promise<Tensor> {
  const shape = [H, D, nHashes, factors.reduce((a, b) => a + b, 0) / 2];
  const host = Tensor.from(normalFloat32(shape.reduce((a, b) => a * b, 1), seed), shape);
  if (qk.device === 'cpu') return host;
  try {
    return await host.to(qk.device);
  } finally {
    host.dispose();
  }
}
