// The addon in worker threads, as a server's worker pool uses it: every thread loads its own
// instance, they compute side by side, and terminating a thread while its ops are in flight
// leaves the process serving.
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { denseAttention, Tensor } from '../lib/index.js';
import { randn } from './helpers/random.js';

const ADDON = resolve(process.env.SPARSE_ATTENTION_ADDON ?? 'build/Release/sparse_attention.node');
const [B, H, L, D] = [1, 4, 512, 32];

// Runs in the worker: the raw binding (the tests run lib/ from TypeScript sources, which a
// plain worker cannot load), `count` dense ops on the same input; with `wait` it says when they
// are in flight and when they finish, otherwise it posts the results.
const WORKER = `
const { createRequire } = require('node:module');
const { parentPort, workerData } = require('node:worker_threads');
const native = createRequire(workerData.addon)(workerData.addon);
const { shape, values, count, wait } = workerData;
const tensor = (host) => ({ dtype: 0, shape, device: -1, host });
const q = tensor(new Float32Array(values));
const outputs = Array.from({ length: count }, () => new Float32Array(values.length));
const pending = Promise.all(outputs.map((out) => native.denseAttention(q, q, q, tensor(out), { scale: 0.25, causal: true, layout: 'bhld' })));
if (wait) parentPort.postMessage('started');
pending.then(() => parentPort.postMessage(wait ? 'finished' : outputs.map((o) => o.buffer), outputs.map((o) => o.buffer)));
`;

function startWorker(values: Float32Array, shape: number[], count: number, wait: boolean): Worker {
  return new Worker(WORKER, { eval: true, workerData: { addon: ADDON, shape, values, count, wait } });
}

describe('worker threads', () => {
  const values = randn(B * H * L * D, 21);

  it('computes in several worker threads at once, each result equal to the main thread’s', async () => {
    const x = Tensor.from(values, [B, H, L, D]);
    const expected = new Uint8Array((await (await denseAttention(x, x, x, { scale: 0.25, causal: true, layout: 'bhld' })).data()).buffer);
    const results = await Promise.all([0, 1, 2].map(() => new Promise<ArrayBuffer[]>((done, fail) => {
      const w = startWorker(values, [B, H, L, D], 3, false);
      w.once('message', (buffers: ArrayBuffer[]) => {
        done(buffers);
        void w.terminate();
      });
      w.once('error', fail);
    })));
    for (const buffers of results) for (const b of buffers) expect(Buffer.from(b).equals(Buffer.from(expected))).toBe(true);
  });

  it('survives terminating worker threads while their ops are in flight, and keeps serving', async () => {
    const long = [1, 8, 2048, 64];
    const longValues = randn(long.reduce((a, b) => a * b, 1), 22);
    for (let round = 0; round < 5; round++) {
      const w = startWorker(longValues, long, 6, true);
      const messages: unknown[] = [];
      w.on('message', (m) => messages.push(m));
      await new Promise((done) => w.once('message', done));
      await new Promise((done) => setTimeout(done, round * 10));
      await w.terminate();
      expect(messages).toEqual(['started']);
    }
    const x = Tensor.from(new Float32Array(2 * 8 * 4).fill(1), [1, 2, 8, 4]);
    expect(Array.from(await (await denseAttention(x, x, x)).data())).toEqual(new Array(64).fill(1));
  });
});
