// The CUDA memory pool's logic (native/cpu/caching_pool.cc) over a simulated device, so that
// reuse, the SPARSE_ATTENTION_CUDA_MEMORY_LIMIT cap, OUT_OF_MEMORY and the statistics are
// proven on every machine, GPU or not.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasCuda } from './helpers/devices.js';
import { rng } from './helpers/random.js';
import { type PoolStep, testing } from './helpers/testing_addon.js';

const KiB = 1024, MiB = 1024 * KiB;

// Runs in a child process on the raw binding (its pool capped by SPARSE_ATTENTION_CUDA_MEMORY_LIMIT);
// prints one JSON line.
const OOM_SCRIPT = `
import { createRequire } from 'node:module';
const native = createRequire(import.meta.url)(process.env.SPARSE_ATTENTION_ADDON);
const size = (shape) => shape.reduce((a, b) => a * b, 1);
const values = (n, seed) => { let s = seed; return Float32Array.from({ length: n }, () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5); };
const host = (data, shape) => ({ dtype: 0, shape, device: -1, host: data });
const empty = (shape) => ({ dtype: 0, shape, device: 0, buffer: native.DeviceBuffer.allocate(0, size(shape) * 4) });
const toDevice = async (data, shape) => { const t = empty(shape); await native.copyTensor(host(data, shape), t); return t; };
const toHost = async (t) => { const data = new Float32Array(size(t.shape)); await native.copyTensor(t, host(data, t.shape)); return data; };
const options = (nHashes) => ({ bucketFactors: [4], nHashes, chunkLength: 64, chunksBefore: 1, chunksAfter: 0, causal: false, layout: 'bhld' });

const live = () => native.memoryStats().cudaLiveBytes;
const start = live();
const big = [1, 1, 1024, 256];
const qk = await toDevice(values(size(big), 1), big), v = await toDevice(values(size(big), 2), big);
const rotations = await toDevice(values(256 * 2 * 2, 3), [1, 256, 2, 2]);
const out = empty(big);
const failing = native.lshAttention(qk, v, rotations, null, out, options(2)).then(() => 'resolved', (e) => e.code ?? String(e));
const trips = Array.from({ length: 8 }, async (_, i) => {
  const data = values(2048, 10 + i), t = await toDevice(data, [2048]);
  const back = await toHost(t);
  t.buffer.release();
  return back.every((x, j) => x === data[j]);
});
const result = { failing: await failing, intact: (await Promise.all(trips)).every(Boolean) };
for (const t of [qk, v, rotations, out]) t.buffer.release();
result.leftLive = live() - start;

const small = [1, 2, 200, 32];
const data = { qk: values(size(small), 4), v: values(size(small), 5), r: values(2 * 32 * 2 * 2, 6) };
const cpuOut = new Float32Array(size(small));
await native.lshAttention(host(data.qk, small), host(data.v, small), host(data.r, [2, 32, 2, 2]), null, host(cpuOut, small), options(2));
const gpu = [await toDevice(data.qk, small), await toDevice(data.v, small), await toDevice(data.r, [2, 32, 2, 2]), empty(small)];
await native.lshAttention(gpu[0], gpu[1], gpu[2], null, gpu[3], options(2));
const gpuOut = await toHost(gpu[3]);
result.smallMaxError = Math.max(...gpuOut.map((x, i) => Math.abs(x - cpuOut[i])));
console.log(JSON.stringify(result));
`;
const simulate = (limit: number, capacity: number, steps: PoolStep[]) => testing._poolSimulation(limit, capacity, steps);

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

  // The pool does not know streams: a block released while an op's kernels still run could be
  // handed to another request. The op runner therefore owns an op's device memory (the blocks
  // its task captures, the output among them, and its scratch) and releases it only after its
  // one synchronisation of the op's stream, on the error path too, before reporting the error.
  describe('the op runner', () => {
    for (const fail of [false, true]) {
      it(`releases an op's device memory only after synchronising its stream${fail ? ', also when the op throws after queuing work' : ''}`, async () => {
        const run = testing._opRunnerSimulation(fail);
        if (fail) await expect(run.done).rejects.toMatchObject({ name: 'Error', code: 'OUT_OF_MEMORY' });
        else await run.done;
        expect(run.events()).toEqual(['queue', 'synchronize', 'release scratch', 'release output']);
      });
    }
  });

  // The same on a device, in a child process whose pool is capped at 4 MiB: lshAttention's
  // hashing and sorting kernels are queued, then its 2 MiB of per-round outputs do not fit.
  // While it fails, round trips of blocks the size of its scratch run on other streams; the
  // runner keeps that scratch until the failed op's stream is done, so theirs come back intact
  // (released early, a block could be handed to a round trip while the sort still writes it).
  describe.skipIf(!hasCuda)(hasCuda ? 'on a device' : 'on a device (skipped: no CUDA device on this machine)', () => {
    it('an OUT_OF_MEMORY after kernels were queued rejects cleanly, frees the op\'s memory and leaves the device usable', () => {
      const addon = process.env.SPARSE_ATTENTION_ADDON ?? fileURLToPath(new URL('../build/Release/sparse_attention.node', import.meta.url));
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', OOM_SCRIPT], {
        env: { ...process.env, SPARSE_ATTENTION_ADDON: addon, SPARSE_ATTENTION_CUDA_MEMORY_LIMIT: '4m' },
        encoding: 'utf8', timeout: 600_000,
      });
      expect(child.status, child.stderr).toBe(0);
      const result = JSON.parse(child.stdout.trim().split('\n').pop()!);
      expect(result).toEqual({ failing: 'OUT_OF_MEMORY', intact: true, leftLive: 0, smallMaxError: expect.any(Number) });
      expect(result.smallMaxError).toBeLessThan(1e-4);
    });
  });

  describe('SPARSE_ATTENTION_CUDA_MEMORY_LIMIT', () => {
    it('accepts bytes with an optional k, m, g or t suffix', () => {
      expect(testing._parseByteCount('1048576')).toBe(MiB);
      expect(testing._parseByteCount('512m')).toBe(512 * MiB);
      expect(testing._parseByteCount('1.5G')).toBe(1.5 * 1024 * MiB);
      expect(testing._parseByteCount('64k')).toBe(64 * KiB);
      expect(testing._parseByteCount('1t')).toBe(1024 * 1024 * MiB);
    });

    it('rejects anything else, so that a typo is reported instead of silently capping the pool', () => {
      for (const text of ['', 'x', '-1', '1kb', '2 g', ' 1m', '1e9', '1m!', '.', '99999999999t'])
        expect(testing._parseByteCount(text), text).toBeNull();
    });
  });
});
