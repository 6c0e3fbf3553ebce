// The testing addon (test/native/): entry points for the test suite only, built beside the
// addon (sparse_attention_testing.node next to the .node file this process loaded) and never
// part of it. They run the addon's own code over simulated devices and failures.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { nativePath } from '../../lib/native.js';

/**
 * A step of a pool simulation: allocate bytes, release the block of an earlier allocate step
 * (nothing if that allocate failed), empty the cache.
 */
export type PoolStep = ['allocate', number] | ['release', number] | ['emptyCache'];

export interface PoolSimulation {
  /** One per step; `block` identifies the simulated device block an allocate got, `bytes` its size. */
  outcomes: Array<{ ok: boolean; block?: number; bytes?: number; code?: 'OUT_OF_MEMORY' | 'OTHER'; message?: string }>;
  stats: { liveBytes: number; cachedBytes: number; rawAllocations: number; reuses: number };
  device: { usedBytes: number; allocations: number; releases: number };
  /** After every held block is released and the pool destroyed. */
  deviceAfterTeardown: { usedBytes: number; allocations: number; releases: number };
}


export interface TestingAddon {
  /** The device memory pool's logic over a simulated device of `capacityBytes`. */
  _poolSimulation(limitBytes: number, capacityBytes: number, steps: readonly PoolStep[]): PoolSimulation;
  /**
   * An op on a simulated device through the real op runner: its task captures an "output"
   * block, allocates a "scratch" block, queues work and, when `fail`, throws OUT_OF_MEMORY.
   * `events()` lists what happened, in order, once `done` has settled.
   */
  _opRunnerSimulation(fail: boolean): { done: Promise<void>; events(): string[] };
  /** A CPU op whose task throws a std::runtime_error ('std') or a value that is no std::exception ('other'). */
  _internalFailure(kind: 'std' | 'other'): Promise<void>;
  /** SPARSE_ATTENTION_CUDA_MEMORY_LIMIT's parser; null when `text` is not a byte count. */
  _parseByteCount(text: string): number | null;
}

export const testingAddonPath = join(dirname(nativePath), 'sparse_attention_testing.node');
if (!existsSync(testingAddonPath))
  throw new Error(`no testing addon beside ${nativePath}: build the checkout (npm run build:all), which makes both`);

export const testing = createRequire(import.meta.url)(testingAddonPath) as TestingAddon;
