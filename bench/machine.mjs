// What the numbers were measured on, and the machine's float32 matmul rate (the yardstick
// for achieved GFLOP/s), measured in the same run as the benchmarks.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { runJob } from './child.mjs';
import { sgemmFlops } from './flops.mjs';

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

function gitCommit(cwd) {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' }).trim();
    return dirty ? `${commit}+local changes` : commit;
  } catch {
    return 'unknown';
  }
}

/** The machine and software the run used. */
export function describeMachine(cwd) {
  const cores = os.cpus().length;
  const model = cpuModel();
  return {
    cpu: model,
    cores,
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    commit: gitCommit(cwd),
    date: new Date().toISOString(),
    // A short name for file names: "amd-epyc-2c".
    slug: `${model.toLowerCase().replace(/\(.*?\)/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40)}-${cores}c`,
  };
}

/**
 * The float32 sgemm rate (an n×n×n matmul through PyTorch's OpenBLAS, with the OpenBLAS core
 * `openblas.core` chose) with one thread and with every core; the better of the two is the
 * machine's rate (on 2 vCPUs the second thread often adds nothing). Returns { gflops,
 * threads, byThreads, blas, blasCore, n, openblas } or { gflops: null, reason } when PyTorch
 * is missing or fails.
 */
export async function measureSgemm(command, dir, cwd, n, openblas) {
  if (openblas.core === undefined) return { gflops: null, reason: `the PyTorch sgemm probe failed: ${openblas.reason}`, openblas };
  const byThreads = {};
  let best = null;
  let info = {};
  for (const threads of [...new Set([1, os.cpus().length])]) {
    const job = { op: 'sgemm', dir, inputs: {}, config: { n }, warmup: 1, repeats: 3, threads, openblasCore: openblas.core };
    const r = await runJob(command, job, `${dir}/sgemm-${threads}.json`, { cwd, timeoutMs: 300_000 });
    if (!r.ok) return { gflops: null, reason: `the PyTorch sgemm probe failed: ${r.error}`, openblas };
    const gflops = sgemmFlops(n) / (r.medianMs * 1e6);
    byThreads[threads] = gflops;
    info = { torch: r.torch, blas: r.blas, blasCore: r.blasCore };
    if (!best || gflops > best.gflops) best = { gflops, threads };
  }
  return { ...best, byThreads, n, ...info, openblas };
}

/**
 * Which build of the addon the children load: its build time and a short hash. Taken at
 * the start and the end of a run, so that a rebuild in the middle (which would mix two
 * builds in one table) is detected.
 */
export function addonBuild(root) {
  const file = `${root}/build/Release/sparse_attention.node`;
  if (!existsSync(file)) return null;
  const sha = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);
  return { builtAt: statSync(file).mtime.toISOString(), sha256: sha };
}
