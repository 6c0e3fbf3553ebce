import { native } from '../native.js';
import { runNative } from '../run.js';
import { Tensor } from '../tensor.js';
import { checkInt, checkOptions, checkSameDevice, checkSignal, checkTensor, describe, FLOAT_DTYPES, shapeText } from '../validate.js';

export interface AxialPositionEncodingOptions {
  /** int32 [B, L]; default 0..length-1 with B = 1. */
  positionIds?: Tensor;
  /** Number of positions when positionIds is absent; default n0 * n1. */
  length?: number;
  /**
   * 'reformer' (default; Hugging Face's and trax's weights): E[p] = concat(w0[p div n1], w1[p mod n1]).
   * 'seed': E[p] = concat(E1[p mod n0], E2[p div n0]) with weights [E1, E2], E1 of n0 rows.
   */
  layout?: 'reformer' | 'seed';
  signal?: AbortSignal;
}

const FN = 'axialPositionEncoding';

/**
 * Axial positional encodings: two weights [n0, d0] and [n1, d1] factorise a table of n0·n1
 * positions; returns [B, L, d0 + d1].
 */
export async function axialPositionEncoding(weights: Tensor[], opts?: AxialPositionEncodingOptions): Promise<Tensor> {
  if (!Array.isArray(weights) || weights.length !== 2)
    throw new TypeError(`${FN}: weights must be an array of exactly two tensors, got ${describe(weights)}`);
  const w0 = checkTensor(FN, 'weights[0]', weights[0], { rank: 2, dtypes: FLOAT_DTYPES });
  const w1 = checkTensor(FN, 'weights[1]', weights[1], { rank: 2, dtypes: FLOAT_DTYPES });
  if (w1.dtype !== w0.dtype) throw new TypeError(`${FN}: weights[1].dtype '${w1.dtype}' must equal weights[0].dtype '${w0.dtype}'`);
  const o = checkOptions(FN, opts, ['positionIds', 'length', 'layout', 'signal']);
  const [n0, d0] = w0.shape as [number, number];
  const [n1, d1] = w1.shape as [number, number];
  const positions = n0 * n1;
  if (positions === 0) throw new RangeError(`${FN}: weights ${shapeText(w0.shape)} and ${shapeText(w1.shape)} hold no positions`);
  const layout = o.layout === undefined ? 'reformer' : o.layout;
  if (layout !== 'reformer' && layout !== 'seed')
    throw new TypeError(`${FN}: opts.layout must be 'reformer' or 'seed', got ${describe(layout)}`);
  let B = 1, L: number;
  let ids: Tensor | undefined;
  if (o.positionIds !== undefined) {
    ids = checkTensor(FN, 'opts.positionIds', o.positionIds, { rank: 2, dtypes: ['int32'] });
    [B, L] = ids.shape as [number, number];
    if (o.length !== undefined && o.length !== L)
      throw new RangeError(`${FN}: opts.length ${describe(o.length)} must equal positionIds.shape[1] ${L}`);
    if (ids.device === 'cpu') {
      const data = ids._native(FN, 'opts.positionIds').host as Int32Array;
      for (let i = 0; i < data.length; i++) {
        const p = data[i]!;
        if (p < 0 || p >= positions)
          throw new RangeError(`${FN}: opts.positionIds[${Math.floor(i / L)},${i % L}] = ${p} must be in [0, ${positions}) for weights of ${n0}×${n1} positions`);
      }
    }
  } else {
    L = o.length === undefined ? positions : checkInt(FN, 'opts.length', o.length, 0, positions);
  }
  checkSameDevice(FN, { 'weights[0]': w0, 'weights[1]': w1, 'opts.positionIds': ids });
  const signal = checkSignal(FN, o.signal);
  const n0t = w0._native(FN, 'weights[0]'), n1t = w1._native(FN, 'weights[1]');
  const nIds = ids ? ids._native(FN, 'opts.positionIds') : null;
  return runNative(FN, signal, () => Tensor._allocate(w0.dtype, [B, L, d0 + d1], w0._deviceIndex, FN), (out, cancel) =>
    native.axialPositionEncoding(n0t, n1t, nIds, out._native(FN, 'out'), { layout }, cancel),
  );
}
