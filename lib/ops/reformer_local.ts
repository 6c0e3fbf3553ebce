import { native } from '../native.js';
import { runNative } from '../run.js';
import { Tensor } from '../tensor.js';
import {
  checkBoolean, checkInt, checkOptions, checkSameDevice, checkSignal, checkTensor, FLOAT_DTYPES,
} from '../validate.js';
import { checkLayout, checkQueryKeyValue, nativeLayout, type AttentionLayout } from './layout.js';
import { checkPaddingMask } from './lsh.js';

export interface ReformerLocalAttentionOptions {
  /** Queries per chunk, >= 1 (Hugging Face's local_attn_chunk_length). L <= chunkLength is full attention. */
  chunkLength: number;
  /** Chunks before each chunk that it attends to; default 1 (local_num_chunks_before). */
  chunksBefore?: number;
  /** Chunks after each chunk that it attends to; default 0 (local_num_chunks_after). */
  chunksAfter?: number;
  /** A query may not see later positions (Hugging Face's is_decoder); default false. */
  causal?: boolean;
  /** int32 [B, L]: 1 real token, 0 padding (masked as a key). */
  paddingMask?: Tensor;
  /** 'bhld' (default): [B, H, L, D]; 'blhd': [B, L, H·D] with H = heads, read and written in place. */
  layout?: AttentionLayout;
  /** H, required with layout 'blhd'. */
  heads?: number;
  signal?: AbortSignal;
}

const FN = 'reformerLocalAttention';
const MAX_INDEX = 2 ** 31 - 1;

/**
 * Reformer's LocalSelfAttention (Hugging Face's) before heads are merged: q, k, v [B, H, L, D]
 * (or [B, L, H·D] with layout 'blhd') -> the same shape.
 *
 * Keys are divided by sqrt(D), queries used as they are. With L > chunkLength the sequence is
 * cut into chunks of chunkLength and chunk i attends to chunks i - chunksBefore .. i + chunksAfter,
 * wrapping around the ends as Hugging Face's _look_adjacent does; a length that is not a
 * multiple of chunkLength is padded at the end with padding tokens, as its ReformerModel pads
 * it. Padding keys, and with `causal` later positions, are replaced by -1e9 (-1e4 in half
 * precision) before a softmax by logsumexp; there is no self mask. L <= chunkLength is full
 * attention with the same masks. It runs on the chunk kernels of lshAttention, over the
 * identity order.
 */
export async function reformerLocalAttention(q: Tensor, k: Tensor, v: Tensor, opts: ReformerLocalAttentionOptions): Promise<Tensor> {
  checkTensor(FN, 'q', q, { dtypes: FLOAT_DTYPES });
  checkTensor(FN, 'k', k, { dtypes: FLOAT_DTYPES });
  checkTensor(FN, 'v', v, { dtypes: FLOAT_DTYPES });
  const o = checkOptions(FN, opts, [
    'chunkLength', 'chunksBefore', 'chunksAfter', 'causal', 'paddingMask', 'layout', 'heads', 'signal',
  ], true);
  const layout = checkLayout(FN, o);
  const dims = checkQueryKeyValue(FN, q, k, v, layout);
  if (o.chunkLength === undefined) throw new TypeError(`${FN}: opts.chunkLength is required (queries per chunk)`);
  const chunkLength = checkInt(FN, 'opts.chunkLength', o.chunkLength, 1, MAX_INDEX - dims.L);
  const chunksBefore = o.chunksBefore === undefined ? 1 : checkInt(FN, 'opts.chunksBefore', o.chunksBefore, 0);
  const chunksAfter = o.chunksAfter === undefined ? 0 : checkInt(FN, 'opts.chunksAfter', o.chunksAfter, 0);
  if (chunkLength * (1 + chunksBefore + chunksAfter) > MAX_INDEX)
    throw new RangeError(`${FN}: chunkLength · (1 + chunksBefore + chunksAfter) = ${chunkLength * (1 + chunksBefore + chunksAfter)} keys per query must fit int32`);
  const causal = o.causal === undefined ? false : checkBoolean(FN, 'opts.causal', o.causal);
  const mask = o.paddingMask === undefined ? undefined : checkPaddingMask(FN, o.paddingMask, dims.B, dims.L);
  checkSameDevice(FN, { q, k, v, 'opts.paddingMask': mask });
  const signal = checkSignal(FN, o.signal);
  const nq = q._native(FN, 'q'), nk = k._native(FN, 'k'), nv = v._native(FN, 'v');
  const nm = mask ? mask._native(FN, 'opts.paddingMask') : null;
  const nativeOptions = { chunkLength, chunksBefore, chunksAfter, causal, ...nativeLayout(layout, dims) };
  return runNative(FN, signal, () => Tensor._allocate(q.dtype, q.shape, q._deviceIndex, FN), (out, cancel) =>
    native.reformerLocalAttention(nq, nk, nv, nm, out._native(FN, 'out'), nativeOptions, cancel),
  );
}
