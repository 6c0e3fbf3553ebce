/** Failure categories of operations that are not argument errors. */
export type AttentionErrorCode = 'NO_DEVICE' | 'OUT_OF_MEMORY' | 'CUDA_ERROR' | 'DISPOSED' | 'ABORTED';

const CODES: ReadonlySet<string> = new Set(['NO_DEVICE', 'OUT_OF_MEMORY', 'CUDA_ERROR', 'DISPOSED', 'ABORTED']);

/** Rejection reason of an operation that failed for a reason other than its arguments. */
export class AttentionError extends Error {
  readonly code: AttentionErrorCode;
  constructor(code: AttentionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AttentionError';
    this.code = code;
  }
}

/**
 * Native errors carry a `code`; they become AttentionErrors with the caller's stack
 * (the native stack ends at the event loop). TypeError/RangeError pass through.
 * @internal
 */
export function fromNativeError(error: unknown, op: string): Error {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && CODES.has(code)) {
      const message = error.message.startsWith(op) ? error.message : `${op}: ${error.message}`;
      return new AttentionError(code as AttentionErrorCode, message);
    }
    if (error instanceof TypeError || error instanceof RangeError) {
      const message = error.message.startsWith(op) ? error.message : `${op}: ${error.message}`;
      return error instanceof TypeError ? new TypeError(message) : new RangeError(message);
    }
    return error;
  }
  return new Error(`${op}: ${String(error)}`);
}
