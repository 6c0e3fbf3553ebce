// sparse-attention/models: Hugging Face checkpoints, layers with weights and whole models.
export { CheckpointError, type CheckpointErrorCode } from './errors.js';
export { loadSafetensors } from './safetensors.js';
export { loadCheckpoint, type Checkpoint, type ModelConfig } from './checkpoint.js';
export { LongformerSelfAttention, LongformerModel, type LongformerSelfAttentionOptions, type LongformerAttentionForward, type LongformerForward, type LongformerOutput, type FromPretrainedOptions } from './longformer.js';
export type { WeightMap, PlacementOptions } from './weights.js';
export type { ConfigValues } from './config.js';
export {
  ReformerLSHSelfAttention, ReformerLocalSelfAttention, AxialPositionEmbeddings, type ReformerLayerOptions,
  type ReformerLSHForward, type ReformerLocalForward, type AxialForward,
} from './reformer_layers.js';
export { ReformerModel, ReformerModelWithLMHead, type ReformerForward, type ReformerOutput, type ReformerLMOutput, type ReformerOptions } from './reformer.js';
