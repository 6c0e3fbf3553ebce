// Types of the native addon (prebuilds/<platform>-<arch>/ or build/Release/). Internal: the public API
// is lib/; these functions trust lib/ for validation and only re-check sizes and pointers.

/** 0 float32, 1 float16, 2 bfloat16, 3 int32 */
export type NativeDType = 0 | 1 | 2 | 3;

/** A block of pooled device memory; release() returns it to the pool now. */
export declare class DeviceBuffer {
  private constructor();
  static allocate(device: number, bytes: number): DeviceBuffer; // throws code NO_DEVICE / OUT_OF_MEMORY
  release(): void;
}

/** The native side of an AbortSignal. */
export declare class CancelToken {
  constructor();
  cancel(): void;
}

/** A tensor as the addon reads it: host data on the CPU (device -1) or a device buffer. */
export interface NativeTensor {
  dtype: NativeDType;
  shape: readonly number[];
  device: number;
  host?: Float32Array | Int32Array | Uint16Array;
  buffer?: DeviceBuffer;
}

/** How attention tensors are laid out: [B, H, L, D], or [B, L, H * D] with `heads` heads. */
export interface NativeLayout {
  layout: 'bhld' | 'blhd';
  heads?: number;
}

export interface NativeBackendInfo {
  compiledWithCuda: boolean;
  cudaRuntimeVersion?: string;
  devices: Array<{ index: number; name: string; totalMemory: number }>;
  cpuKernels: 'avx512' | 'avx2' | 'baseline' | 'neon';
  /** The CPU kernel levels compiled in and those this CPU supports, best first. */
  cpuKernelLevels: { compiled: Array<'avx512' | 'avx2' | 'baseline' | 'neon'>; supported: Array<'avx512' | 'avx2' | 'baseline' | 'neon'> };
}

export interface Binding {
  DeviceBuffer: typeof DeviceBuffer;
  CancelToken: typeof CancelToken;
  backendInfo(): NativeBackendInfo;
  memoryStats(): { cudaLiveBytes: number; cudaCachedBytes: number };
  emptyCache(): void;
  /** Device time of each CUDA op since the last call, when SPARSE_ATTENTION_DEVICE_TIMING=1. */
  takeDeviceTimings(): Array<{ op: string; ms: number }>;
  copyTensor(src: NativeTensor, dst: NativeTensor, cancel?: CancelToken): Promise<void>;
  axialPositionEncoding(
    w0: NativeTensor, w1: NativeTensor, positionIds: NativeTensor | null, out: NativeTensor,
    opts: { layout: 'reformer' | 'seed' }, cancel?: CancelToken,
  ): Promise<void>;
  denseAttention(
    q: NativeTensor, k: NativeTensor, v: NativeTensor, out: NativeTensor,
    opts: { scale: number; causal: boolean } & NativeLayout, cancel?: CancelToken,
  ): Promise<void>;
  /** global: the separate global projections, or null for q, k, v themselves. */
  localAttention(
    q: NativeTensor, k: NativeTensor, v: NativeTensor,
    global: { q: NativeTensor; k: NativeTensor; v: NativeTensor } | null,
    attentionMask: NativeTensor | null, out: NativeTensor,
    opts: { left: number; right: number; scale: number } & NativeLayout, cancel?: CancelToken,
  ): Promise<void>;
  lshHash(
    qk: NativeTensor, rotations: NativeTensor, paddingMask: NativeTensor | null, out: NativeTensor,
    opts: { bucketFactors: number[] }, cancel?: CancelToken,
  ): Promise<void>;
  sortByBucket(buckets: NativeTensor, sortedIndex: NativeTensor, undoIndex: NativeTensor, cancel?: CancelToken): Promise<void>;
  lshAttention(
    qk: NativeTensor, v: NativeTensor, rotations: NativeTensor | null, paddingMask: NativeTensor | null, out: NativeTensor,
    opts: {
      bucketFactors: number[]; nHashes: number; chunkLength: number; chunksBefore: number; chunksAfter: number;
      causal: boolean;
    } & NativeLayout,
    cancel?: CancelToken,
  ): Promise<void>;
  /** Reformer's local attention on the LSH chunk kernels (identity order). */
  reformerLocalAttention(
    q: NativeTensor, k: NativeTensor, v: NativeTensor, paddingMask: NativeTensor | null, out: NativeTensor,
    opts: { chunkLength: number; chunksBefore: number; chunksAfter: number; causal: boolean } & NativeLayout,
    cancel?: CancelToken,
  ): Promise<void>;
  /** Strided copies of `blocks` blocks of `length` elements from src to dst (same device and dtype). */
  copyBlocks(
    src: NativeTensor, dst: NativeTensor,
    opts: { blocks: number; length: number; srcOffset: number; srcStride: number; dstOffset: number; dstStride: number },
    cancel?: CancelToken,
  ): Promise<void>;
  /** out [..., out] = x [..., in] · weightᵀ [in, out] + bias [out]. */
  linear(x: NativeTensor, weight: NativeTensor, bias: NativeTensor | null, out: NativeTensor, cancel?: CancelToken): Promise<void>;
  layerNorm(
    x: NativeTensor, weight: NativeTensor, bias: NativeTensor, out: NativeTensor, opts: { eps: number }, cancel?: CancelToken,
  ): Promise<void>;
  activation(x: NativeTensor, out: NativeTensor, opts: { fn: 'gelu' | 'relu' | 'tanh' }, cancel?: CancelToken): Promise<void>;
  add(a: NativeTensor, b: NativeTensor, out: NativeTensor, cancel?: CancelToken): Promise<void>;
  /** out [...ids, width] = table [rows, width] gathered by ids (int32). */
  embedding(ids: NativeTensor, table: NativeTensor, out: NativeTensor, cancel?: CancelToken): Promise<void>;
}
