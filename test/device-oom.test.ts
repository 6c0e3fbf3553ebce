// When the device itself runs out of memory (cudaMalloc fails, not the package's own cap), an
// op or a copy rejects with OUT_OF_MEMORY after the pool has emptied its cache and retried once,
// and the process, its other tensors and later requests carry on. The emulated CUDA device's
// capacity is set per process (SPARSE_ATTENTION_EMU_MEMORY), so each case runs in a child.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { emulatedCuda } from './helpers/devices.js';

const LIB = fileURLToPath(new URL('../dist/esm/index.js', import.meta.url));

// Fills a 64 MiB device with 4 MiB tensors until a copy fails; then a dense attention whose
// 4 MiB output no longer fits rejects; the kept tensors are intact; once they are disposed, ops
// run again.
const SCRIPT = `
const { Tensor, denseAttention } = await import(${JSON.stringify(LIB)});
const n = 2 ** 20;  // 4 MiB of float32
const host = Float32Array.from({ length: n }, (_, i) => (i % 97) / 97);
const q = await Tensor.from(host, [1, 4, 1024, 256]).to('cuda');
const kept = [];
let fillFailure = null;
while (!fillFailure && kept.length < 64) {
  try { kept.push(await Tensor.from(host, [n]).to('cuda')); } catch (e) { fillFailure = e.code ?? String(e); }
}
const opFailure = await denseAttention(q, q, q).then((t) => (t.dispose(), null), (e) => e.code ?? String(e));
const intact = (await Promise.all(kept.map((t) => t.data()))).every((d) => d.every((x, i) => x === host[i]));
for (const t of kept) t.dispose();
const small = await Tensor.from(host.subarray(0, 2 * 64 * 32), [1, 2, 64, 32]).to('cuda');
const values = await (await denseAttention(small, small, small)).data();
console.log(JSON.stringify({ kept: kept.length, fillFailure, opFailure, intact, finite: values.every(Number.isFinite) }));
`;

describe.skipIf(!emulatedCuda)(emulatedCuda ? 'device out of memory' : 'device out of memory (skipped: needs the emulated CUDA device, whose capacity a test can set)', () => {
  it('rejects with OUT_OF_MEMORY when cudaMalloc fails, and the process carries on', () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      env: { ...process.env, SPARSE_ATTENTION_EMU_MEMORY: '64m' }, encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(result).toMatchObject({ fillFailure: 'OUT_OF_MEMORY', opFailure: 'OUT_OF_MEMORY', intact: true, finite: true });
    expect(result.kept).toBeGreaterThanOrEqual(10);
  });
});
