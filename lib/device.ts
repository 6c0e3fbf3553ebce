import { native } from './native.js';

/** 'cuda' means 'cuda:0'. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/**
 * The instruction set the CPU kernels run with: the best one this CPU supports among those
 * the binary was compiled for, unless SPARSE_ATTENTION_CPU names a lower one.
 */
export type CpuKernels = 'avx512' | 'avx2' | 'baseline' | 'neon';

export interface BackendInfo {
  compiledWithCuda: boolean;
  cudaRuntimeVersion?: string;
  devices: Array<{ device: Device; name: string; totalMemory: number }>;
  cpuKernels: CpuKernels;
  /** The levels the binary was compiled for and those this CPU supports, best first. */
  cpuKernelLevels: { compiled: CpuKernels[]; supported: CpuKernels[] };
}

/** What this build of the addon can run on. */
export function backendInfo(): BackendInfo {
  const info = native.backendInfo();
  const result: BackendInfo = {
    compiledWithCuda: info.compiledWithCuda,
    devices: info.devices.map((d) => ({ device: `cuda:${d.index}` as Device, name: d.name, totalMemory: d.totalMemory })),
    cpuKernels: info.cpuKernels,
    cpuKernelLevels: { compiled: [...info.cpuKernelLevels.compiled], supported: [...info.cpuKernelLevels.supported] },
  };
  if (info.cudaRuntimeVersion !== undefined) result.cudaRuntimeVersion = info.cudaRuntimeVersion;
  return result;
}

/** @internal -1 for the CPU, the CUDA ordinal otherwise; undefined if `device` is malformed. */
export function deviceIndex(device: unknown): number | undefined {
  if (device === 'cpu') return -1;
  if (device === 'cuda') return 0;
  if (typeof device === 'string') {
    const m = /^cuda:(\d{1,4})$/.exec(device);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** @internal The canonical name: 'cuda' becomes 'cuda:0'. */
export function canonicalDevice(index: number): Device {
  return index < 0 ? 'cpu' : `cuda:${index}`;
}
