export { Tensor } from './tensor.js';
export type { DType, FloatDType, TensorData } from './dtype.js';
export { backendInfo, type BackendInfo, type CpuKernels, type Device } from './device.js';
export { AttentionError, type AttentionErrorCode } from './errors.js';
export { memoryStats, emptyCache, type MemoryStats } from './memory.js';
export { toFloat16, toBFloat16, fromHalf } from './half.js';
export { denseAttention, type DenseAttentionOptions } from './ops/dense.js';
export { localAttention, type LocalAttentionOptions, type GlobalProjections } from './ops/local.js';
export { axialPositionEncoding, type AxialPositionEncodingOptions } from './ops/axial.js';
export {
  lshHash, sortByBucket, lshAttention, type BucketCount, type LshHashOptions, type SortByBucketOptions,
  type LshAttentionOptions,
} from './ops/lsh.js';
export { reformerLocalAttention, type ReformerLocalAttentionOptions } from './ops/reformer_local.js';
export type { AttentionLayout } from './ops/layout.js';
export { linear, type LinearOptions } from './ops/linear.js';
export { layerNorm, type LayerNormOptions } from './ops/layer_norm.js';
export { gelu, relu, tanh, add, type ElementwiseOptions } from './ops/elementwise.js';
export { embedding, type EmbeddingOptions } from './ops/embedding.js';
export { narrow, concat, reshape, type ShapeOptions } from './ops/shape.js';
