import type { CancelToken } from '../binding.js';
import { AttentionError, fromNativeError } from './errors.js';
import { native } from './native.js';
import type { Tensor } from './tensor.js';

type Outputs = Tensor | Record<string, Tensor>;

function disposeAll(outputs: Outputs | undefined): void {
  if (!outputs) return;
  if ('dispose' in outputs && typeof outputs.dispose === 'function') outputs.dispose();
  else for (const t of Object.values(outputs as Record<string, Tensor>)) t.dispose();
}

/**
 * @internal Runs one native op: allocates its outputs, links `signal` to a native cancel
 * flag, and turns native failures into AttentionError / TypeError / RangeError. Outputs of
 * a failed or aborted op are disposed.
 */
export async function runNative<T extends Outputs>(
  op: string,
  signal: AbortSignal | undefined,
  allocate: () => T,
  call: (outputs: T, cancel: CancelToken | undefined) => Promise<void>,
): Promise<T> {
  if (signal?.aborted) throw new AttentionError('ABORTED', `${op}: aborted before it started`);
  let outputs: T | undefined;
  let cancel: CancelToken | undefined;
  const onAbort = () => cancel?.cancel();
  try {
    outputs = allocate();
    if (signal) {
      cancel = new native.CancelToken();
      signal.addEventListener('abort', onAbort, { once: true });
    }
    await call(outputs, cancel);
    return outputs;
  } catch (error) {
    disposeAll(outputs);
    throw fromNativeError(error, op);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
