// Which OpenBLAS core the PyTorch peers run with. OpenBLAS' auto-detection does not always
// pick the fastest kernels the CPU can run (on some AVX-512 Xeons it picks "Prescott", about
// a fifth of the rate of "SapphireRapids"), so every run probes the cores the CPU's flags
// allow, each in its own process (OpenBLAS chooses its core once, when it loads), and keeps
// the fastest; auto-detection is one of the candidates, so the choice is never slower than it.
import { readFileSync } from 'node:fs';
import { runJob } from './child.mjs';
import { sgemmFlops } from './flops.mjs';

/**
 * OPENBLAS_CORETYPE names (OpenBLAS 0.3.21's dynamic x86-64 list) worth probing, each with
 * the /proc/cpuinfo flags its kernels need. Older cores are left out: on a CPU with AVX2 and
 * FMA they are slower than Haswell's, and auto-detection covers the rest.
 */
export const OPENBLAS_CORES = [
  { name: 'Haswell', flags: ['avx2', 'fma'] },
  { name: 'Zen', flags: ['avx2', 'fma'] },
  { name: 'SkylakeX', flags: ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl', 'avx512cd'] },
  { name: 'Cooperlake', flags: ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl', 'avx512cd', 'avx512_bf16'] },
  { name: 'SapphireRapids', flags: ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl', 'avx512cd', 'avx512_bf16'] },
];

/** The CPU's feature flags (empty where /proc/cpuinfo is not there). */
export function cpuFlags(cpuinfo = readCpuinfo()) {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l));
  return new Set(line ? line.split(':')[1].trim().split(/\s+/) : []);
}

function readCpuinfo() {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** The candidates for a CPU with `flags`: null (auto-detection) first, then core names. */
export function coreCandidates(flags) {
  return [null, ...OPENBLAS_CORES.filter((c) => c.flags.every((f) => flags.has(f))).map((c) => c.name)];
}

/**
 * A forced core replaces auto-detection only when it is faster by more than this: on a busy
 * machine two equally fast cores differ by noise (up to ~8 % seen here at a load average of 6
 * on 2 cores), and auto-detection is then the safer choice.
 */
const MARGIN = 1.1;

/**
 * Times an n×n×n sgemm (one thread) through the PyTorch peer `command` with every candidate
 * core, in `rounds` interleaved rounds (which spread a change of load over all candidates) of
 * two timed calls each, and returns { core, blasCore, gflops, candidates: [{ requested,
 * blasCore?, gflops?, error? }] }: a candidate's rate is its best call; `core` is the
 * OPENBLAS_CORETYPE to run with (null: auto-detection), `blasCore` the kernel OpenBLAS
 * reported for it. Returns { core: undefined, reason } when none runs.
 */
export async function chooseOpenblasCore(command, dir, cwd, n, rounds, flags = cpuFlags()) {
  const candidates = coreCandidates(flags).map((core) => ({ core, requested: core ?? 'auto' }));
  for (let round = 0; round < rounds; round++) {
    for (const c of candidates) {
      if (c.error) continue;
      const job = { op: 'sgemm', dir, inputs: {}, config: { n }, warmup: 1, repeats: 2, threads: 1, openblasCore: c.core };
      const r = await runJob(command, job, `${dir}/openblas-${c.requested}.json`, { cwd, timeoutMs: 300_000 });
      if (!r.ok) {
        Object.assign(c, { error: r.error, gflops: undefined });
        continue;
      }
      c.blasCore = r.blasCore;
      c.gflops = Math.max(c.gflops ?? 0, sgemmFlops(n) / (Math.min(...r.ms) * 1e6));
    }
  }
  let best = null;
  for (const c of candidates.filter((x) => !x.error)) {
    const bar = best && (best.core === null ? best.gflops * MARGIN : best.gflops);
    if (!best || c.gflops > bar) best = c;
  }
  const report = candidates.map(({ requested, blasCore, gflops, error }) =>
    (error ? { requested, error } : { requested, blasCore, gflops: Number(gflops.toFixed(1)) }));
  if (!best) return { core: undefined, reason: candidates[0]?.error ?? 'no candidate core', candidates: report };
  return { core: best.core, blasCore: best.blasCore, gflops: best.gflops, candidates: report };
}

/** "Cooperlake 199, auto (Zen) 120, ..." for logs and reports. */
export function candidatesText(candidates) {
  return candidates.map((c) => {
    const name = c.requested === 'auto' ? `auto (${c.blasCore ?? '?'})` : c.blasCore && c.blasCore.toLowerCase() !== c.requested.toLowerCase()
      ? `${c.requested} (ran ${c.blasCore})` : c.requested;
    return c.error ? `${name}: failed` : `${name} ${c.gflops}`;
  }).join(', ');
}
