import { native } from './native.js';

let cpuBytes = 0;

/** @internal Bytes of CPU tensors created or produced by this package that are still alive. */
export function trackCpuBytes(delta: number): void {
  cpuBytes += delta;
}

export interface MemoryStats {
  /** Host memory held by live CPU tensors (their data arrays). */
  cpuBytes: number;
  /** Device memory held by live CUDA tensors plus the pools' cached blocks. */
  cudaBytes: number;
  /** Of cudaBytes: the cached blocks, free for reuse (emptyCache() returns them). */
  cudaCachedBytes: number;
}

export function memoryStats(): MemoryStats {
  const s = native.memoryStats();
  return { cpuBytes, cudaBytes: s.cudaLiveBytes + s.cudaCachedBytes, cudaCachedBytes: s.cudaCachedBytes };
}

/** Returns the cached blocks of every device pool to the driver. */
export function emptyCache(): void {
  native.emptyCache();
}
