/** Why a checkpoint, a weight set or a model configuration cannot be used. */
export type CheckpointErrorCode =
  | 'MALFORMED_FILE'      // a safetensors file or index that breaks the format (truncated, bad header, bad offsets)
  | 'MISSING_FILE'        // config.json, model.safetensors or a shard named by the index is absent
  | 'MISSING_WEIGHT'      // a parameter the module needs is not in the weights
  | 'WEIGHT_SHAPE'        // a parameter has another shape than the configuration implies
  | 'UNSUPPORTED_CONFIG'; // a configuration value the model does not implement

/** Rejection reason of loading checkpoints and building layers or models from weights. */
export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  constructor(code: CheckpointErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckpointError';
    this.code = code;
  }
}
