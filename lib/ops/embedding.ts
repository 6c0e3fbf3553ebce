import { native } from '../native.js';
import { runNative } from '../run.js';
import { Tensor } from '../tensor.js';
import { checkOptions, checkSameDevice, checkSignal, checkTensor, FLOAT_DTYPES, shapeText } from '../validate.js';

export interface EmbeddingOptions {
  signal?: AbortSignal;
}

const FN = 'embedding';

/** [i0,i1] for flat index `i` of a tensor of `shape`. */
function indexText(i: number, shape: readonly number[]): string {
  const at: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    at.unshift(i % shape[d]!);
    i = Math.floor(i / shape[d]!);
  }
  return `[${at.join(',')}]`;
}

/**
 * Embedding lookup as torch.nn.Embedding: ids int32 [...] index the rows of table [n, d];
 * returns [..., d] in the table's dtype. Every id must be in [0, n).
 */
export async function embedding(ids: Tensor, table: Tensor, opts?: EmbeddingOptions): Promise<Tensor> {
  checkTensor(FN, 'ids', ids, { dtypes: ['int32'] });
  checkTensor(FN, 'table', table, { rank: 2, dtypes: FLOAT_DTYPES });
  if (ids.shape.length > 7) throw new RangeError(`${FN}: ids.shape ${shapeText(ids.shape)} has more than 7 dimensions`);
  const [rows, width] = table.shape as [number, number];
  const signal = checkSignal(FN, checkOptions(FN, opts, ['signal']).signal);
  checkSameDevice(FN, { ids, table });
  if (ids.device === 'cpu') {
    const data = ids._native(FN, 'ids').host as Int32Array;
    for (let i = 0; i < data.length; i++)
      if (data[i]! < 0 || data[i]! >= rows)
        throw new RangeError(`${FN}: ids${indexText(i, ids.shape)} = ${data[i]} must be in [0, ${rows}) for table.shape ${shapeText(table.shape)}`);
  }
  const ni = ids._native(FN, 'ids'), nt = table._native(FN, 'table');
  return runNative(FN, signal, () => Tensor._allocate(table.dtype, [...ids.shape, width], ids._deviceIndex, FN), (out, cancel) =>
    native.embedding(ni, nt, out._native(FN, 'out'), cancel),
  );
}
