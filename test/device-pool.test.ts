// The CUDA memory pool's logic (native/cpu/caching_pool.cc) over a simulated device, so that
// reuse, the SPARSE_ATTENTION_CUDA_MEMORY_LIMIT cap, OUT_OF_MEMORY and the statistics are
// proven on every machine, GPU or not.
import { describe, expect, it } from 'vitest';
import type { PoolStep } from '../binding.js';
import { native } from '../lib/native.js';
import { rng } from './helpers/random.js';

const KiB = 1024, MiB = 1024 * KiB;
const simulate = (limit: number, capacity: number, steps: PoolStep[]) => native._poolSimulation(limit, capacity, steps);

describe('device memory pool', () => {
  describe('reuse', () => {
    it('hands a released block to the next request of a similar size', () => {
      const r = simulate(0, 64 * MiB, [['allocate', 3000], ['release', 0], ['allocate', 2900]]);
      expect(r.outcomes[2]!.block).toBe(r.outcomes[0]!.block);
      expect(r.stats).toMatchObject({ rawAllocations: 1, reuses: 1 });
    });

    it('does not reuse a block more than twice the request (bounded waste)', () => {
      const r = simulate(0, 64 * MiB, [['allocate', 8 * MiB], ['release', 0], ['allocate', 3 * MiB]]);
      expect(r.outcomes[2]!.block).not.toBe(r.outcomes[0]!.block);
      expect(r.stats.cachedBytes).toBe(8 * MiB);
    });

    it('rounds small requests to 512 bytes and large ones to 1 MiB', () => {
      const r = simulate(0, 64 * MiB, [['allocate', 1], ['allocate', 513], ['allocate', MiB + 1]]);
      expect(r.stats.liveBytes).toBe(512 + 1024 + 2 * MiB);
    });

    it('gives distinct blocks to zero-byte requests', () => {
      const r = simulate(0, MiB, [['allocate', 0], ['allocate', 0]]);
      expect(r.outcomes[0]!.block).not.toBe(r.outcomes[1]!.block);
    });

    it('ignores a second release of the same block instead of handing it out twice', () => {
      const r = simulate(0, 64 * MiB, [['allocate', 4096], ['release', 0], ['release', 0], ['allocate', 4096], ['allocate', 4096]]);
      expect(r.outcomes[3]!.block).not.toBe(r.outcomes[4]!.block);
      expect(r.stats).toEqual({ liveBytes: 8192, cachedBytes: 0, rawAllocations: 2, reuses: 1 });
    });
  });

  describe('the limit', () => {
    it('rejects with OUT_OF_MEMORY a request that would take the pool past its limit', () => {
      const r = simulate(4 * MiB, 64 * MiB, [['allocate', 3 * MiB], ['allocate', 2 * MiB]]);
      expect(r.outcomes[0]!.ok).toBe(true);
      expect(r.outcomes[1]).toMatchObject({ ok: false, code: 'OUT_OF_MEMORY' });
      expect(r.outcomes[1]!.message).toMatch(/cannot allocate 2097152 bytes.*limit 4194304/);
      expect(r.device.usedBytes).toBe(3 * MiB);
    });

    it('counts cached blocks against the limit, and empties the cache to make room', () => {
      // The cached 3 MiB block is more than twice the request, so it is not reused.
      const r = simulate(3.5 * MiB, 64 * MiB, [['allocate', 3 * MiB], ['release', 0], ['allocate', MiB]]);
      expect(r.outcomes[2]!.ok).toBe(true);
      expect(r.device.releases).toBe(1);
      expect(r.stats).toMatchObject({ liveBytes: MiB, cachedBytes: 0 });
    });

    it('rejects a request larger than any device without touching the device', () => {
      const r = simulate(0, 64 * MiB, [['allocate', 2 ** 52]]);
      expect(r.outcomes[0]).toMatchObject({ ok: false, code: 'OUT_OF_MEMORY' });
      expect(r.device.allocations).toBe(0);
    });
  });

  describe('out of device memory', () => {
    it('empties the cache and retries once when the device itself is full', () => {
      const r = simulate(0, 6 * MiB, [['allocate', 2 * MiB], ['allocate', 3 * MiB], ['release', 1], ['allocate', 4 * MiB]]);
      expect(r.outcomes[3]!.ok).toBe(true);
      expect(r.device).toMatchObject({ releases: 1, usedBytes: 6 * MiB });
    });

    it('rejects with OUT_OF_MEMORY when even an empty cache leaves too little, and stays usable', () => {
      const r = simulate(0, 4 * MiB, [
        ['allocate', 3 * MiB], ['allocate', 512 * KiB], ['release', 1], ['allocate', 2 * MiB], ['allocate', 512 * KiB], ['release', 0],
        ['allocate', 3 * MiB],
      ]);
      expect(r.outcomes[3]).toMatchObject({ ok: false, code: 'OUT_OF_MEMORY' });
      expect(r.outcomes[3]!.message).toMatch(/3145728 bytes in use/);
      expect(r.outcomes[4]!.ok).toBe(true);
      expect(r.outcomes[6]!.block).toBe(r.outcomes[0]!.block);
    });
  });

  describe('statistics', () => {
    it('match a model of the pool over 5,000 random steps, and the device is empty after teardown', () => {
      const next = rng(0xb10c);
      const steps: PoolStep[] = [];
      const held: number[] = [];
      for (let i = 0; i < 5000; i++) {
        const roll = next();
        if (roll < 0.5 || held.length === 0) {
          steps.push(['allocate', Math.floor(next() ** 3 * 6 * MiB)]);
          held.push(i);
        } else if (roll < 0.97) {
          steps.push(['release', held.splice(Math.floor(next() * held.length), 1)[0]!]);
        } else {
          steps.push(['emptyCache']);
        }
      }
      const r = simulate(48 * MiB, 64 * MiB, steps);
      const rounded = (bytes: number) => (bytes === 0 ? 512 : bytes >= MiB ? Math.ceil(bytes / MiB) * MiB : Math.ceil(bytes / 512) * 512);
      steps.forEach((step, i) => {
        const got = r.outcomes[i]!;
        if (step[0] !== 'allocate' || !got.ok) return;
        expect(got.bytes).toBeGreaterThanOrEqual(rounded(step[1]));
        expect(got.bytes).toBeLessThanOrEqual(2 * rounded(step[1]));
      });
      const live = held.filter((i) => r.outcomes[i]!.ok).reduce((sum, i) => sum + r.outcomes[i]!.bytes!, 0);
      expect(r.stats.liveBytes).toBe(live);
      expect(r.stats.liveBytes + r.stats.cachedBytes).toBe(r.device.usedBytes);
      expect(r.device.usedBytes).toBeLessThanOrEqual(48 * MiB);
      expect(r.stats.reuses).toBeGreaterThan(0);
      expect(r.outcomes.some((o) => o.code === 'OUT_OF_MEMORY')).toBe(true);
      expect(r.deviceAfterTeardown.usedBytes).toBe(0);
      expect(r.deviceAfterTeardown.releases).toBe(r.deviceAfterTeardown.allocations);
    });
  });

  describe('SPARSE_ATTENTION_CUDA_MEMORY_LIMIT', () => {
    it('accepts bytes with an optional k, m, g or t suffix', () => {
      expect(native._parseByteCount('1048576')).toBe(MiB);
      expect(native._parseByteCount('512m')).toBe(512 * MiB);
      expect(native._parseByteCount('1.5G')).toBe(1.5 * 1024 * MiB);
      expect(native._parseByteCount('64k')).toBe(64 * KiB);
      expect(native._parseByteCount('1t')).toBe(1024 * 1024 * MiB);
    });

    it('rejects anything else, so that a typo is reported instead of silently capping the pool', () => {
      for (const text of ['', 'x', '-1', '1kb', '2 g', ' 1m', '1e9', '1m!', '.', '99999999999t'])
        expect(native._parseByteCount(text), text).toBeNull();
    });
  });
});
