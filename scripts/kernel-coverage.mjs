// Which CUDA kernels a run of the emulated device launched (scripts/test-cuda-emu.sh).
// Reads the launch logs (one kernel name per line, one file per process), writes one line per
// kernel instantiation with its launch count, and fails if a __global__ function of cuda/ was
// never launched. It also fails on kernel code the emulated device would silently skip: inline
// asm, __CUDA_ARCH__ tests or extern __shared__ arrays outside the wrapper headers
// (cuda/ptx.cuh: SA_CUDA_SM80_CODE and the PTX; cuda/dynamic_shared.cuh: SA_DYNAMIC_SHARED).
//
// usage: node scripts/kernel-coverage.mjs <launch log folder> <output file> [--report-only]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [folder, output, flag] = process.argv.slice(2);
if (!folder || !output) {
  console.error('usage: node scripts/kernel-coverage.mjs <launch log folder> <output file> [--report-only]');
  process.exit(2);
}
const root = resolve(import.meta.dirname, '..');

const launches = new Map();
for (const file of readdirSync(folder)) {
  for (const name of readFileSync(join(folder, file), 'utf8').split('\n')) {
    if (name) launches.set(name, (launches.get(name) ?? 0) + 1);
  }
}
/** "sa::{anonymous}::denseKernel<sa::DType::Float32>" -> "denseKernel" */
const baseName = (name) => name.replace(/<.*$/s, '').split('::').pop();

const cudaDir = join(root, 'cuda');
const kernels = new Set();
const WRAPPERS = new Set(['ptx.cuh', 'dynamic_shared.cuh']);
const violations = [];
for (const file of readdirSync(cudaDir).filter((f) => f.endsWith('.cu') || f.endsWith('.cuh'))) {
  const source = readFileSync(join(cudaDir, file), 'utf8');
  if (!WRAPPERS.has(file)) {
    source.split('\n').forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '');
      if (/\basm\b|__CUDA_ARCH__|extern\s+__shared__/.test(code)) violations.push(`cuda/${file}:${i + 1}: ${line.trim()}`);
    });
  }
  for (const m of source.matchAll(/__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s*)?(\w+)\s*\(/g)) kernels.add(m[1]);
}
const launchedBases = new Set([...launches.keys()].map(baseName));
const missing = [...kernels].filter((k) => !launchedBases.has(k)).sort();

const lines = [...launches.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([name, n]) => `${name} ${n}`);
for (const k of missing) lines.push(`${k} 0 (never launched)`);
writeFileSync(output, `${lines.join('\n')}\n`);
console.log(`kernel coverage: ${kernels.size - missing.length} of ${kernels.size} kernels of cuda/ launched ` +
  `(${launches.size} instantiations, ${[...launches.values()].reduce((a, b) => a + b, 0)} launches); ${output}`);
if (violations.length) {
  console.error(`kernel code outside the wrappers the emulated device needs:\n${violations.join('\n')}`);
  process.exitCode = 1;
}
if (missing.length) {
  console.error(`never launched: ${missing.join(', ')}`);
  if (flag !== '--report-only') process.exit(1);
}
