// AbortSignal: a request aborted before its work starts rejects with ABORTED without running;
// one aborted while running stops at the next task boundary; either way its output memory is
// freed and no listener stays on the signal.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { axialPositionEncoding, denseAttention, localAttention, lshAttention, memoryStats, Tensor } from '../lib/index.js';
import { randn } from './helpers/random.js';
import { sanitized } from './helpers/env.js';
import { settleGarbage } from './helpers/memory.js';

const ABORTED = { name: 'AttentionError', code: 'ABORTED' };
const [B, H, L, D] = sanitized ? [1, 4, 1024, 32] : [1, 8, 2048, 64];
const long = () => Tensor.from(randn(B * H * L * D, 7), [B, H, L, D]);

/**
 * Starts `run` and aborts it a quarter of a full run later; returns the time from abort() to
 * the ABORTED rejection. On a loaded machine the timer can fire after the op has finished,
 * which measures nothing: that attempt is discarded and the op started again (5 attempts).
 */
async function abortWhileRunning(run: (signal: AbortSignal) => Promise<Tensor>, fullTime: number): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const controller = new AbortController();
    let settled = false;
    const pending = run(controller.signal).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, fullTime / 4));
    if (settled) {
      (await pending).dispose();
      continue;
    }
    const abortedAt = performance.now();
    controller.abort();
    await expect(pending).rejects.toMatchObject(ABORTED);
    const latency = performance.now() - abortedAt;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    return latency;
  }
  throw new Error('the op finished before the abort in each of 5 attempts: nothing was measured');
}

/**
 * The time an op takes to stop after abort(), at its best over up to three runs: on a loaded
 * machine one run can wait for a CPU long after it stopped working. An op that does not stop at
 * a task boundary is slow in every run.
 */
async function stopLatency(run: (signal: AbortSignal) => Promise<Tensor>, fullTime: number): Promise<number> {
  let best = Infinity;
  for (let attempt = 0; attempt < 3 && best >= fullTime / 4; attempt++) best = Math.min(best, await abortWhileRunning(run, fullTime));
  return best;
}

