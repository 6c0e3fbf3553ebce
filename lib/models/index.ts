// sparse-attention/models: Hugging Face checkpoints, layers with weights and whole models.
export { CheckpointError, type CheckpointErrorCode } from './errors.js';
export { loadSafetensors } from './safetensors.js';
export { loadCheckpoint, type Checkpoint, type ModelConfig } from './checkpoint.js';