describe('AbortSignal', () => {
  describe('aborted before the work starts', () => {
    it('rejects with ABORTED, allocates nothing and leaves no listener', async () => {
      const x = Tensor.from(new Float32Array(16), [1, 1, 4, 4]);
      await settleGarbage();
      const before = memoryStats();
      const signal = AbortSignal.abort();
      await expect(denseAttention(x, x, x, { signal })).rejects.toMatchObject(ABORTED);
      await expect(axialPositionEncoding([Tensor.from(new Float32Array(4), [2, 2]), Tensor.from(new Float32Array(4), [2, 2])], { signal }))
        .rejects.toMatchObject(ABORTED);
      expect(memoryStats().cpuBytes).toBe(before.cpuBytes + 32);
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    });

    it('rejects a request aborted while it waits in the queue behind busy worker threads', async () => {
      const x = long();
      await settleGarbage();
      const before = memoryStats().cpuBytes;
      const busy = Array.from({ length: 6 }, () => denseAttention(x, x, x));
      const controller = new AbortController();
      const queued = denseAttention(x, x, x, { signal: controller.signal });
      controller.abort();
      const settled = await Promise.allSettled([queued, ...busy]);
      expect(settled[0]).toMatchObject({ status: 'rejected', reason: ABORTED });
      for (const s of settled.slice(1)) (s as PromiseFulfilledResult<Tensor>).value.dispose();
      expect(memoryStats().cpuBytes).toBe(before);
    });
  });

  describe('aborted while running', () => {
    it('stops a long CPU op at the next task boundary, within a few tasks of work', async () => {
      // Long enough (about a second) that a thread waiting for a CPU is small beside it.
      const [B2, H2, L2, D2] = sanitized ? [1, 8, 4096, 32] : [1, 8, 8192, 64];
      const x = Tensor.from(randn(B2 * H2 * L2 * D2, 4), [B2, H2, L2, D2]);
      const full = performance.now();
      (await denseAttention(x, x, x)).dispose();
      const fullTime = performance.now() - full;
      await settleGarbage();
      const before = memoryStats().cpuBytes;
      const latency = await stopLatency((signal) => denseAttention(x, x, x, { signal }), fullTime);
      expect(latency, `stopped ${latency.toFixed(0)} ms after abort(); a full run takes ${fullTime.toFixed(0)} ms`).toBeLessThan(fullTime / 4);
      expect(memoryStats().cpuBytes).toBe(before);
    });

    it('stops a long localAttention at the next task boundary', async () => {
      const [B2, H2, L2, D2] = sanitized ? [1, 4, 4096, 32] : [1, 8, 8192, 64];
      const x = Tensor.from(randn(B2 * H2 * L2 * D2, 5), [B2, H2, L2, D2]);
      const full = performance.now();
      (await localAttention(x, x, x, { window: 256 })).dispose();
      const fullTime = performance.now() - full;
      await settleGarbage();
      const before = memoryStats().cpuBytes;
      const latency = await stopLatency((signal) => localAttention(x, x, x, { window: 256, signal }), fullTime);
      expect(latency, `stopped ${latency.toFixed(0)} ms after abort(); a full run takes ${fullTime.toFixed(0)} ms`).toBeLessThan(fullTime / 4);
      expect(memoryStats().cpuBytes).toBe(before);
    });

    it('stops a long lshAttention at the next task boundary', async () => {
      const [B2, H2, L2, D2] = sanitized ? [1, 4, 4096, 32] : [1, 8, 16384, 64];
      const x = Tensor.from(randn(B2 * H2 * L2 * D2, 6), [B2, H2, L2, D2]);
      const opts = { nHashes: 4, nBuckets: 64, chunkLength: 64 };
      const full = performance.now();
      (await lshAttention(x, x, opts)).dispose();
      const fullTime = performance.now() - full;
      await settleGarbage();
      const before = memoryStats().cpuBytes;
      const latency = await stopLatency((signal) => lshAttention(x, x, { ...opts, signal }), fullTime);
      expect(latency, `stopped ${latency.toFixed(0)} ms after abort(); a full run takes ${fullTime.toFixed(0)} ms`).toBeLessThan(fullTime / 4);
      expect(memoryStats().cpuBytes).toBe(before);
    });

    it('leaves the thread pool serving: the next request gives the same result as before the abort', async () => {
      const x = Tensor.from(randn(2 * 64 * 16, 8), [1, 2, 64, 16]);
      const reference = await (await denseAttention(x, x, x)).data();
      const big = long();
      const full = performance.now();
      (await denseAttention(big, big, big)).dispose();
      await abortWhileRunning((signal) => denseAttention(big, big, big, { signal }), performance.now() - full);
      expect(await (await denseAttention(x, x, x)).data()).toEqual(reference);
    });
  });

  describe('one signal shared by many requests', () => {
    it('accumulates no listeners over 1,000 completed requests, and aborting it then changes nothing', async () => {
      const controller = new AbortController();
      const x = Tensor.from(new Float32Array(32).fill(1), [1, 2, 4, 4]);
      const outputs = await Promise.all(Array.from({ length: 1000 }, () => denseAttention(x, x, x, { signal: controller.signal })));
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      controller.abort();
      expect(Array.from(await outputs[999]!.data())).toEqual(new Array(32).fill(1));
      for (const out of outputs) out.dispose();
    });

    it('aborts every pending request at once and frees all their outputs', async () => {
      const x = Tensor.from(randn(4 * 512 * 32, 9), [1, 4, 512, 32]);
      await settleGarbage();
      const before = memoryStats().cpuBytes;
      const controller = new AbortController();
      const pending = Array.from({ length: 50 }, () => denseAttention(x, x, x, { signal: controller.signal }));
      setTimeout(() => controller.abort(), 2);
      const settled = await Promise.allSettled(pending);
      const rejected = settled.filter((s) => s.status === 'rejected');
      expect(rejected.length).toBeGreaterThan(0);
      for (const s of rejected) expect((s as PromiseRejectedResult).reason).toMatchObject(ABORTED);
      for (const s of settled) if (s.status === 'fulfilled') s.value.dispose();
      expect(memoryStats().cpuBytes).toBe(before);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    });
  });
});
